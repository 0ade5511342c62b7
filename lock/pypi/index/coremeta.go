package index

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
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
			vals := md[key]
			vals[len(vals)-1] += "\n" + line
			continue
		}
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
	major, minor, _ := strings.Cut(v, ".")
	if major < "2" || (major == "2" && len(minor) == 1 && minor < "2") || v == "" {
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
		return NormalizeName(parts[0]), parts[1], true
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
	return NormalizeName(base[:i]), base[i+1:], true
}

// sameVersion compares two version strings the way PEP 440 normalisation
// would for the spellings found in filenames and metadata: case,
// separators, a leading "v", trailing ".0" release segments and the
// alternative spellings of pre-, post- and dev-release markers.
func sameVersion(a, b string) bool {
	return versionKey(a) == versionKey(b)
}

func versionKey(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	v = strings.TrimPrefix(v, "v")
	local := ""
	if i := strings.IndexByte(v, '+'); i >= 0 {
		v, local = v[:i], strings.NewReplacer("-", ".", "_", ".").Replace(v[i+1:])
	}
	i := 0
	for i < len(v) && (v[i] == '.' || ('0' <= v[i] && v[i] <= '9') || v[i] == '!') {
		i++
	}
	release, rest := strings.TrimRight(v[:i], "."), v[i:]
	segs := strings.Split(release, ".")
	for j := range segs {
		segs[j] = strings.TrimLeft(segs[j], "0")
		if segs[j] == "" {
			segs[j] = "0"
		}
	}
	for len(segs) > 1 && segs[len(segs)-1] == "0" {
		segs = segs[:len(segs)-1]
	}
	rest = strings.NewReplacer("-", "", "_", "", ".", "").Replace(rest)
	// Rewrite the suffix run by run: letters to their normal spelling,
	// an omitted number to 0, a bare number (the "1.0-1" form) to post.
	var b strings.Builder
	for k := 0; k < len(rest); {
		start := k
		isDigit := '0' <= rest[k] && rest[k] <= '9'
		for k < len(rest) && ('0' <= rest[k] && rest[k] <= '9') == isDigit {
			k++
		}
		run := rest[start:k]
		if isDigit {
			if start == 0 {
				b.WriteString("post")
			}
			if run = strings.TrimLeft(run, "0"); run == "" {
				run = "0"
			}
			b.WriteString(run)
			continue
		}
		switch run {
		case "alpha":
			run = "a"
		case "beta":
			run = "b"
		case "c", "pre", "preview":
			run = "rc"
		case "rev", "r":
			run = "post"
		}
		b.WriteString(run)
		if k == len(rest) {
			b.WriteString("0")
		}
	}
	rest = b.String()
	return strings.Join(segs, ".") + rest + "+" + local
}
