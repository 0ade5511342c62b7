//go:build !linux

package installer

import (
	"errors"
	"os"
	"time"
)

const noFollow = 0

// lutimes is only available on Linux, where the installer runs (inside
// BuildKit); elsewhere the symlinks' own times cannot be set portably.
func lutimes(p string, sec int64) error {
	st, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if st.Mode()&os.ModeSymlink != 0 {
		return &os.PathError{Op: "lutimes", Path: p, Err: errors.New("setting a symlink's times needs Linux; the installer runs inside BuildKit on Linux")}
	}
	t := time.Unix(sec, 0)
	return os.Chtimes(p, t, t)
}
