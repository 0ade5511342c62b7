// Package bytecode compiles the .py files of an installed layer with the
// TARGET interpreter, inside a BuildKit step that runs on the base image.
// It is the only part of installing that needs the target's own binaries,
// so it is a separate step, skipped where the target cannot run (another
// architecture than BuildKit's).
//
// .pyc files are written in unchecked-hash mode with the on-image path as
// their recorded file name, so they do not depend on modification times or
// on where the layer was written, and PYTHONHASHSEED=0 keeps frozenset
// constants in a fixed order: the same package gives the same bytes in any
// build. Files that do not compile (Python 2 test files in some wheels) are
// skipped, as pip does.
package bytecode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/envbuild/envbuild/builder/layout"
)

const script = `import sys, json, py_compile, importlib.util
mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
for src, dfile in json.load(sys.stdin):
    try:
        py_compile.compile(src, cfile=importlib.util.cache_from_source(src), dfile=dfile, doraise=True, invalidation_mode=mode)
    except py_compile.PyCompileError:
        pass
`

// Compile compiles every .py file under root+layout.Prefix with pyexe.
func Compile(root, pyexe string) error {
	base := filepath.Join(root, layout.Prefix)
	var items [][2]string
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(p, ".py") && !strings.Contains(p, "/__pycache__/") {
			rel, _ := filepath.Rel(root, p)
			items = append(items, [2]string{p, "/" + filepath.ToSlash(rel)})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing %s: %w", base, err)
	}
	if len(items) == 0 {
		return nil
	}
	sort.Slice(items, func(i, j int) bool { return items[i][0] < items[j][0] })
	n := min(runtime.NumCPU(), 4, (len(items)+199)/200)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for w := 0; w < n; w++ {
		var chunk [][2]string
		for i := w; i < len(items); i += n {
			chunk = append(chunk, items[i])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = run(pyexe, chunk)
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func run(pyexe string, items [][2]string) error {
	in, err := json.Marshal(items)
	if err != nil {
		return err
	}
	cmd := exec.Command(pyexe, "-I", "-c", script)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = []string{"PYTHONHASHSEED=0", "PATH=/usr/bin:/bin"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("running %s to compile bytecode: %w: %s", pyexe, err, strings.TrimSpace(out.String()))
	}
	return nil
}
