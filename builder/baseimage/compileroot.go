package baseimage

import (
	"archive/tar"
	"bytes"
	"context"
	delf "debug/elf"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// maxObject bounds the shared objects read whole to learn what they load:
// what a CPython interpreter loads is a few megabytes; the giant libraries
// of GPU bases are never among them.
const maxObject = 64 << 20

// CompileRoot writes, as an uncompressed tar, the part of a base image's
// file system that its interpreter needs to compile bytecode:
//
//   - the interpreter (interp, "/usr/bin/python3.11") and every shared
//     object it loads, transitively, found as the dynamic loader finds
//     them (DT_RUNPATH or DT_RPATH, /etc/ld.so.conf and its includes, the
//     default directories), with the loader itself (PT_INTERP);
//   - its standard library (stdlib, "/usr/lib/python3.11") without its
//     test suite and site directories, and the shared objects its
//     extension modules load, where the image has them;
//   - every symlink on the way to these, so each is reached by the paths
//     the base has.
//
// A BuildKit step that compiles bytecode runs on this root instead of the
// whole base: a few tens of megabytes to pull and unpack instead of the
// base's hundreds. It writes the same .pyc bytes, since the interpreter
// and the standard library that compile them are the base's own files.
//
// The layers are read twice (the first pass learns the merged file system
// and what each shared object needs; the second copies the files); the
// first pass keeps their compressed bytes in spoolDir so the second does
// not download them again. An interpreter whose shared objects cannot all
// be found is an error: the caller then compiles on the base. A change to
// the file set chosen here needs a new plan.CompileRootFormat.
func CompileRoot(ctx context.Context, img v1.Image, interp, stdlib, spoolDir string, w io.Writer) error {
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("listing the base's layers: %w", err)
	}
	spooled := make([]*spoolLayer, len(layers))
	for i, l := range layers {
		spooled[i] = &spoolLayer{Layer: l, path: filepath.Join(spoolDir, fmt.Sprintf("layer-%d", i))}
	}
	v := newView()
	for i := len(spooled) - 1; i >= 0; i-- {
		if err := walkLayerWith(ctx, v, spooled[i], readObject); err != nil {
			return err
		}
		v.endLayer()
	}
	v.done = true

	s := &rootSet{v: v, files: map[string]*node{}, links: map[string]string{}, dirs: map[string]bool{}, seen: map[string]bool{}}
	s.confDirs = s.ldConf("etc/ld.so.conf", 0)
	exe, n := s.add(interp)
	if n == nil {
		return fmt.Errorf("the interpreter %s is not a file of the base", interp)
	}
	if err := s.objectDeps(exe, n, true); err != nil {
		return err
	}
	lib, ln, _ := v.resolve(stdlib)
	if ln == nil || ln.kind != kindDir {
		return fmt.Errorf("the standard library %s is not a directory of the base", stdlib)
	}
	s.tree(lib, true)

	return s.write(ctx, spooled, w)
}

// readObject keeps, of each regular file, what the loader needs to know:
// the dependencies of a shared object or an interpreter, and the text of
// the loader's configuration.
func readObject(p string, hdr *tar.Header, r io.Reader) (*facts, error) {
	base := path.Base(p)
	isConf := p == "etc/ld.so.conf" || (parentOf(p) == "etc/ld.so.conf.d" && strings.HasSuffix(base, ".conf"))
	isObject := strings.Contains(base, ".so") || rePythonExe.MatchString(base)
	if (!isConf && !isObject) || hdr.Size > maxObject || (isConf && hdr.Size > 1<<20) {
		return nil, nil
	}
	buf, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	f := &facts{}
	if isConf {
		f.Text = string(buf)
		return f, nil
	}
	if !bytes.HasPrefix(buf, []byte("\x7fELF")) {
		return nil, nil
	}
	f.ELF = true
	ef, err := delf.NewFile(bytes.NewReader(buf))
	if err != nil {
		return f, nil // not an object the loader can load either
	}
	defer ef.Close()
	f.Machine = uint16(ef.Machine)
	f.Needed, _ = ef.DynString(delf.DT_NEEDED)
	f.RunPath, _ = ef.DynString(delf.DT_RUNPATH)
	if len(f.RunPath) == 0 {
		f.RPath, _ = ef.DynString(delf.DT_RPATH)
	}
	for _, prog := range ef.Progs {
		if prog.Type == delf.PT_INTERP {
			b, err := io.ReadAll(prog.Open())
			if err == nil {
				f.Interp = strings.TrimRight(string(b), "\x00")
			}
		}
	}
	f.DepsRead = true
	return f, nil
}

// rootSet is the file set being gathered, in the view's resolved paths.
type rootSet struct {
	v        *view
	files    map[string]*node  // regular files
	links    map[string]string // symlinks and their targets
	dirs     map[string]bool   // directories named for their own sake
	seen     map[string]bool   // objects whose dependencies were added
	confDirs []string          // library directories of /etc/ld.so.conf
}

