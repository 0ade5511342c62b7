package failure

import (
	"errors"
	"fmt"
	"os"
)

// ReadFile reads an input file the user named (a requirements file, a lock,
// pyproject.toml): a missing or unreadable one is the user's error, named
// by its path.
func ReadFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, User(fmt.Errorf("reading %s: no such file", path))
		}
		return nil, User(fmt.Errorf("reading %s: %w", path, err))
	}
	return data, nil
}
