//go:build !unix

package lockfile

// lockSidecar only creates the sidecar where there is no flock: envbuild
// is built for Linux and macOS.
func lockSidecar(p string) (func(), error) {
	f, err := openSidecar(p)
	if err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}
