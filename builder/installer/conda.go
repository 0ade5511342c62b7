package installer

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/bzip2"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/envbuild/envbuild/builder/layout"
)

// CondaOptions say how to install a conda package.
type CondaOptions struct {
	// Python is the environment's Python as MAJOR.MINOR; required for
	// noarch: python packages, ignored by others.
	Python string
	// FreeThreaded selects the free-threaded site-packages (python3.13t).
	// Default false.
	FreeThreaded bool
	// SHA256 is the expected hex digest of the package file; empty skips
	// the check.
	SHA256 string
	// Filename is the "fn" of the conda-meta record. Default: the base name
	// of the source file.
	Filename string
	// Workers is how many small files are written at once. Default 4.
	Workers int
}

// CondaResult describes an installed conda package.
type CondaResult struct {
	Name, Version, Build string
	Record               string // on-image path of the conda-meta record
	Files                int    // entries of the record's "files"
}

// condaPath is one entry of info/paths.json, and of a record's paths_data.
type condaPath struct {
	Path              string `json:"_path"`
	PathType          string `json:"path_type"`
	SHA256            string `json:"sha256,omitempty"`
	SHA256InPrefix    string `json:"sha256_in_prefix,omitempty"`
	Size              *int64 `json:"size_in_bytes,omitempty"`
	FileMode          string `json:"file_mode,omitempty"`
	PrefixPlaceholder string `json:"prefix_placeholder,omitempty"`
	NoLink            bool   `json:"no_link,omitempty"`
}

// legacyPlaceholder is the placeholder of info/has_prefix lines that name
// only a path.
const legacyPlaceholder = "/opt/anaconda1anaconda2anaconda3"

// smallFile is the size up to which a file is read whole and written by a
// worker; larger files are streamed by the reader.
const smallFile = 1 << 20

// infoFiles are the files of info/ the installer reads.
var infoFiles = map[string]bool{
	"info/index.json": true, "info/paths.json": true, "info/files": true,
	"info/has_prefix": true, "info/no_link": true, "info/link.json": true,
}

// InstallConda installs the conda package (.conda or .tar.bz2) at src under
// root at layout.Prefix, writes its conda-meta record and normalizes root.
func InstallConda(src, root string, opt CondaOptions) (*CondaResult, error) {
	res, err := installConda(src, root, opt)
	if err != nil {
		return nil, fmt.Errorf("installing conda package %q: %w", filepath.Base(src), err)
	}
	return res, nil
}

type condaInstall struct {
	t    *tree
	opt  CondaOptions
	site string // site-packages relative to the prefix, for noarch: python

	info   map[string][]byte
	index  map[string]any
	name   string
	ver    string
	build  string
	noarch bool // noarch: python
	eps    []entryPoint

	listed map[string]*condaPath // by package path; nil: install every entry
	order  []string              // package paths in listing order

	done     map[string]*condaPath // by package path: what was installed
	dests    map[string]string     // destination → package path
	regular  map[string]string     // destination of a written regular file → its sha256
	symlinks map[string]string     // destination → target, created at the end

	sem  chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	werr error
}

func installConda(src, root string, opt CondaOptions) (*CondaResult, error) {
	t, err := newTree(root)
	if err != nil {
		return nil, err
	}
	if opt.Filename == "" {
		opt.Filename = filepath.Base(src)
	}
	if opt.Workers <= 0 {
		opt.Workers = 4
	}
	sum256, sumMD5, size, err := hashFile(src)
	if err != nil {
		return nil, err
	}
	if opt.SHA256 != "" {
		if err := checkDigest(src, sum256, opt.SHA256); err != nil {
			return nil, err
		}
	}
	c := &condaInstall{
		t: t, opt: opt, info: map[string][]byte{},
		done: map[string]*condaPath{}, dests: map[string]string{},
		regular: map[string]string{}, symlinks: map[string]string{},
		sem: make(chan struct{}, opt.Workers),
	}
	switch {
	case strings.HasSuffix(src, ".conda"):
		err = c.readConda(src)
	case strings.HasSuffix(src, ".tar.bz2"):
		err = c.readTarBz2(src)
	default:
		return nil, fmt.Errorf("the file name ends neither in .conda nor in .tar.bz2; name the download after the package file")
	}
	if werr := c.wait(); err == nil {
		err = werr
	}
	if err != nil {
		return nil, err
	}
	if err := c.finish(); err != nil {
		return nil, err
	}
	record, files, err := c.writeRecord(sum256, sumMD5, size)
	if err != nil {
		return nil, err
	}
	if err := Normalize(root); err != nil {
		return nil, err
	}
	return &CondaResult{Name: c.name, Version: c.ver, Build: c.build, Record: record, Files: files}, nil
}

