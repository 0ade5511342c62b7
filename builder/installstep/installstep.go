// Package installstep is the protocol between the planner and the
// installer: the typed description of the steps one BuildKit exec runs,
// their encoding into the command line the planner gives the exec
// (`envbuild internal-step STEP ARGS [--- STEP ARGS]…`), and its parsing
// by the installer. Both sides use this package, so the two cannot drift
// apart; a round-trip test joins them.
//
// It must not depend on anything but the standard library and
// builder/layout: the installer program that runs inside BuildKit
// imports it.
package installstep

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/envbuild/envbuild/builder/layout"
)

// Command is the hidden subcommand of the envbuild binary that runs the
// steps inside BuildKit.
const Command = "internal-step"

// Separator separates steps in one invocation.
const Separator = "---"

// SourceDateEpochVar is the variable every build step gets, for tools
// that date what they write (building a wheel from an sdist).
const SourceDateEpochVar = "SOURCE_DATE_EPOCH"

// SourceDateEpoch is its value: the layout's fixed file time.
var SourceDateEpoch = strconv.FormatInt(layout.Epoch, 10)

// MaxParts is the most parts one wheel is installed in (Step.Parts).
const MaxParts = 16

// ValidPart reports whether part of parts names a part of a wheel: 0 of 0
// (the whole wheel) or 0 <= part < parts <= MaxParts.
func ValidPart(part, parts int) bool {
	return part == 0 && parts == 0 || 0 <= part && part < parts && parts <= MaxParts
}

// SplitFormat names how the installer deals a wheel's files to its parts:
// bump it when the deal changes, so that the parts' layer keys and the
// env ids of split environments change with their bytes.
const SplitFormat = 1

// Kind names a step.
type Kind string

// The steps.
const (
	// Wheel installs a wheel (Src) into Root.
	Wheel Kind = "wheel"
	// Conda installs a conda package (Src) into Root.
	Conda Kind = "conda"
	// WheelInDir installs the one wheel in Dir: a wheel built from an
	// sdist during the build, whose file name was not known when the
	// build was planned.
	WheelInDir Kind = "wheel-in-dir"
	// Compile compiles the bytecode of the .py files under Root with the
	// target interpreter PythonExe.
	Compile Kind = "compile"
	// Normalize fixes the modes and times of the tree under Root.
	Normalize Kind = "normalize"
	// LayerMeta writes the layer's LayerMeta JSON to Out.
	LayerMeta Kind = "layermeta"
	// EnvMeta writes the per-environment files described by the EnvMeta
	// JSON file JSON over the package layers merged at Packages.
	EnvMeta Kind = "envmeta"
	// Fetch downloads an artifact of a conda channel whose URL carries a
	// token (/t/<token>/): the token is read from a secret file BuildKit
	// mounts, inserted into the URL, and the file checked against its
	// sha256, so the token is in no LLB, log or layer.
	Fetch Kind = "fetch"
)

// Step is one step with its flags. Each Kind uses some of the fields
// (see Parse for which); the others stay empty.
type Step struct {
	Kind Kind
	// Root is the output directory standing for / (every step).
	Root string
	// Src is the artifact (Wheel, Conda).
	Src string
	// Dir holds the one wheel to install (WheelInDir).
	Dir string
	// SHA256 is the artifact's expected sha256 (Wheel, Conda, WheelInDir).
	SHA256 string
	// Python is the environment's Python, MAJOR.MINOR (Wheel, Conda,
	// WheelInDir).
	Python string
	// FreeThreaded marks a free-threaded Python (Wheel, Conda, WheelInDir).
	FreeThreaded bool
	// Part of Parts installs one part of a big wheel, each part a layer
	// of its own (Wheel; see the installer's split.go); 0 of 0 installs
	// it whole.
	Part, Parts int
	// Filename is the package's file name for conda-meta (Conda).
	Filename string
	// PythonExe is the target interpreter (Compile).
	PythonExe string
	// Out is where the layer's LayerMeta JSON goes (LayerMeta).
	Out string
	// JSON is the EnvMeta JSON file; Packages the merged package layers,
	// read only (EnvMeta).
	JSON, Packages string
	// URL is the artifact's URL without the token; the token, read from
	// the file Secret, goes at byte TokenAt of it as "/t/<token>" (Fetch,
	// which writes Root/Filename checked against SHA256).
	URL, Secret string
	TokenAt     int
}

// Args encodes the step as its command line: the kind, then its flags
// in a fixed order, each only when set.
func (s Step) Args() []string {
	args := []string{string(s.Kind)}
	add := func(name, v string) {
		if v != "" {
			args = append(args, "--"+name, v)
		}
	}
	add("dir", s.Dir)
	add("src", s.Src)
	add("root", s.Root)
	add("sha256", s.SHA256)
	add("python", s.Python)
	if s.FreeThreaded {
		args = append(args, "--free-threaded")
	}
	if s.Parts > 0 {
		add("part", strconv.Itoa(s.Part))
		add("parts", strconv.Itoa(s.Parts))
	}
	add("filename", s.Filename)
	add("python-exe", s.PythonExe)
	add("out", s.Out)
	add("json", s.JSON)
	add("packages", s.Packages)
	add("url", s.URL)
	add("secret", s.Secret)
	if s.TokenAt > 0 {
		add("token-at", strconv.Itoa(s.TokenAt))
	}
	return args
}

