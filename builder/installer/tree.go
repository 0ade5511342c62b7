package installer

import (
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// File modes the installer gives what it writes; normalize keeps them.
const (
	modeFile = 0o644
	modeExec = 0o755
	modeDir  = 0o755
)

// tree writes files below root, at on-image absolute paths. It never follows
// a symlink: files are created with O_EXCL|O_NOFOLLOW and every directory it
// walks through was created by mkdirAll, which refuses anything but a real
// directory. A file or symlink already at a path (left by an earlier package
// installed into the same root) is replaced. It is safe for concurrent use.
type tree struct {
	root string

	mu   sync.Mutex
	dirs map[string]bool
}

func newTree(root string) (*tree, error) {
	if root == "" {
		return nil, errors.New("no output directory given; pass --root DIR")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("resolving output directory %q: %w", root, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("opening output directory %q: %w", root, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("output directory %q is not a directory", root)
	}
	return &tree{root: abs, dirs: map[string]bool{"/": true}}, nil
}

// host returns the host path of the on-image absolute path p. Cleaning p as
// an absolute path first means no ".." can climb above root, whatever the
// caller passes.
func (t *tree) host(p string) string {
	return filepath.Join(t.root, filepath.FromSlash(path.Clean("/"+p)))
}

// mkdirAll creates the on-image directory p and its parents with mode 0755.
func (t *tree) mkdirAll(p string) error {
	p = path.Clean(p)
	t.mu.Lock()
	done := t.dirs[p]
	t.mu.Unlock()
	if done {
		return nil
	}
	if parent := path.Dir(p); parent != p {
		if err := t.mkdirAll(parent); err != nil {
			return err
		}
	}
	h := t.host(p)
	if err := os.Mkdir(h, modeDir); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("creating directory %q: %w", p, err)
		}
		st, lerr := os.Lstat(h)
		if lerr != nil {
			return fmt.Errorf("creating directory %q: %w", p, lerr)
		}
		if !st.IsDir() {
			return fmt.Errorf("creating directory %q: a file or symlink is in the way", p)
		}
	} else if err := os.Chmod(h, modeDir); err != nil {
		return fmt.Errorf("setting the mode of directory %q: %w", p, err)
	}
	t.mu.Lock()
	t.dirs[p] = true
	t.mu.Unlock()
	return nil
}

// create opens a new regular file at on-image path p with mode perm, creating
// its parents. It fails when anything exists at p already.
func (t *tree) create(p string, perm os.FileMode) (*os.File, error) {
	if err := t.mkdirAll(path.Dir(p)); err != nil {
		return nil, err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL | noFollow
	f, err := os.OpenFile(t.host(p), flags, perm)
	if errors.Is(err, fs.ErrExist) {
		if err = t.replace(p); err != nil {
			return nil, err
		}
		f, err = os.OpenFile(t.host(p), flags, perm)
	}
	if err != nil {
		return nil, fmt.Errorf("writing %q: %w", p, err)
	}
	// The umask may have taken bits away; set the mode we mean.
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return nil, fmt.Errorf("setting the mode of %q: %w", p, err)
	}
	return f, nil
}

// writeFile writes r to a new file at p and returns its size; h, when not
// nil, sees the same bytes. An error of r is returned as a *sourceError.
func (t *tree) writeFile(p string, perm os.FileMode, r io.Reader, h hash.Hash) (int64, error) {
	f, err := t.create(p, perm)
	if err != nil {
		return 0, err
	}
	var w io.Writer = f
	if h != nil {
		w = io.MultiWriter(f, h)
	}
	buf := copyBuffers.Get().(*[]byte)
	n, err := io.CopyBuffer(w, sourceReader{r}, *buf)
	copyBuffers.Put(buf)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		var se *sourceError
		if errors.As(err, &se) {
			return n, err
		}
		return n, fmt.Errorf("writing %q: %w", p, err)
	}
	return n, nil
}

// writeBytes writes b to a new file at p.
func (t *tree) writeBytes(p string, perm os.FileMode, b []byte) error {
	f, err := t.create(p, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %q: %w", p, err)
	}
	return nil
}

// symlink creates a symlink at p pointing to target (written as given).
func (t *tree) symlink(target, p string) error {
	if err := t.mkdirAll(path.Dir(p)); err != nil {
		return err
	}
	err := os.Symlink(target, t.host(p))
	if errors.Is(err, fs.ErrExist) {
		if err = t.replace(p); err != nil {
			return err
		}
		err = os.Symlink(target, t.host(p))
	}
	if err != nil {
		return fmt.Errorf("creating symlink %q: %w", p, err)
	}
	return nil
}

// link creates a hard link at p to the existing file at target (both
// on-image paths).
func (t *tree) link(target, p string) error {
	if err := t.mkdirAll(path.Dir(p)); err != nil {
		return err
	}
	err := os.Link(t.host(target), t.host(p))
	if errors.Is(err, fs.ErrExist) {
		if err = t.replace(p); err != nil {
			return err
		}
		err = os.Link(t.host(target), t.host(p))
	}
	if err != nil {
		return fmt.Errorf("creating hard link %q to %q: %w", p, target, err)
	}
	return nil
}

// sourceError marks an error of the reader writeFile copies from, so that
// callers can tell a corrupt archive from a failing disk.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

type sourceReader struct{ r io.Reader }

func (s sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		err = &sourceError{err}
	}
	return n, err
}

// replace removes the file or symlink at p that an earlier install into the
// same root left there, so that the package being installed wins, as a later
// layer would. Paths a package holds twice are caught before anything is
// written, so this is never the same package's file. A directory in the way
// is an error.
func (t *tree) replace(p string) error {
	st, err := os.Lstat(t.host(p))
	if err != nil {
		return fmt.Errorf("writing %q: %w", p, err)
	}
	if st.IsDir() {
		return fmt.Errorf("writing %q: a directory of an earlier package is in the way", p)
	}
	if err := os.Remove(t.host(p)); err != nil {
		return fmt.Errorf("writing %q over an earlier package's file: %w", p, err)
	}
	return nil
}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// cleanEntry checks an archive entry name and returns it as a clean relative
// slash path. It refuses absolute names, ".." components, NUL bytes and names
// that are empty once "." components are dropped.
func cleanEntry(name string) (string, error) {
	if strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("entry %q has a NUL byte in its name", name)
	}
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("entry %q has an absolute path; archives must hold relative paths", name)
	}
	parts := strings.Split(name, "/")
	kept := parts[:0]
	for _, p := range parts {
		switch p {
		case "", ".":
			continue
		case "..":
			return "", fmt.Errorf("entry %q has a \"..\" component and would leave the install directory", name)
		}
		kept = append(kept, p)
	}
	if len(kept) == 0 {
		return "", fmt.Errorf("entry %q names no file", name)
	}
	return strings.Join(kept, "/"), nil
}

// within reports whether the clean absolute path p is dir or below it.
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
