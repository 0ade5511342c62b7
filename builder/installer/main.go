package installer

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Main runs the installer with args (without the program name) and returns
// the exit status: 0 on success, 1 when installing failed, 2 for a usage
// error. Errors are printed to stderr as one line each; a one-line summary of
// what was installed goes to stdout.
func Main(args []string, stdout, stderr io.Writer) int {
	fail := func(code int, err error) int {
		fmt.Fprintln(stderr, "envbuild installer: "+strings.ReplaceAll(err.Error(), "\n", " "))
		return code
	}
	if len(args) == 0 {
		return fail(2, errors.New("no subcommand; want one of wheel, conda, normalize, layermeta, envmeta"))
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		src, root, python, sha, filename, jsonFile, packages string
		freeThreaded                                         bool
	)
	fs.StringVar(&root, "root", "", "output directory standing for /")
	switch cmd {
	case "wheel", "conda":
		fs.StringVar(&src, "src", "", "the artifact")
		fs.StringVar(&python, "python", "", "the environment's Python, MAJOR.MINOR")
		fs.BoolVar(&freeThreaded, "free-threaded", false, "free-threaded Python")
		fs.StringVar(&sha, "sha256", "", "expected sha256 of the artifact")
		if cmd == "conda" {
			fs.StringVar(&filename, "filename", "", "the package's file name for conda-meta")
		}
	case "normalize":
	case "layermeta":
		fs.StringVar(&jsonFile, "out", "", "where the layer's LayerMeta JSON goes")
	case "envmeta":
		fs.StringVar(&jsonFile, "json", "", "the EnvMeta JSON file")
		fs.StringVar(&packages, "packages", "", "the merged package layers, read only")
	default:
		return fail(2, fmt.Errorf("unknown subcommand %q; want one of wheel, conda, normalize, layermeta, envmeta", cmd))
	}
	if err := fs.Parse(args); err != nil {
		return fail(2, fmt.Errorf("%s: %w", cmd, err))
	}
	if fs.NArg() > 0 {
		return fail(2, fmt.Errorf("%s: unexpected argument %q", cmd, fs.Arg(0)))
	}
	if root == "" {
		return fail(2, fmt.Errorf("%s: --root DIR is required", cmd))
	}
	switch cmd {
	case "wheel":
		if src == "" {
			return fail(2, errors.New("wheel: --src FILE is required"))
		}
		res, err := InstallWheel(src, root, WheelOptions{Python: python, FreeThreaded: freeThreaded, SHA256: sha})
		if err != nil {
			return fail(1, err)
		}
		fmt.Fprintf(stdout, "installed %s %s (%d files)\n", res.Name, res.Version, res.Files)
	case "conda":
		if src == "" {
			return fail(2, errors.New("conda: --src FILE is required"))
		}
		res, err := InstallConda(src, root, CondaOptions{Python: python, FreeThreaded: freeThreaded, SHA256: sha, Filename: filename})
		if err != nil {
			return fail(1, err)
		}
		fmt.Fprintf(stdout, "installed %s %s %s (%d files)\n", res.Name, res.Version, res.Build, res.Files)
	case "normalize":
		if err := Normalize(root); err != nil {
			return fail(1, err)
		}
	case "layermeta":
		if jsonFile == "" {
			return fail(2, errors.New("layermeta: --out FILE is required"))
		}
		if err := WriteLayerMetaFile(root, jsonFile); err != nil {
			return fail(1, err)
		}
	case "envmeta":
		if jsonFile == "" {
			return fail(2, errors.New("envmeta: --json FILE is required"))
		}
		data, err := os.ReadFile(jsonFile)
		if err != nil {
			return fail(1, fmt.Errorf("envmeta: %w", err))
		}
		m, err := ReadEnvMeta(data)
		if err != nil {
			return fail(1, err)
		}
		if err := WriteEnvMeta(root, m, EnvMetaOptions{Packages: packages}); err != nil {
			return fail(1, err)
		}
		fmt.Fprintf(stdout, "wrote the metadata of environment %s\n", m.EnvID)
	}
	return 0
}
