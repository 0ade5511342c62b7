//go:build !unix

package repodata

import "os"

// mapFile reads a file (mapping it is done on unix systems only).
func mapFile(path string) ([]byte, func(), error) {
	b, err := os.ReadFile(path)
	return b, func() {}, err
}
