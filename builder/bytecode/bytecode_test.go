package bytecode

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/builder/layout"
)

func TestCompileIsReproducibleAndNamesTheOnImagePath(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 on this machine")
	}
	out := func() (string, []byte) {
		root := t.TempDir()
		site := filepath.Join(root, layout.Prefix, "lib/python3.x/site-packages/pkg")
		if err := os.MkdirAll(site, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(site, "__init__.py"), []byte("X = frozenset({'a', 'b', 'c'})\ndef f():\n    raise ValueError('boom')\n"), 0o644)
		os.WriteFile(filepath.Join(site, "py2only.py"), []byte("print 'python 2'\n"), 0o644)
		if err := Compile(root, py); err != nil {
			t.Fatal(err)
		}
		pycs, _ := filepath.Glob(filepath.Join(site, "__pycache__", "__init__.*.pyc"))
		if len(pycs) != 1 {
			t.Fatalf("want one .pyc for __init__.py, got %v", pycs)
		}
		data, _ := os.ReadFile(pycs[0])
		if bad, _ := filepath.Glob(filepath.Join(site, "__pycache__", "py2only.*.pyc")); len(bad) != 0 {
			t.Errorf("a file that does not compile got a .pyc")
		}
		return site, data
	}
	_, a := out()
	_, b := out()
	if !bytes.Equal(a, b) {
		t.Errorf("two compilations of the same file differ")
	}
	if !bytes.Contains(a, []byte(layout.Prefix+"/lib/python3.x/site-packages/pkg/__init__.py")) {
		t.Errorf("the .pyc does not record the on-image path")
	}
	if strings.Contains(string(a), os.TempDir()) {
		t.Errorf("the .pyc records where it was built")
	}
	// unchecked-hash pycs: flags word (bytes 4-8) is 0b01.
	if len(a) < 8 || a[4] != 1 {
		t.Errorf("not an unchecked-hash .pyc: flags %v", a[4:8])
	}
}
