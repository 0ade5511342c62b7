package lockfile

import (
	"strings"
	"testing"
)

func TestDeepLockIsAnError(t *testing.T) {
	src := "lock-version = 1\nx = " + strings.Repeat("[", 1_000_000) + strings.Repeat("]", 1_000_000) + "\n"
	if _, err := Parse("envbuild.lock", []byte(src)); err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Errorf("error %.200v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sample().Marshal())
	f.Add([]byte("lock-version = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lf, err := Parse("envbuild.lock", data)
		if err != nil {
			return
		}
		// What is read is written back canonically, and reads again as
		// the same.
		again, err := Parse("envbuild.lock", lf.Marshal())
		if err != nil {
			t.Fatalf("a lock read from %q does not read back: %v", data, err)
		}
		if again.Digest() != lf.Digest() {
			t.Errorf("a lock read from %q changes when written and read again", data)
		}
	})
}
