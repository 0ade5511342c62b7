package condachannel

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// File is one entry of a package's payload.
type File struct {
	// Path is relative to the prefix ("bin/prog", "site-packages/m.py").
	Path string
	Data []byte
	// Exec marks an executable file (mode 0755).
	Exec bool
	// Symlink, when set, makes the entry a symlink to it (Data unused).
	Symlink string
	// Placeholder is the prefix placeholder the file contains; the
	// installer replaces it in PlaceholderMode "text" or "binary".
	Placeholder     string
	PlaceholderMode string
}

// Package is one conda package to write.
type Package struct {
	Name, Version, Build string
	BuildNumber          int
	// Subdir is "noarch" or a platform subdir ("linux-64").
	Subdir string
	// Noarch is "" or "python".
	Noarch  string
	Depends []string
	// EntryPoints are noarch: python console scripts, "name = module:func".
	EntryPoints []string
	Files       []File
	// Format is "conda" or "tar.bz2".
	Format string
}

// Filename is NAME-VERSION-BUILD.conda or .tar.bz2.
func (p Package) Filename() string {
	return p.Name + "-" + p.Version + "-" + p.Build + "." + p.Format
}

// Epoch is the time of every archive entry and of the records' timestamp.
var Epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Write writes pkgs under dir (dir/SUBDIR/FILENAME) and a repodata.json
// for noarch and every subdir used (noarch always, even when empty).
func Write(dir string, pkgs []Package) error {
	type record struct {
		Name        string   `json:"name"`
		Version     string   `json:"version"`
		Build       string   `json:"build"`
		BuildNumber int      `json:"build_number"`
		Depends     []string `json:"depends"`
		Subdir      string   `json:"subdir"`
		Noarch      string   `json:"noarch,omitempty"`
		License     string   `json:"license"`
		Timestamp   int64    `json:"timestamp"`
		SHA256      string   `json:"sha256"`
		MD5         string   `json:"md5"`
		Size        int64    `json:"size"`
	}
	type repodata struct {
		Info            map[string]string `json:"info"`
		Packages        map[string]record `json:"packages"`
		PackagesConda   map[string]record `json:"packages.conda"`
		RepodataVersion int               `json:"repodata_version"`
	}
	subdirs := map[string]*repodata{"noarch": nil}
	for _, p := range pkgs {
		subdirs[p.Subdir] = nil
	}
	for s := range subdirs {
		subdirs[s] = &repodata{Info: map[string]string{"subdir": s}, Packages: map[string]record{}, PackagesConda: map[string]record{}, RepodataVersion: 1}
	}
	for _, p := range pkgs {
		data, err := Archive(p)
		if err != nil {
			return err
		}
		fn := p.Filename()
		if err := os.MkdirAll(filepath.Join(dir, p.Subdir), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, p.Subdir, fn), data, 0o644); err != nil {
			return err
		}
		s256, m5 := sha256.Sum256(data), md5.Sum(data)
		deps := p.Depends
		if deps == nil {
			deps = []string{}
		}
		r := record{Name: p.Name, Version: p.Version, Build: p.Build, BuildNumber: p.BuildNumber, Depends: deps, Subdir: p.Subdir,
			Noarch: p.Noarch, License: "MIT", Timestamp: Epoch.UnixMilli(),
			SHA256: hex.EncodeToString(s256[:]), MD5: hex.EncodeToString(m5[:]), Size: int64(len(data))}
		if p.Format == "conda" {
			subdirs[p.Subdir].PackagesConda[fn] = r
		} else {
			subdirs[p.Subdir].Packages[fn] = r
		}
	}
	for s, rd := range subdirs {
		b, err := json.MarshalIndent(rd, "", " ")
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dir, s), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, s, "repodata.json"), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Serve serves dir over HTTP on 127.0.0.1 until the returned server is
// closed.
func Serve(dir string) *httptest.Server {
	return httptest.NewServer(http.FileServer(http.Dir(dir)))
}

// Private is a channel served only with credentials, as a private
// channel server does: HTTP basic auth with User and Password, or a path
// starting with /t/<token>/ (anaconda.org's form) for any of Tokens,
// which is taken off before serving. Anything else is 401, a wrong token
// 403.
type Private struct {
	*httptest.Server
	User, Password string
	Tokens         []string

	mu sync.Mutex
	// Served counts the artifacts (.conda, .tar.bz2) served, by how the
	// request was authorised: "basic" or "token".
	Served map[string]int
}

