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
		if s[0] == "compile" {
			rc = bytecode.Main(s[1:], stdout, stderr)
		} else {
			rc = installer.Main(s, stdout, stderr)
		}
		if rc != 0 {
			return rc
		}
	}
	return 0
}