// add adds p, the symlinks leading to it, and returns its resolved path
// and node when it is a regular file.
func (s *rootSet) add(p string) (string, *node) {
	rp, n, _ := s.v.trace(p, func(at string, ln *node) { s.links[at] = ln.link })
	if n == nil || n.kind != kindFile {
		return rp, nil
	}
	s.files[rp] = n
	return rp, n
}

// defaultLibDirs are where the loader looks last (glibc's trusted
// directories, Debian's multiarch ones and musl's defaults).
func defaultLibDirs(machine uint16) []string {
	tri := ""
	switch delf.Machine(machine) {
	case delf.EM_X86_64:
		tri = "x86_64-linux-gnu"
	case delf.EM_AARCH64:
		tri = "aarch64-linux-gnu"
	}
	dirs := []string{}
	if tri != "" {
		dirs = append(dirs, "/lib/"+tri, "/usr/lib/"+tri)
	}
	return append(dirs, "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib")
}

// objectDeps adds what the object at obj loads: its loader and every
// DT_NEEDED, transitively. With must, a dependency that cannot be found or
// read is an error; else it is left out (an extension module of the
// standard library that compiling never imports).
func (s *rootSet) objectDeps(obj string, n *node, must bool) error {
	if s.seen[obj] {
		return nil
	}
	s.seen[obj] = true
	f := n.facts
	if f == nil || !f.DepsRead {
		if must {
			return fmt.Errorf("/%s could not be read to learn the libraries it loads", obj)
		}
		return nil
	}
	if f.Interp != "" {
		if _, ln := s.add(f.Interp); ln == nil && must {
			return fmt.Errorf("/%s names the loader %s, which the base lacks", obj, f.Interp)
		}
	}
	origin := "/" + parentOf(obj)
	var search []string
	for _, list := range [][]string{f.RunPath, f.RPath} {
		for _, entry := range list {
			for _, d := range strings.Split(entry, ":") {
				d = strings.ReplaceAll(strings.ReplaceAll(d, "${ORIGIN}", origin), "$ORIGIN", origin)
				if d != "" {
					search = append(search, d)
				}
			}
		}
	}
	search = append(search, s.confDirs...)
	search = append(search, defaultLibDirs(f.Machine)...)
	for _, name := range f.Needed {
		var cands []string
		if strings.Contains(name, "/") {
			cands = []string{name}
		} else {
			for _, d := range search {
				cands = append(cands, path.Join(d, name))
			}
		}
		found := false
		for _, c := range cands {
			rp, ln, _ := s.v.resolve(c)
			if ln == nil || ln.kind != kindFile || (ln.facts != nil && ln.facts.DepsRead && ln.facts.Machine != f.Machine) {
				continue
			}
			rp, ln = s.add(c)
			if err := s.objectDeps(rp, ln, must); err != nil {
				return err
			}
			found = true
			break
		}
		if !found && must {
			return fmt.Errorf("/%s loads %s, which the base's library directories lack", obj, name)
		}
	}
	return nil
}

// ldConf returns the library directories a loader configuration file names,
// following its includes.
func (s *rootSet) ldConf(p string, depth int) []string {
	_, n, _ := s.v.resolve(p)
	if depth > 4 || n == nil || n.facts == nil {
		return nil
	}
	s.add(p)
	var dirs []string
	for _, line := range strings.Split(n.facts.Text, "\n") {
		line, _, _ = strings.Cut(line, "#")
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "include"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			pattern := strings.TrimSpace(rest)
			if !strings.HasPrefix(pattern, "/") {
				pattern = "/" + parentOf(cleanPath(p)) + "/" + pattern
			}
			dir, _, _ := s.v.resolve(path.Dir(pattern))
			names, _ := s.v.list(dir)
			for _, name := range names {
				if ok, _ := path.Match(path.Base(pattern), name); ok {
					dirs = append(dirs, s.ldConf(dir+"/"+name, depth+1)...)
				}
			}
			continue
		}
		for _, d := range strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == ':' || r == ',' }) {
			if strings.HasPrefix(d, "/") {
				dirs = append(dirs, d)
			}
		}
	}
	return dirs
}

// tree adds the directory dir and everything below it; at the top of the
// standard library, its test suite and site directories are left out. The
// shared objects found (extension modules) bring what they load, where
// the base has it.
func (s *rootSet) tree(dir string, top bool) {
	s.dirs[dir] = true
	names, _ := s.v.list(dir)
	for _, name := range names {
		if top && (name == "test" || name == "site-packages" || name == "dist-packages") {
			continue
		}
		p := dir + "/" + name
		n := s.v.nodes[p]
		if n == nil {
			continue
		}
		switch n.kind {
		case kindDir:
			s.tree(p, false)
		case kindFile:
			s.files[p] = n
			if n.facts != nil && n.facts.DepsRead {
				_ = s.objectDeps(p, n, false)
			}
		case kindSymlink:
			if rp, fn := s.add(p); fn != nil && fn.facts != nil && fn.facts.DepsRead {
				_ = s.objectDeps(rp, fn, false)
			}
		}
	}
}