// hashFile returns the sha256 and md5 (hex) and the size of a file.
func hashFile(src string) (string, string, int64, error) {
	f, err := os.Open(src)
	if err != nil {
		return "", "", 0, err
	}
	defer f.Close()
	h, m := sha256.New(), md5.New()
	n, err := io.Copy(io.MultiWriter(h, m), f)
	if err != nil {
		return "", "", 0, fmt.Errorf("reading %q: %w", src, err)
	}
	return hex.EncodeToString(h.Sum(nil)), hex.EncodeToString(m.Sum(nil)), n, nil
}

func checkDigest(src, got, want string) error {
	want = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(want), "sha256:"))
	if _, err := hex.DecodeString(want); err != nil || len(want) != 64 {
		return fmt.Errorf("checking %q: sha256 %q is not 64 hex digits", src, want)
	}
	if got != want {
		return fmt.Errorf("checking %q: sha256 is %s, the lock says %s; the download is corrupt or the artifact changed, lock again", src, got, want)
	}
	return nil
}

// readConda reads a .conda file: a zip holding info-*.tar.zst and
// pkg-*.tar.zst.
func (c *condaInstall) readConda(src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		return fmt.Errorf("reading the zip archive: %w; the file is truncated or not a .conda package", err)
	}
	var infoTar, pkgTar *zip.File
	for _, zf := range zr.File {
		switch {
		case strings.HasPrefix(zf.Name, "info-") && strings.HasSuffix(zf.Name, ".tar.zst"):
			if infoTar != nil {
				return fmt.Errorf("the archive has two info tars, %q and %q", infoTar.Name, zf.Name)
			}
			infoTar = zf
		case strings.HasPrefix(zf.Name, "pkg-") && strings.HasSuffix(zf.Name, ".tar.zst"):
			if pkgTar != nil {
				return fmt.Errorf("the archive has two pkg tars, %q and %q", pkgTar.Name, zf.Name)
			}
			pkgTar = zf
		}
	}
	if infoTar == nil {
		return errors.New("the archive has no info-*.tar.zst; it is not a .conda package")
	}
	err = eachZstdTar(infoTar, func(hdr *tar.Header, name string, r io.Reader) error {
		if !isInfo(name) {
			return fmt.Errorf("%s holds %q, outside info/", infoTar.Name, hdr.Name)
		}
		return c.collectInfo(hdr, name, r)
	})
	if err != nil {
		return err
	}
	if err := c.prepare(); err != nil {
		return err
	}
	if pkgTar == nil {
		return nil
	}
	return eachZstdTar(pkgTar, func(hdr *tar.Header, name string, r io.Reader) error {
		if isInfo(name) {
			return nil
		}
		return c.entry(hdr, name, r)
	})
}

func eachZstdTar(zf *zip.File, fn func(*tar.Header, string, io.Reader) error) error {
	rc, err := zf.Open()
	if err != nil {
		return fmt.Errorf("reading %s: %w", zf.Name, err)
	}
	defer rc.Close()
	zd, err := zstd.NewReader(bufio.NewReaderSize(rc, 1<<20), zstd.WithDecoderConcurrency(2))
	if err != nil {
		return fmt.Errorf("reading %s: %w", zf.Name, err)
	}
	defer zd.Close()
	if err := eachTar(zd, fn); err != nil {
		return fmt.Errorf("reading %s: %w", zf.Name, err)
	}
	return nil
}