// ServePrivate serves dir as a Private channel.
func ServePrivate(dir, user, password string, tokens ...string) *Private {
	p := &Private{User: user, Password: password, Tokens: tokens, Served: map[string]int{}}
	files := http.FileServer(http.Dir(dir))
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		how := ""
		if rest, ok := strings.CutPrefix(r.URL.Path, "/t/"); ok {
			tok, tail, _ := strings.Cut(rest, "/")
			for _, t := range p.Tokens {
				if tok == t {
					how = "token"
				}
			}
			if how == "" {
				http.Error(w, "bad token", http.StatusForbidden)
				return
			}
			r.URL.Path = "/" + tail
		} else if u, pw, ok := r.BasicAuth(); ok && u == p.User && pw == p.Password {
			how = "basic"
		} else {
			w.Header().Set("WWW-Authenticate", `Basic realm="conda"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if strings.HasSuffix(r.URL.Path, ".conda") || strings.HasSuffix(r.URL.Path, ".tar.bz2") {
			p.mu.Lock()
			p.Served[how]++
			p.mu.Unlock()
		}
		files.ServeHTTP(w, r)
	}))
	return p
}

// Count is Served[how], read safely.
func (p *Private) Count(how string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Served[how]
}

// Archive returns the bytes of p's package file.
func Archive(p Package) ([]byte, error) {
	if p.Name == "" || p.Version == "" || p.Build == "" || p.Subdir == "" {
		return nil, fmt.Errorf("package %q %q %q in subdir %q: name, version, build and subdir are required", p.Name, p.Version, p.Build, p.Subdir)
	}
	info, err := infoFiles(p)
	if err != nil {
		return nil, err
	}
	switch p.Format {
	case "conda":
		return condaArchive(p, info)
	case "tar.bz2":
		all, err := tarOf(append(info, p.Files...))
		if err != nil {
			return nil, err
		}
		return bzip2(all)
	}
	return nil, fmt.Errorf("package %s: format %q, want conda or tar.bz2", p.Name, p.Format)
}

// infoFiles makes info/index.json, info/paths.json, info/files and
// info/link.json.
func infoFiles(p Package) ([]File, error) {
	index := map[string]any{
		"name": p.Name, "version": p.Version, "build": p.Build, "build_number": p.BuildNumber,
		"depends": nonNil(p.Depends), "subdir": p.Subdir, "license": "MIT", "timestamp": Epoch.UnixMilli(),
	}
	if p.Noarch != "" {
		index["noarch"] = p.Noarch
	}
	type pathEntry struct {
		Path              string `json:"_path"`
		PathType          string `json:"path_type"`
		SHA256            string `json:"sha256,omitempty"`
		Size              *int64 `json:"size_in_bytes,omitempty"`
		PrefixPlaceholder string `json:"prefix_placeholder,omitempty"`
		FileMode          string `json:"file_mode,omitempty"`
	}
	var paths []pathEntry
	var files []string
	for _, f := range p.Files {
		e := pathEntry{Path: f.Path, PathType: "hardlink"}
		if f.Symlink != "" {
			e.PathType = "softlink"
		} else {
			sum := sha256.Sum256(f.Data)
			n := int64(len(f.Data))
			e.SHA256, e.Size = hex.EncodeToString(sum[:]), &n
			if f.Placeholder != "" {
				if !bytes.Contains(f.Data, []byte(f.Placeholder)) {
					return nil, fmt.Errorf("package %s: %s does not contain its placeholder %q", p.Name, f.Path, f.Placeholder)
				}
				e.PrefixPlaceholder, e.FileMode = f.Placeholder, f.PlaceholderMode
			}
		}
		paths = append(paths, e)
		files = append(files, f.Path)
	}
	sort.Slice(paths, func(i, j int) bool { return paths[i].Path < paths[j].Path })
	sort.Strings(files)
	pj, err := json.MarshalIndent(map[string]any{"paths": paths, "paths_version": 1}, "", " ")
	if err != nil {
		return nil, err
	}
	ij, err := json.MarshalIndent(index, "", " ")
	if err != nil {
		return nil, err
	}
	out := []File{
		{Path: "info/index.json", Data: ij},
		{Path: "info/paths.json", Data: pj},
		{Path: "info/files", Data: []byte(strings.Join(files, "\n") + "\n")},
	}
	if p.Noarch == "python" {
		lj, err := json.MarshalIndent(map[string]any{"noarch": map[string]any{"type": "python", "entry_points": nonNil(p.EntryPoints)}, "package_metadata_version": 1}, "", " ")
		if err != nil {
			return nil, err
		}
		out = append(out, File{Path: "info/link.json", Data: lj})
	}
	return out, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// tarOf writes files as a tar, parents first, in path order.
func tarOf(files []File) ([]byte, error) {
	sorted := append([]File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range sorted {
		if path.IsAbs(f.Path) || strings.Contains("/"+f.Path+"/", "/../") {
			return nil, fmt.Errorf("entry %q: want a relative path inside the prefix", f.Path)
		}
		var parents []string
		for d := path.Dir(f.Path); d != "." && !dirs[d]; d = path.Dir(d) {
			parents = append([]string{d}, parents...)
			dirs[d] = true
		}
		for _, d := range parents {
			if err := tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: Epoch}); err != nil {
				return nil, err
			}
		}
		h := &tar.Header{Name: f.Path, Mode: 0o644, ModTime: Epoch}
		switch {
		case f.Symlink != "":
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, f.Symlink, 0o777
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.Data))
			if f.Exec {
				h.Mode = 0o755
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.Data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// condaArchive writes the .conda format: a stored zip holding
// metadata.json, info-STEM.tar.zst and pkg-STEM.tar.zst.
func condaArchive(p Package, info []File) ([]byte, error) {
	stem := p.Name + "-" + p.Version + "-" + p.Build
	infoTar, err := tarOf(info)
	if err != nil {
		return nil, err
	}
	pkgTar, err := tarOf(p.Files)
	if err != nil {
		return nil, err
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range []struct {
		name string
		data []byte
	}{
		{"metadata.json", []byte(`{"conda_pkg_format_version": 2}`)},
		{"pkg-" + stem + ".tar.zst", enc.EncodeAll(pkgTar, nil)},
		{"info-" + stem + ".tar.zst", enc.EncodeAll(infoTar, nil)},
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Store, Modified: Epoch})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ErrNoBzip2 is returned when a .tar.bz2 package is asked for and the
// bzip2 program is not on PATH.
var ErrNoBzip2 = errors.New("the bzip2 program is not on PATH (Debian: apt-get install bzip2)")

func bzip2(data []byte) ([]byte, error) {
	prog, err := exec.LookPath("bzip2")
	if err != nil {
		return nil, ErrNoBzip2
	}
	cmd := exec.Command(prog, "-c", "-9")
	cmd.Stdin = bytes.NewReader(data)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("running bzip2: %w: %s", err, errb.String())
	}
	return out.Bytes(), nil
}
