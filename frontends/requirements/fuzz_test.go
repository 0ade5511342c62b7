package requirements

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse reads a main file that may include itself and a second file
// (cycles included): any input ends with a result or an error, never a
// panic or a hang.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"requests[socks]>=2.31 ; python_version >= '3.8'  # c\n",
		"-r other.txt\n-c other.txt\n",
		"-r main.txt\n",
		"six==1.16.0 \\\n --hash=sha256:8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254\n",
		"--index-url https://${USER}:${PASS}@example.com/simple\n",
		"-e .\n",
		"\\\n\\\n",
		"pkg @ https://u:p@example.com/pkg-1.0-py3-none-any.whl\n",
	} {
		f.Add(seed, "-r main.txt\nattrs\n")
	}
	f.Fuzz(func(t *testing.T, main, other string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "main.txt"), []byte(main), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "other.txt"), []byte(other), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = Load(filepath.Join(dir, "main.txt"), map[string]string{"USER": "u", "PASS": "p"})
	})
}