// errLateInfo stops the first pass over a .tar.bz2 whose payload comes
// before its info/index.json.
var errLateInfo = errors.New("info after payload")

// readTarBz2 reads a .tar.bz2 package in one pass when info/ comes first, as
// conda's tools write it, and in two passes otherwise.
func (c *condaInstall) readTarBz2(src string) error {
	payload := false
	err := eachBz2Tar(src, func(hdr *tar.Header, name string, r io.Reader) error {
		if isInfo(name) {
			if payload && infoFiles[name] {
				return fmt.Errorf("%q comes after files of the payload; repack the package with info/ first", hdr.Name)
			}
			return c.collectInfo(hdr, name, r)
		}
		if !payload {
			if c.info["info/index.json"] == nil {
				return errLateInfo
			}
			if err := c.prepare(); err != nil {
				return err
			}
			payload = true
		}
		return c.entry(hdr, name, r)
	})
	if errors.Is(err, errLateInfo) {
		// Nothing was written yet: read info/ first, then the payload.
		c.info = map[string][]byte{}
		err = eachBz2Tar(src, func(hdr *tar.Header, name string, r io.Reader) error {
			if isInfo(name) {
				return c.collectInfo(hdr, name, r)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := c.prepare(); err != nil {
			return err
		}
		return eachBz2Tar(src, func(hdr *tar.Header, name string, r io.Reader) error {
			if isInfo(name) {
				return nil
			}
			return c.entry(hdr, name, r)
		})
	}
	if err == nil && !payload {
		return c.prepare()
	}
	return err
}

func eachBz2Tar(src string, fn func(*tar.Header, string, io.Reader) error) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	return eachTar(bzip2.NewReader(bufio.NewReaderSize(f, 1<<20)), fn)
}

// eachTar calls fn for every entry of a tar stream, with its clean name.
func eachTar(r io.Reader, fn func(*tar.Header, string, io.Reader) error) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the tar stream: %w; the package is truncated or corrupt", err)
		}
		name, err := cleanEntry(hdr.Name)
		if err != nil {
			return err
		}
		if err := fn(hdr, name, tr); err != nil {
			return err
		}
	}
}

func isInfo(name string) bool { return name == "info" || strings.HasPrefix(name, "info/") }

func (c *condaInstall) collectInfo(hdr *tar.Header, name string, r io.Reader) error {
	if !infoFiles[name] || hdr.Typeflag != tar.TypeReg {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(r, 512<<20))
	if err != nil {
		return fmt.Errorf("reading %q: %w; the package is truncated or corrupt", name, err)
	}
	c.info[name] = b
	return nil
}

// prepare reads info/: the package's identity, whether it is noarch: python,
// and the list of paths to install.
func (c *condaInstall) prepare() error {
	raw := c.info["info/index.json"]
	if raw == nil {
		return errors.New("the package has no info/index.json")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&c.index); err != nil {
		return fmt.Errorf("reading info/index.json: %w", err)
	}
	str := func(k string) string { s, _ := c.index[k].(string); return s }
	c.name, c.ver, c.build = str("name"), str("version"), str("build")
	if c.name == "" || c.ver == "" || c.build == "" {
		return fmt.Errorf("info/index.json lacks name, version or build (got %q, %q, %q)", c.name, c.ver, c.build)
	}
	if strings.ContainsAny(c.name+c.ver+c.build, "/\\\x00") {
		return fmt.Errorf("info/index.json: %q-%q-%q cannot name a conda-meta record", c.name, c.ver, c.build)
	}
	c.noarch = str("noarch") == "python"
	if b := c.info["info/link.json"]; b != nil {
		var link struct {
			Noarch struct {
				Type        string   `json:"type"`
				EntryPoints []string `json:"entry_points"`
			} `json:"noarch"`
		}
		if err := json.Unmarshal(b, &link); err != nil {
			return fmt.Errorf("reading info/link.json: %w", err)
		}
		if link.Noarch.Type == "python" {
			c.noarch = true
		}
		for _, s := range link.Noarch.EntryPoints {
			k, v, ok := strings.Cut(s, "=")
			if !ok {
				return fmt.Errorf("reading info/link.json: entry point %q is not NAME = module:function", s)
			}
			ep, err := parseEntryPoint(k, v)
			if err != nil {
				return fmt.Errorf("reading info/link.json: %w", err)
			}
			c.eps = append(c.eps, ep)
		}
	}
	if !c.noarch {
		c.eps = nil // entry points are a noarch: python feature
	}
	if c.noarch {
		py, err := parsePython(c.opt.Python, c.opt.FreeThreaded)
		if err != nil {
			return fmt.Errorf("the package is noarch: python: %w", err)
		}
		c.site = strings.TrimPrefix(py.sitePackages(), layout.Prefix+"/")
	}
	return c.readListing()
}

