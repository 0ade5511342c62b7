//go:build unix

package lockfile

import (
	"errors"
	"syscall"
)

// lockSidecar takes an exclusive flock on p, creating it if needed, and
// waits for it; the lock goes with the process if it dies.
func lockSidecar(p string) (func(), error) {
	f, err := openSidecar(p)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