// Encode is the command line of steps run in order: each step's Args,
// separated by Separator.
func Encode(steps []Step) []string {
	var out []string
	for i, s := range steps {
		if i > 0 {
			out = append(out, Separator)
		}
		out = append(out, s.Args()...)
	}
	return out
}

// Split cuts a command line at each Separator.
func Split(args []string) [][]string {
	steps := [][]string{}
	cur := []string{}
	for _, a := range args {
		if a == Separator {
			steps = append(steps, cur)
			cur = []string{}
			continue
		}
		cur = append(cur, a)
	}
	return append(steps, cur)
}

// ErrEmptyStep is the error of a command line with an empty step.
var ErrEmptyStep = errors.New("empty step")

// ParseAll parses a command line of several steps (Encode's output).
func ParseAll(args []string) ([]Step, error) {
	var out []Step
	for _, a := range Split(args) {
		if len(a) == 0 {
			return nil, ErrEmptyStep
		}
		s, err := Parse(a)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// kinds lists every step, for error messages.
const kinds = "wheel, conda, wheel-in-dir, compile, normalize, layermeta, envmeta, fetch"

// Parse parses one step's command line (Args' output). Flags may be
// written -flag or --flag. Every step requires --root; Wheel and Conda
// --src, WheelInDir --dir, Compile --python-exe, LayerMeta --out and
// EnvMeta --json.
func Parse(args []string) (Step, error) {
	if len(args) == 0 {
		return Step{}, fmt.Errorf("no subcommand; want one of %s", kinds)
	}
	s := Step{Kind: Kind(args[0])}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&s.Root, "root", "", "output directory standing for /")
	artifact := func() {
		fs.StringVar(&s.Python, "python", "", "the environment's Python, MAJOR.MINOR")
		fs.BoolVar(&s.FreeThreaded, "free-threaded", false, "free-threaded Python")
		fs.StringVar(&s.SHA256, "sha256", "", "expected sha256 of the artifact")
	}
	parts := func() {
		fs.IntVar(&s.Part, "part", 0, "the part of a big wheel to install")
		fs.IntVar(&s.Parts, "parts", 0, "how many parts the wheel is installed in")
	}
	var required, what string
	switch s.Kind {
	case Wheel, Conda:
		fs.StringVar(&s.Src, "src", "", "the artifact")
		artifact()
		if s.Kind == Conda {
			fs.StringVar(&s.Filename, "filename", "", "the package's file name for conda-meta")
		} else {
			parts()
		}
		required, what = "src", "FILE"
	case WheelInDir:
		fs.StringVar(&s.Dir, "dir", "", "the directory holding the one wheel")
		artifact()
		required, what = "dir", "DIR"
	case Compile:
		fs.StringVar(&s.PythonExe, "python-exe", "", "the target interpreter")
		required, what = "python-exe", "PATH"
	case Normalize:
	case LayerMeta:
		fs.StringVar(&s.Out, "out", "", "where the layer's LayerMeta JSON goes")
		required, what = "out", "FILE"
	case EnvMeta:
		fs.StringVar(&s.JSON, "json", "", "the EnvMeta JSON file")
		fs.StringVar(&s.Packages, "packages", "", "the merged package layers, read only")
		required, what = "json", "FILE"
	case Fetch:
		fs.StringVar(&s.URL, "url", "", "the artifact's URL without the token")
		fs.StringVar(&s.Secret, "secret", "", "the file holding the token")
		fs.IntVar(&s.TokenAt, "token-at", 0, "where the token goes in the URL")
		fs.StringVar(&s.SHA256, "sha256", "", "expected sha256 of the artifact")
		fs.StringVar(&s.Filename, "filename", "", "the file to write under --root")
		required, what = "url", "URL"
	default:
		return Step{}, fmt.Errorf("unknown subcommand %q; want one of %s", args[0], kinds)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return Step{}, fmt.Errorf("%s: %w", s.Kind, err)
	}
	if fs.NArg() > 0 {
		return Step{}, fmt.Errorf("%s: unexpected argument %q", s.Kind, fs.Arg(0))
	}
	if s.Root == "" {
		return Step{}, fmt.Errorf("%s: --root DIR is required", s.Kind)
	}
	if required != "" && fs.Lookup(required).Value.String() == "" {
		return Step{}, fmt.Errorf("%s: --%s %s is required", s.Kind, required, what)
	}
	if !ValidPart(s.Part, s.Parts) {
		return Step{}, fmt.Errorf("%s: --part %d of --parts %d: want 0 <= part < parts <= %d", s.Kind, s.Part, s.Parts, MaxParts)
	}
	if s.Kind == Fetch && (s.Secret == "" || s.SHA256 == "" || s.Filename == "" || s.TokenAt <= 0 || s.TokenAt > len(s.URL)) {
		return Step{}, fmt.Errorf("%s: --secret FILE, --sha256 HEX, --filename NAME and --token-at N (within the URL) are required", s.Kind)
	}
	return s, nil
}

// String is the step's command line, for messages.
func (s Step) String() string { return strings.Join(s.Args(), " ") }