// readListing reads info/paths.json, or else info/files with
// info/has_prefix and info/no_link. A package with neither installs every
// entry of its payload.
func (c *condaInstall) readListing() error {
	add := func(p *condaPath) error {
		clean, err := cleanEntry(p.Path)
		if err != nil {
			return fmt.Errorf("listing of the package: %w", err)
		}
		if isInfo(clean) {
			return fmt.Errorf("listing of the package names %q, inside info/", p.Path)
		}
		if _, dup := c.listed[clean]; dup {
			return fmt.Errorf("listing of the package names %q twice", p.Path)
		}
		p.Path = clean
		c.listed[clean] = p
		c.order = append(c.order, clean)
		return nil
	}
	if b := c.info["info/paths.json"]; b != nil {
		var pj struct {
			Paths   []*condaPath `json:"paths"`
			Version int          `json:"paths_version"`
		}
		if err := json.Unmarshal(b, &pj); err != nil {
			return fmt.Errorf("reading info/paths.json: %w", err)
		}
		if pj.Version != 1 {
			return fmt.Errorf("reading info/paths.json: paths_version %d is not supported; this installer reads version 1", pj.Version)
		}
		c.listed = map[string]*condaPath{}
		for _, p := range pj.Paths {
			if err := add(p); err != nil {
				return err
			}
		}
		return nil
	}
	files := c.info["info/files"]
	if files == nil {
		return nil
	}
	c.listed = map[string]*condaPath{}
	for _, line := range lines(files) {
		if err := add(&condaPath{Path: line}); err != nil {
			return err
		}
	}
	for i, line := range lines(c.info["info/has_prefix"]) {
		fields, err := splitQuoted(line)
		if err != nil {
			return fmt.Errorf("reading info/has_prefix line %d: %w", i+1, err)
		}
		placeholder, mode, p := legacyPlaceholder, "text", ""
		switch len(fields) {
		case 1:
			p = fields[0]
		case 3:
			placeholder, mode, p = fields[0], fields[1], fields[2]
		default:
			return fmt.Errorf("reading info/has_prefix line %d: %q is neither PATH nor PLACEHOLDER MODE PATH", i+1, line)
		}
		clean, err := cleanEntry(p)
		if err != nil {
			return fmt.Errorf("reading info/has_prefix line %d: %w", i+1, err)
		}
		entry := c.listed[clean]
		if entry == nil {
			return fmt.Errorf("reading info/has_prefix line %d: %q is not in info/files", i+1, p)
		}
		entry.PrefixPlaceholder, entry.FileMode = placeholder, mode
	}
	for _, line := range lines(c.info["info/no_link"]) {
		if clean, err := cleanEntry(line); err == nil && c.listed[clean] != nil {
			c.listed[clean].NoLink = true
		}
	}
	return nil
}

