package pypi

import (
	"archive/zip"
	"bufio"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"strings"

	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/pypi/index"
	"github.com/envbuild/envbuild/lock/pypi/pep440"
	"github.com/envbuild/envbuild/lock/pypi/pep508"
	"github.com/envbuild/envbuild/lock/pypi/tags"
)

// directRef is a wheel the user linked to ("name @ https://…/x.whl"),
// downloaded and hashed.
type directRef struct {
	version  pep440.Version
	url      string // without credentials or fragment
	filename string
	sha256   string
	size     int64
	md       *index.Metadata
}

// lockDirect downloads the wheel of a direct reference, checks it against
// the requirement and the target, and reads its metadata. Only http(s)
// links to wheels can be locked: anything else needs a build or a checkout.
func (p *provider) lockDirect(ctx context.Context, req, name, rawURL string, log io.Writer) (*directRef, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, failure.User(fmt.Errorf("locking %q: reading its URL: %w", req, err))
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, failure.User(fmt.Errorf("locking %q: a %s: reference cannot be locked; link to a built wheel over https, or publish the package to an index", index.Redact(req), u.Scheme))
	}
	filename := path.Base(u.Path)
	if !strings.HasSuffix(filename, ".whl") {
		return nil, failure.User(fmt.Errorf("locking %q: %q is not a wheel, and a source distribution's dependencies are only known after a build; link to a wheel instead", index.Redact(req), filename))
	}
	wn, err := tags.ParseWheelFilename(filename)
	if err != nil {
		return nil, failure.User(fmt.Errorf("locking %q: %w", index.Redact(req), err))
	}
	if wn.Name != name {
		return nil, failure.User(fmt.Errorf("locking %q: the wheel %q is of project %q, not %q", index.Redact(req), filename, wn.Name, name))
	}
	if _, ok := p.tags.Rank(wn); !ok {
		return nil, failure.User(fmt.Errorf("locking %q: the wheel %q does not fit %s", index.Redact(req), filename, p.target))
	}
	want := ""
	if frag, err := url.ParseQuery(u.Fragment); err == nil {
		want = strings.ToLower(frag.Get("sha256"))
	}
	clean := *u
	clean.User, clean.Fragment, clean.RawFragment = nil, "", ""
	fetch := *u
	fetch.Fragment, fetch.RawFragment = "", ""

	tmp, err := os.CreateTemp("", "envbuild-direct-*.whl")
	if err != nil {
		return nil, fmt.Errorf("locking %q: %w", index.Redact(req), err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	fmt.Fprintf(log, "downloading %s to hash it and read its metadata\n", clean.String())
	sum, size, err := p.src.Download(ctx, fetch.String(), tmp)
	if err != nil {
		return nil, fmt.Errorf("locking %q: %w", index.Redact(req), err)
	}
	if want != "" && want != sum {
		return nil, failure.User(fmt.Errorf("locking %q: the file has sha256 %s, but the URL says %s", index.Redact(req), sum, want))
	}
	md, err := wheelMetadata(tmp, size)
	if err != nil {
		return nil, failure.User(fmt.Errorf("locking %q: reading the metadata of %s: %w", index.Redact(req), filename, err))
	}
	v, err := pep440.Parse(md.Version)
	if err != nil || pep508.NormalizeName(md.Name) != name || !v.Equal(wn.Version) {
		return nil, failure.User(fmt.Errorf("locking %q: the metadata of %s says %s %s, which contradicts its file name", index.Redact(req), filename, md.Name, md.Version))
	}
	return &directRef{version: wn.Version, url: clean.String(), filename: filename, sha256: sum, size: size, md: md}, nil
}

// wheelMetadata reads {name}-{version}.dist-info/METADATA from a wheel.
func wheelMetadata(r io.ReaderAt, size int64) (*index.Metadata, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, err
	}
	for _, f := range zr.File {
		dir, base := path.Split(f.Name)
		if base != "METADATA" || strings.Count(dir, "/") != 1 || !strings.HasSuffix(dir, ".dist-info/") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return parseMetadata(rc)
	}
	return nil, fmt.Errorf("no .dist-info/METADATA in the wheel")
}

// parseMetadata reads the header fields of core metadata (RFC 822 style,
// continuation lines indented) that a resolver needs.
func parseMetadata(r io.Reader) (*index.Metadata, error) {
	md := &index.Metadata{}
	var key, val string
	flush := func() {
		switch strings.ToLower(key) {
		case "name":
			md.Name = val
		case "version":
			md.Version = val
		case "requires-dist":
			md.RequiresDist = append(md.RequiresDist, val)
		case "requires-python":
			md.RequiresPython = val
		case "provides-extra":
			md.ProvidesExtra = append(md.ProvidesExtra, val)
		}
		key, val = "", ""
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			break // the body (description) follows
		}
		if line[0] == ' ' || line[0] == '\t' {
			val += " " + strings.TrimSpace(line)
			continue
		}
		flush()
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("metadata line %q is not a field", line)
		}
		key, val = k, strings.TrimSpace(v)
	}
	flush()
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if md.Name == "" || md.Version == "" {
		return nil, fmt.Errorf("metadata without Name or Version")
	}
	return md, nil
}
