package lockfile

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/envbuild/envbuild/lock/failure"
)

// SidecarPath is the file Update locks for path: a hidden file beside the
// lock that is never renamed or removed. A lock taken on the lock file
// itself would be lost by Write's atomic rename, which replaces the file
// another process holds the lock on.
func SidecarPath(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".lock")
}

// Update changes the lock at path under an exclusive OS file lock on its
// sidecar: it re-reads the file (nil when missing), lets change edit it,
// and writes the result atomically. Processes that update different
// environments of one lock file concurrently each keep their own: nobody
// writes a copy read before another's write. change runs while others
// wait, so it must be quick: resolve before calling Update, then only Put
// (or drop) entries. change returning nil, nil writes nothing.
func Update(path string, change func(*File) (*File, error)) (*File, error) {
	unlock, err := lockSidecar(SidecarPath(path))
	if err != nil {
		return nil, failure.User(fmt.Errorf("locking %s for writing: %w", path, err))
	}
	defer unlock()
	cur, err := Read(path)
	if err != nil {
		return nil, err
	}
	f, err := change(cur)
	if err != nil || f == nil {
		return f, err
	}
	if err := Write(path, f); err != nil {
		return nil, err
	}
	return f, nil
}

// PutEnv writes e into the lock at path, keeping every other environment as
// it is on disk at the time of writing.
func PutEnv(path string, e Env) (*File, error) {
	return Update(path, func(f *File) (*File, error) {
		if f == nil {
			f = &File{LockVersion: Version}
		}
		f.Put(e)
		return f, nil
	})
}

func openSidecar(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
}