func lines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// splitQuoted splits a line at spaces; a field may be in double quotes.
func splitQuoted(line string) ([]string, error) {
	var out []string
	for line = strings.TrimSpace(line); line != ""; line = strings.TrimSpace(line) {
		if line[0] == '"' {
			end := strings.IndexByte(line[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("%q has an unclosed quote", line)
			}
			out = append(out, line[1:1+end])
			line = line[end+2:]
			continue
		}
		f, rest, _ := strings.Cut(line, " ")
		out = append(out, f)
		line = rest
	}
	return out, nil
}

// relocate maps a path of the package to its place under the prefix:
// noarch: python packages put site-packages/ and python-scripts/ where the
// environment's Python wants them.
func (c *condaInstall) relocate(p string) string {
	if c.noarch {
		if rest, ok := strings.CutPrefix(p, "site-packages/"); ok {
			return c.site + "/" + rest
		}
		if rest, ok := strings.CutPrefix(p, "python-scripts/"); ok {
			return "bin/" + rest
		}
	}
	return p
}

func (c *condaInstall) image(dest string) string { return layout.Prefix + "/" + dest }

// underSymlink returns the symlink of this package that dest would be written
// through, if any.
func (c *condaInstall) underSymlink(dest string) string {
	for d := path.Dir(dest); d != "."; d = path.Dir(d) {
		if _, ok := c.symlinks[d]; ok {
			return d
		}
	}
	return ""
}

// entry installs one payload entry.
func (c *condaInstall) entry(hdr *tar.Header, name string, r io.Reader) error {
	var meta *condaPath
	if c.listed != nil {
		meta = c.listed[name]
		if meta == nil {
			return nil // not part of the package's listing: conda does not link it
		}
	} else {
		meta = &condaPath{Path: name}
		c.order = append(c.order, name)
	}
	if _, dup := c.done[name]; dup {
		return fmt.Errorf("entry %q appears twice in the archive", hdr.Name)
	}
	dest := c.relocate(name)
	if prev, dup := c.dests[dest]; dup {
		return fmt.Errorf("entries %q and %q both install to %q", prev, name, dest)
	}
	if link := c.underSymlink(dest); link != "" {
		return fmt.Errorf("entry %q would be written through symlink %q of the same package", hdr.Name, link)
	}
	rec := &condaPath{Path: dest, PathType: "hardlink", NoLink: meta.NoLink}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := c.t.mkdirAll(c.image(dest)); err != nil {
			return err
		}
		rec.PathType = "directory"
		rec.NoLink = false
	case tar.TypeReg, tar.TypeGNUSparse, '\x00':
		if err := c.file(hdr, meta, rec, r); err != nil {
			return err
		}
	case tar.TypeSymlink:
		if hdr.Linkname == "" || strings.ContainsRune(hdr.Linkname, 0) {
			return fmt.Errorf("symlink %q has an empty or invalid target", hdr.Name)
		}
		if path.IsAbs(hdr.Linkname) && !within(path.Clean(hdr.Linkname), layout.Prefix) {
			return fmt.Errorf("symlink %q points to %q, outside the prefix %s", hdr.Name, hdr.Linkname, layout.Prefix)
		}
		c.symlinks[dest] = hdr.Linkname
		rec.PathType = "softlink"
		rec.SHA256 = meta.SHA256
		size := int64(len(hdr.Linkname))
		if meta.Size != nil {
			size = *meta.Size
		}
		rec.Size = &size
	case tar.TypeLink:
		target, err := cleanEntry(hdr.Linkname)
		if err != nil {
			return fmt.Errorf("hard link %q points outside the package: %w", hdr.Name, err)
		}
		tdest := c.relocate(target)
		sum, ok := c.regular[tdest]
		if !ok {
			return fmt.Errorf("hard link %q points to %q, which is not a regular file installed by this package", hdr.Name, hdr.Linkname)
		}
		// The target may still be in a writer's hands.
		if err := c.wait(); err != nil {
			return err
		}
		if err := c.t.link(c.image(tdest), c.image(dest)); err != nil {
			return err
		}
		*rec = *c.done[c.dests[tdest]]
		rec.Path = dest
		c.regular[dest] = sum
	default:
		return fmt.Errorf("entry %q has tar type %q; conda packages hold files, directories and links only", hdr.Name, string(hdr.Typeflag))
	}
	c.done[name] = rec
	c.dests[dest] = name
	return nil
}

