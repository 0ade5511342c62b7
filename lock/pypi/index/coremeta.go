package index

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/envbuild/envbuild/lock/pypi/pep440"
	"github.com/envbuild/envbuild/lock/pypi/pep508"
)

// Metadata is the part of a distribution's core metadata a resolver needs.
type Metadata struct {
	Name    string
	Version string
	// RequiresDist holds the Requires-Dist values, PEP 508 strings, in
	// file order.
	RequiresDist []string
	// RequiresPython is the raw specifier, "" if none.
	RequiresPython string
	// ProvidesExtra lists the extras, as written.
	ProvidesExtra []string
}

// coreMetadata is every header field of a METADATA/PKG-INFO file.
type coreMetadata map[string][]string

// parseCoreMetadata reads the email-header format of core metadata: "Key:
// value" lines, continuation lines starting with a space or tab, the
// headers ending at the first empty line (the rest is the description).
// Field names are matched without regard to case.
func parseCoreMetadata(data []byte) (coreMetadata, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	md := coreMetadata{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	var key string
	// A folded value (an old-style Description can run to thousands of
	// lines) is gathered here and joined once, not grown line by line.
	var folded strings.Builder
	fold := func() {
		if folded.Len() > 0 {
			vals := md[key]
			vals[len(vals)-1] += folded.String()
			folded.Reset()
		}
	}
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if key == "" {
				return nil, fmt.Errorf("line %d: continuation line before any field", lineNo)
			}
			folded.WriteString("\n")
			folded.WriteString(line)
			continue
		}
		fold()
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("line %d: expected \"Field: value\", got %q", lineNo, line)
		}
		key = strings.ToLower(strings.TrimSpace(k))
		md[key] = append(md[key], strings.TrimSpace(v))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	fold()
	if len(md["name"]) == 0 || len(md["version"]) == 0 {
		return nil, fmt.Errorf("no Name or Version field (is it core metadata?)")
	}
	return md, nil
}

// unfold joins a folded header value into one line.
func unfold(v string) string {
	if !strings.Contains(v, "\n") {
		return v
	}
	parts := strings.Split(v, "\n")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return strings.Join(parts, " ")
}

func (md coreMetadata) first(key string) string {
	if v := md[key]; len(v) > 0 {
		return unfold(v[0])
	}
	return ""
}

func (md coreMetadata) all(key string) []string {
	var out []string
	for _, v := range md[key] {
		if v = unfold(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// metadata extracts the resolver's fields.
func (md coreMetadata) metadata() *Metadata {
	return &Metadata{
		Name:           md.first("name"),
		Version:        md.first("version"),
		RequiresDist:   md.all("requires-dist"),
		RequiresPython: md.first("requires-python"),
		ProvidesExtra:  md.all("provides-extra"),
	}
}

// dynamic reports whether an sdist's PKG-INFO may not be trusted for the
// fields a resolver needs: before Metadata-Version 2.2 every field may be
// computed at build time; from 2.2 on, only those named in Dynamic.
func (md coreMetadata) dynamic() (bool, string) {
	v := md.first("metadata-version")
	majorText, minorText, _ := strings.Cut(v, ".")
	major, err1 := strconv.Atoi(majorText)
	minor, err2 := strconv.Atoi(minorText)
	if err1 != nil || err2 != nil || major < 2 || (major == 2 && minor < 2) {
		return true, fmt.Sprintf("its Metadata-Version is %q, older than 2.2", v)
	}
	for _, d := range md.all("dynamic") {
		switch strings.ToLower(d) {
		case "requires-dist", "requires-python", "provides-extra":
			return true, fmt.Sprintf("it declares %s as Dynamic", d)
		}
	}
	return false, ""
}

// distInfo splits a wheel or sdist filename into its normalised project
// name and version ("foo_bar-1.0-py3-none-any.whl" → "foo-bar", "1.0").
func distInfo(filename string) (name, version string, ok bool) {
	base := filename
	switch {
	case strings.HasSuffix(base, ".whl"):
		parts := strings.Split(strings.TrimSuffix(base, ".whl"), "-")
		if len(parts) != 5 && len(parts) != 6 {
			return "", "", false
		}
		return pep508.NormalizeName(parts[0]), parts[1], true
	case strings.HasSuffix(base, ".tar.gz"):
		base = strings.TrimSuffix(base, ".tar.gz")
	case strings.HasSuffix(base, ".zip"):
		base = strings.TrimSuffix(base, ".zip")
	default:
		return "", "", false
	}
	i := strings.LastIndexByte(base, '-')
	if i <= 0 {
		return "", "", false
	}
	return pep508.NormalizeName(base[:i]), base[i+1:], true
}

// sameVersion reports whether two version strings are the same PEP 440
// version ("1.0" and "1.0.0", "1.0rc1" and "1.0-RC1"); strings that are
// not PEP 440 versions must be equal as written.
func sameVersion(a, b string) bool {
	va, errA := pep440.Parse(a)
	vb, errB := pep440.Parse(b)
	if errA != nil || errB != nil {
		return strings.TrimSpace(a) == strings.TrimSpace(b)
	}
	return va.Compare(vb) == 0
}
