// Package step runs the installer steps of one BuildKit exec: the envbuild
// binary is mounted into the step and called as `envbuild internal-step
// STEP ARGS [--- STEP ARGS]…`, each STEP one of the installer's
// subcommands (wheel, conda, envmeta, normalize) or compile (bytecode with
// the target interpreter). Steps run in order; the first failure stops
// them.
package step

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/envbuild/envbuild/builder/bytecode"
	"github.com/envbuild/envbuild/builder/installer"
)

// Separator separates steps.
const Separator = "---"

// Main runs the steps in args and returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	var steps [][]string
	cur := []string{}
	for _, a := range args {
		if a == Separator {
			steps = append(steps, cur)
			cur = []string{}
			continue
		}
		cur = append(cur, a)
	}
	steps = append(steps, cur)
	for _, s := range steps {
		if len(s) == 0 {
			fmt.Fprintln(stderr, "internal-step: empty step")
			return 2
		}
		var rc int
		switch s[0] {
		case "compile":
			rc = bytecode.Main(s[1:], stdout, stderr)
		case "wheel-in-dir":
			rc = wheelInDir(s[1:], stdout, stderr)
		default:
			rc = installer.Main(s, stdout, stderr)
		}
		if rc != 0 {
			return rc
		}
	}
	return 0
}

// wheelInDir installs the one wheel in --dir (a wheel built from an sdist
// during the build, whose file name was not known when the build was
// planned); the other arguments go to the installer's wheel step.
func wheelInDir(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 || args[0] != "--dir" {
		fmt.Fprintln(stderr, "wheel-in-dir: want --dir DIR first")
		return 2
	}
	wheels, _ := filepath.Glob(filepath.Join(args[1], "*.whl"))
	if len(wheels) != 1 {
		fmt.Fprintf(stderr, "wheel-in-dir: building the sdist gave %d wheels in %s, want 1\n", len(wheels), args[1])
		return 1
	}
	return installer.Main(append([]string{"wheel", "--src", wheels[0]}, args[2:]...), stdout, stderr)
}