// file installs a regular file, replacing its prefix placeholder.
func (c *condaInstall) file(hdr *tar.Header, meta, rec *condaPath, r io.Reader) error {
	dest := c.image(rec.Path)
	mode := os.FileMode(modeFile)
	if hdr.Mode&0o111 != 0 {
		mode = modeExec
	}
	check := func(sum string) error {
		if meta.SHA256 != "" && !strings.EqualFold(meta.SHA256, sum) {
			return fmt.Errorf("entry %q has sha256 %s, info/paths.json says %s; the package is corrupt", hdr.Name, sum, meta.SHA256)
		}
		return nil
	}
	if meta.PrefixPlaceholder == "" && hdr.Size > smallFile {
		h := sha256.New()
		n, err := c.t.writeFile(dest, mode, r, h)
		if err != nil {
			return c.readErr(hdr, err)
		}
		rec.SHA256 = hex.EncodeToString(h.Sum(nil))
		rec.Size = &n
		c.regular[rec.Path] = rec.SHA256
		return check(rec.SHA256)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return c.readErr(hdr, &sourceError{err})
	}
	sum := sha256.Sum256(data)
	rec.SHA256 = hex.EncodeToString(sum[:])
	n := int64(len(data))
	rec.Size = &n
	if err := check(rec.SHA256); err != nil {
		return err
	}
	if ph := meta.PrefixPlaceholder; ph != "" {
		rec.PrefixPlaceholder = ph
		rec.FileMode = meta.FileMode
		if rec.FileMode == "" {
			rec.FileMode = "text"
		}
		switch rec.FileMode {
		case "text":
			data = replaceText(data, ph, layout.Prefix)
		case "binary":
			if data, err = replaceBinary(data, ph, layout.Prefix); err != nil {
				return fmt.Errorf("entry %q: %w", hdr.Name, err)
			}
		default:
			return fmt.Errorf("entry %q has file_mode %q; want text or binary", hdr.Name, rec.FileMode)
		}
		after := sha256.Sum256(data)
		rec.SHA256InPrefix = hex.EncodeToString(after[:])
	}
	c.regular[rec.Path] = rec.SHA256
	c.sem <- struct{}{}
	c.wg.Add(1)
	go func() {
		defer func() { <-c.sem; c.wg.Done() }()
		if err := c.t.writeBytes(dest, mode, data); err != nil {
			c.mu.Lock()
			if c.werr == nil {
				c.werr = err
			}
			c.mu.Unlock()
		}
	}()
	return nil
}

func (c *condaInstall) readErr(hdr *tar.Header, err error) error {
	var se *sourceError
	if errors.As(err, &se) {
		return fmt.Errorf("reading entry %q: %w; the package is truncated or corrupt", hdr.Name, se.err)
	}
	return err
}

// wait waits for the writers and returns their first error.
func (c *condaInstall) wait() error {
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.werr
}

// finish checks that every listed path was installed, creates the symlinks
// once every one of them is known and checked, and writes the entry points.
func (c *condaInstall) finish() error {
	for _, p := range c.order {
		if c.done[p] != nil {
			continue
		}
		meta := c.listed[p]
		if meta.PathType != "directory" {
			return fmt.Errorf("the listing names %q but the archive has no such entry; the package is incomplete", p)
		}
		dest := c.relocate(p)
		if err := c.t.mkdirAll(c.image(dest)); err != nil {
			return err
		}
		c.done[p] = &condaPath{Path: dest, PathType: "directory"}
		c.dests[dest] = p
	}
	links := sortedKeys(c.symlinks)
	for _, dest := range links {
		if err := c.checkSymlink(dest); err != nil {
			return err
		}
	}
	for _, dest := range sortedKeys(c.dests) {
		if link := c.underSymlink(dest); link != "" {
			return fmt.Errorf("entry %q would be written through symlink %q of the same package", c.dests[dest], link)
		}
	}
	for _, dest := range links {
		if err := c.t.symlink(c.symlinks[dest], c.image(dest)); err != nil {
			return err
		}
	}
	for _, ep := range c.eps {
		dest := "bin/" + ep.name
		if prev, dup := c.dests[dest]; dup {
			return fmt.Errorf("entry point %q collides with %q of the package", ep.name, prev)
		}
		body := ep.script()
		if err := c.t.writeBytes(c.image(dest), modeExec, body); err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		n := int64(len(body))
		p := "entry point " + ep.name
		c.done[p] = &condaPath{Path: dest, PathType: "unix_python_entry_point", SHA256: hex.EncodeToString(sum[:]), Size: &n}
		c.dests[dest] = p
	}
	return nil
}

