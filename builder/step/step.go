// Package step runs the installer steps of one BuildKit exec: the envbuild
// binary is mounted into the step and called as `envbuild internal-step
// STEP ARGS [--- STEP ARGS]…` (package installstep describes and parses
// the steps), each STEP one of the installer's subcommands (wheel, conda,
// envmeta, normalize, layermeta), wheel-in-dir (the wheel built from an
// sdist), compile (bytecode with the target interpreter) or fetch (an
// artifact of a conda channel whose token is a session secret). Every step is
// parsed before any runs; steps run in order and the first failure stops
// them.
package step

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/envbuild/envbuild/builder/bytecode"
	"github.com/envbuild/envbuild/builder/installer"
	"github.com/envbuild/envbuild/builder/installstep"
)

// Main runs the steps in args and returns the exit status: 2 for a
// command line that does not parse, else the first failing step's.
func Main(args []string, stdout, stderr io.Writer) int {
	steps, err := installstep.ParseAll(args)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", installstep.Command, err)
		return 2
	}
	for _, s := range steps {
		var rc int
		switch s.Kind {
		case installstep.Compile:
			if err := bytecode.Compile(s.Root, s.PythonExe); err != nil {
				fmt.Fprintln(stderr, "compile:", err)
				rc = 1
			}
		case installstep.WheelInDir:
			rc = wheelInDir(s, stdout, stderr)
		case installstep.Fetch:
			if err := fetch(s, stdout); err != nil {
				fmt.Fprintln(stderr, "fetch:", err)
				rc = 1
			}
		default:
			rc = installer.Run(s, stdout, stderr)
		}
		if rc != 0 {
			return rc
		}
	}
	return 0
}

// wheelInDir installs the one wheel in s.Dir (a wheel built from an sdist
// during the build, whose file name was not known when the build was
// planned) as a wheel step with s's other flags.
func wheelInDir(s installstep.Step, stdout, stderr io.Writer) int {
	wheels, _ := filepath.Glob(filepath.Join(s.Dir, "*.whl"))
	if len(wheels) != 1 {
		fmt.Fprintf(stderr, "wheel-in-dir: building the sdist gave %d wheels in %s, want 1\n", len(wheels), s.Dir)
		return 1
	}
	w := s
	w.Kind, w.Src, w.Dir = installstep.Wheel, wheels[0], ""
	return installer.Run(w, stdout, stderr)
}
