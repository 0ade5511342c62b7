package installer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/envbuild/envbuild/builder/installstep"
)

// usageKinds are the steps this package runs, for its usage errors.
const usageKinds = "want one of wheel, conda, normalize, layermeta, envmeta"

// Main runs the installer with args (without the program name) and returns
// the exit status: 0 on success, 1 when installing failed, 2 for a usage
// error. The command line is one step of package installstep. Errors are
// printed to stderr as one line each; a one-line summary of what was
// installed goes to stdout.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return fail(stderr, 2, errors.New("no subcommand; "+usageKinds))
	}
	switch installstep.Kind(args[0]) {
	case installstep.Wheel, installstep.Conda, installstep.Normalize, installstep.LayerMeta, installstep.EnvMeta:
	default:
		return fail(stderr, 2, fmt.Errorf("unknown subcommand %q; %s", args[0], usageKinds))
	}
	s, err := installstep.Parse(args)
	if err != nil {
		return fail(stderr, 2, err)
	}
	return Run(s, stdout, stderr)
}

func fail(stderr io.Writer, code int, err error) int {
	fmt.Fprintln(stderr, "envbuild installer: "+strings.ReplaceAll(err.Error(), "\n", " "))
	return code
}

// Run runs one parsed step of the installer's own kinds (wheel, conda,
// normalize, layermeta, envmeta) and returns the exit status as Main does.
func Run(s installstep.Step, stdout, stderr io.Writer) int {
	switch s.Kind {
	case installstep.Wheel:
		res, err := InstallWheel(s.Src, s.Root, WheelOptions{Python: s.Python, FreeThreaded: s.FreeThreaded, SHA256: s.SHA256, Part: s.Part, Parts: s.Parts})
		if err != nil {
			return fail(stderr, 1, err)
		}
		if s.Parts > 0 {
			fmt.Fprintf(stdout, "installed part %d of %d of %s %s (%d files)\n", s.Part+1, s.Parts, res.Name, res.Version, res.Files)
		} else {
			fmt.Fprintf(stdout, "installed %s %s (%d files)\n", res.Name, res.Version, res.Files)
		}
	case installstep.Conda:
		res, err := InstallConda(s.Src, s.Root, CondaOptions{Python: s.Python, FreeThreaded: s.FreeThreaded, SHA256: s.SHA256, Filename: s.Filename})
		if err != nil {
			return fail(stderr, 1, err)
		}
		fmt.Fprintf(stdout, "installed %s %s %s (%d files)\n", res.Name, res.Version, res.Build, res.Files)
	case installstep.Normalize:
		if err := Normalize(s.Root); err != nil {
			return fail(stderr, 1, err)
		}
	case installstep.LayerMeta:
		if err := WriteLayerMetaFile(s.Root, s.Out); err != nil {
			return fail(stderr, 1, err)
		}
	case installstep.EnvMeta:
		data, err := os.ReadFile(s.JSON)
		if err != nil {
			return fail(stderr, 1, fmt.Errorf("envmeta: %w", err))
		}
		m, err := ReadEnvMeta(data)
		if err != nil {
			return fail(stderr, 1, err)
		}
		if err := WriteEnvMeta(s.Root, m, EnvMetaOptions{Packages: s.Packages}); err != nil {
			return fail(stderr, 1, err)
		}
		fmt.Fprintf(stdout, "wrote the metadata of environment %s\n", m.EnvID)
	default:
		return fail(stderr, 2, fmt.Errorf("unknown subcommand %q; %s", s.Kind, usageKinds))
	}
	return 0
}