// checkSymlink resolves the symlink at dest through the package's own
// symlinks and fails when it leaves the prefix.
func (c *condaInstall) checkSymlink(dest string) error {
	target := c.symlinks[dest]
	hops := 0
	var walk func(dir []string, target string) ([]string, error)
	walk = func(dir []string, target string) ([]string, error) {
		cur := append([]string(nil), dir...)
		if path.IsAbs(target) {
			clean := path.Clean(target)
			if !within(clean, layout.Prefix) {
				return nil, fmt.Errorf("symlink %q points to %q, outside the prefix %s", dest, target, layout.Prefix)
			}
			cur = nil
			target = strings.TrimPrefix(strings.TrimPrefix(clean, layout.Prefix), "/")
		}
		for _, part := range strings.Split(target, "/") {
			switch part {
			case "", ".":
				continue
			case "..":
				if len(cur) == 0 {
					return nil, fmt.Errorf("symlink %q points to %q, which leaves the prefix %s", dest, c.symlinks[dest], layout.Prefix)
				}
				cur = cur[:len(cur)-1]
				continue
			}
			next := strings.Join(append(cur, part), "/")
			if t, ok := c.symlinks[next]; ok {
				if hops++; hops > 40 {
					return nil, fmt.Errorf("symlink %q: too many levels of symlinks", dest)
				}
				var err error
				if cur, err = walk(cur, t); err != nil {
					return nil, err
				}
				continue
			}
			cur = append(cur, part)
		}
		return cur, nil
	}
	dir := strings.Split(path.Dir(dest), "/")
	if path.Dir(dest) == "." {
		dir = nil
	}
	_, err := walk(dir, target)
	return err
}

// writeRecord writes conda-meta/NAME-VERSION-BUILD.json: index.json's fields,
// the archive's fn, sha256, md5 and size, the files and paths_data. Fields
// that vary per environment (requested_spec, url, channel, link) are left to
// the envmeta layer.
func (c *condaInstall) writeRecord(sum256, sumMD5 string, size int64) (string, int, error) {
	rec := map[string]any{}
	for k, v := range c.index {
		rec[k] = v
	}
	for _, k := range perEnvFields {
		delete(rec, k)
	}
	rec["fn"] = c.opt.Filename
	rec["sha256"] = sum256
	rec["md5"] = sumMD5
	rec["size"] = size
	var paths []*condaPath
	files := []string{}
	for _, p := range c.done {
		paths = append(paths, p)
		if p.PathType != "directory" {
			files = append(files, p.Path)
		}
	}
	sort.Slice(paths, func(i, j int) bool { return paths[i].Path < paths[j].Path })
	sort.Strings(files)
	rec["files"] = files
	rec["paths_data"] = map[string]any{"paths_version": 1, "paths": paths}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return "", 0, fmt.Errorf("writing the conda-meta record: %w", err)
	}
	b = append(b, '\n')
	p := layout.CondaMeta + "/" + c.name + "-" + c.ver + "-" + c.build + ".json"
	if err := c.t.writeBytes(p, modeFile, b); err != nil {
		return "", 0, err
	}
	return p, len(files), nil
}

// perEnvFields are the conda-meta fields that differ between environments
// holding the same package; envmeta writes them.
var perEnvFields = []string{"requested_spec", "requested_specs", "url", "channel", "link", "extracted_package_dir", "package_tarball_full_path"}