// compileRootTime is every entry's modification time: SOURCE_DATE_EPOCH
// of the install steps, 1980-01-01.
var compileRootTime = time.Unix(315532800, 0).UTC()

// write copies the set's files out of the layers (a second pass, over the
// spooled bytes) and writes the tar, sorted by path.
func (s *rootSet) write(ctx context.Context, layers []*spoolLayer, w io.Writer) error {
	wantAt := map[int]map[string]bool{} // walk position (0 = top) → paths to copy there
	for p, n := range s.files {
		src := p
		if n.hardlink != "" {
			src = n.hardlink
		}
		if wantAt[n.layer] == nil {
			wantAt[n.layer] = map[string]bool{}
		}
		wantAt[n.layer][src] = true
	}
	type content struct {
		mode int64
		data []byte
	}
	got := map[int]map[string]content{}
	for pos := 0; pos < len(layers); pos++ {
		if len(wantAt[pos]) == 0 {
			continue
		}
		l := layers[len(layers)-1-pos]
		l.replay = true
		if err := func() error {
			rc, err := openLayer(l)
			if err != nil {
				return err
			}
			defer rc.Close()
			tr := tar.NewReader(rc)
			got[pos] = map[string]content{}
			for len(got[pos]) < len(wantAt[pos]) {
				if err := ctx.Err(); err != nil {
					return err
				}
				hdr, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					return err
				}
				p := cleanPath(hdr.Name)
				if !wantAt[pos][p] {
					continue
				}
				switch hdr.Typeflag {
				case tar.TypeReg, tar.TypeRegA:
					b, err := io.ReadAll(tr)
					if err != nil {
						return err
					}
					got[pos][p] = content{hdr.Mode & 0o7777, b}
				case tar.TypeLink:
					if c, ok := got[pos][cleanPath(hdr.Linkname)]; ok {
						got[pos][p] = c
					}
				}
			}
			return nil
		}(); err != nil {
			return fmt.Errorf("copying the compile root out of the base: %w", err)
		}
	}

	entries := map[string]*tar.Header{}
	var addDirs func(p string)
	addDirs = func(p string) {
		for d := parentOf(p); d != ""; d = parentOf(d) {
			if entries[d] != nil {
				return
			}
			entries[d] = &tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755}
		}
	}
	data := map[string][]byte{}
	for p, n := range s.files {
		src := p
		if n.hardlink != "" {
			src = n.hardlink
		}
		c, ok := got[n.layer][src]
		if !ok {
			return fmt.Errorf("copying the compile root out of the base: /%s was not found again", p)
		}
		entries[p] = &tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: c.mode, Size: int64(len(c.data))}
		data[p] = c.data
		addDirs(p)
	}
	for p, target := range s.links {
		if entries[p] == nil {
			entries[p] = &tar.Header{Typeflag: tar.TypeSymlink, Name: p, Linkname: target, Mode: 0o777}
			addDirs(p)
		}
	}
	for d := range s.dirs {
		if d != "" && entries[d] == nil {
			entries[d] = &tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755}
			addDirs(d)
		}
	}
	names := make([]string, 0, len(entries))
	for p := range entries {
		names = append(names, p)
	}
	sort.Strings(names)
	tw := tar.NewWriter(w)
	for _, p := range names {
		h := entries[p]
		h.ModTime, h.Format = compileRootTime, tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(data[p]); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

// spoolLayer keeps a layer's compressed bytes in a file as they are first
// read, and reads them from there once replay is set.
type spoolLayer struct {
	v1.Layer
	path   string
	replay bool
}

func (s *spoolLayer) Compressed() (io.ReadCloser, error) {
	if s.replay {
		if f, err := os.Open(s.path); err == nil {
			return f, nil
		}
		return s.Layer.Compressed()
	}
	rc, err := s.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	f, err := os.Create(s.path)
	if err != nil {
		rc.Close()
		return nil, err
	}
	return &teeLayer{Reader: io.TeeReader(rc, f), src: rc, file: f}, nil
}

// teeLayer copies what is read to the spool file; closing it copies the
// rest (the reader of a tar stops at its end marker), so the file holds
// the whole blob, verified by the layer's own reader at its end.
type teeLayer struct {
	io.Reader
	src  io.ReadCloser
	file *os.File
}

func (t *teeLayer) Close() error {
	_, cerr := io.Copy(io.Discard, t.Reader)
	serr := t.src.Close()
	ferr := t.file.Close()
	for _, err := range []error{cerr, serr, ferr} {
		if err != nil {
			os.Remove(t.file.Name())
			return err
		}
	}
	return nil
}
