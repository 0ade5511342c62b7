package metaflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// LoadStatic reads a flow file without Python: decorator arguments must be
// literals (strings, numbers, booleans, None, dicts, lists, tuples, adjacent
// strings). A computed argument that envbuild needs is an error wrapping
// ErrComputed, positioned at the argument.
func LoadStatic(path string) (*Flow, error) {
	return loadStatic(path, Options{})
}

func loadStatic(path string, opts Options) (*Flow, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, readError(path, err)
	}
	raw, err := parseFlowSource(path, src)
	if err != nil {
		return nil, err
	}
	if err := checkKnownDecorators(raw); err != nil {
		return nil, err
	}
	return buildFlow(path, raw, opts)
}

func readError(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return &Error{Pos: Position{File: path}, Msg: "reading the flow file: no such file", Err: err}
	}
	return &Error{Pos: Position{File: path}, Msg: "reading the flow file", Err: err}
}

// LoadWithMetaflow loads the flow with python and the metaflow package
// installed for it, so that Configs and other load-time values are resolved
// by Metaflow, and merges the decorators as LoadStatic does. The flow's
// module is imported (its top-level code runs) but no step runs.
func LoadWithMetaflow(ctx context.Context, python, path string) (*Flow, error) {
	return loadWithMetaflow(ctx, path, Options{Python: python})
}

func loadWithMetaflow(ctx context.Context, path string, opts Options) (*Flow, error) {
	exp, err := exportDecorators(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	raw, err := exp.raw(path)
	if err != nil {
		return nil, err
	}
	f, err := buildFlow(path, raw, opts)
	if err != nil {
		return nil, err
	}
	f.ConfigsSHA256 = exp.ConfigsSHA256
	return f, nil
}

// Load reads a flow with Metaflow when opts.Python (default python3) can
// import metaflow, and statically otherwise. An error from Metaflow's load is
// returned, except that a flow importing a module that Python lacks is read
// statically (and fails with both errors if that fails too).
func Load(ctx context.Context, path string, opts Options) (*Flow, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, readError(path, err)
	}
	if HasMetaflow(ctx, opts.Python) {
		f, err := loadWithMetaflow(ctx, path, opts)
		var perr *Error
		if err == nil || !errors.As(err, &perr) || !perr.importFailed {
			return f, err
		}
		// The flow imports a module this Python lacks (often one its steps
		// get from @pypi): its literal decorators can still be read.
		f, serr := loadStatic(path, opts)
		if serr != nil {
			return nil, fmt.Errorf("%w; reading it without metaflow failed too: %w", err, serr)
		}
		return f, nil
	}
	f, err := loadStatic(path, opts)
	if err != nil && errors.Is(err, ErrComputed) {
		return nil, fmt.Errorf("%w (no python with metaflow found: %s -c 'import metaflow' failed)", err, pythonOr(opts.Python))
	}
	return f, err
}

func pythonOr(p string) string {
	if p == "" {
		return "python3"
	}
	return p
}

// HasMetaflow reports whether python (default python3) can import metaflow.
func HasMetaflow(ctx context.Context, python string) bool {
	cmd := exec.CommandContext(ctx, pythonOr(python), "-c", "import metaflow")
	return cmd.Run() == nil
}

// export is the JSON printed by python/export_decorators.py.
type export struct {
	Error           string `json:"error"`
	ErrorLine       int    `json:"line"`
	ErrorCol        int    `json:"col"`
	ErrorKind       string `json:"kind"` // "import": the flow imports a module python lacks
	MetaflowVersion string `json:"metaflow_version"`
	// ConfigsSHA256 is the digest of the flow's resolved Config values
	// (null without Configs).
	ConfigsSHA256 string `json:"configs_sha256"`
	Flow          struct {
		Name       string       `json:"name"`
		Line       int          `json:"line"`
		Col        int          `json:"col"`
		Decorators []exportDeco `json:"decorators"`
	} `json:"flow"`
	Steps []exportStep `json:"steps"`
}

type exportStep struct {
	Name       string       `json:"name"`
	Line       int          `json:"line"`
	Col        int          `json:"col"`
	Decorators []exportDeco `json:"decorators"`
}

type exportDeco struct {
	Name       string           `json:"name"`
	Line       int              `json:"line"`
	Col        int              `json:"col"`
	Attributes map[string]any   `json:"attributes"`
	ArgPos     map[string][]int `json:"arg_pos"`
	Attached   bool             `json:"attached"`
	// Merged are Metaflow's attributes after its own merge (@pypi/@conda).
	Merged         map[string]any `json:"merged"`
	MergedUserKeys []string       `json:"merged_user_keys"`
}

func exportDecorators(ctx context.Context, path string, opts Options) (*export, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("loading flow %q with metaflow: %w", path, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, readError(path, err)
	}
	dir, err := os.MkdirTemp("", "envbuild-export-")
	if err != nil {
		return nil, fmt.Errorf("loading flow %q with metaflow: %w", path, err)
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "export_decorators.py")
	if err := os.WriteFile(script, exportScript, 0o644); err != nil {
		return nil, fmt.Errorf("loading flow %q with metaflow: %w", path, err)
	}
	args := append([]string{script, abs}, opts.MetaflowArgs...)
	cmd := exec.CommandContext(ctx, pythonOr(opts.Python), args...)
	cmd.Dir = opts.Dir
	if cmd.Dir == "" {
		cmd.Dir = filepath.Dir(abs)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var exp export
	if err := json.Unmarshal(stdout.Bytes(), &exp); err != nil {
		if runErr != nil {
			return nil, &Error{Pos: Position{File: path}, Msg: "loading the flow with metaflow (" + pythonOr(opts.Python) + ")", Err: fmt.Errorf("%w\n%s", runErr, lastLines(stderr.String(), 20))}
		}
		return nil, fmt.Errorf("loading flow %q with metaflow: unreadable output from export_decorators.py: %w", path, err)
	}
	if exp.Error != "" {
		return nil, &Error{Pos: Position{File: path, Line: exp.ErrorLine, Col: exp.ErrorCol}, Msg: "metaflow could not load the flow: " + exp.Error, importFailed: exp.ErrorKind == "import"}
	}
	if runErr != nil {
		return nil, &Error{Pos: Position{File: path}, Msg: "loading the flow with metaflow", Err: fmt.Errorf("%w\n%s", runErr, lastLines(stderr.String(), 20))}
	}
	return &exp, nil
}

// lastLines keeps the end of a traceback, where Python puts the cause.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// raw turns the export into the decorators as written, for buildFlow.
func (e *export) raw(file string) (*rawFlow, error) {
	pos := func(line, col int) Position { return Position{File: file, Line: line, Col: col} }
	flow := &rawFlow{name: e.Flow.Name, pos: pos(e.Flow.Line, e.Flow.Col)}
	for _, d := range e.Flow.Decorators {
		flow.decorators = append(flow.decorators, d.raw(pos(e.Flow.Line, e.Flow.Col), file))
	}
	for _, s := range e.Steps {
		st := rawStep{name: s.Name, pos: pos(s.Line, s.Col)}
		for _, d := range s.Decorators {
			if d.Attached {
				continue // buildFlow attaches @pypi_base/@conda_base itself
			}
			st.decorators = append(st.decorators, d.raw(st.pos, file))
		}
		flow.steps = append(flow.steps, st)
	}
	if len(flow.steps) == 0 {
		return nil, errorf(flow.pos, "flow %s has no steps (methods decorated with @step)", flow.name)
	}
	return flow, nil
}

func (d exportDeco) raw(fallback Position, file string) rawDecorator {
	at := fallback
	if d.Line > 0 {
		at = Position{File: file, Line: d.Line, Col: d.Col}
	}
	r := rawDecorator{name: d.Name, pos: at, args: map[string]value{}}
	for k := range d.Attributes {
		r.order = append(r.order, k)
	}
	sort.Strings(r.order)
	for _, k := range r.order {
		p := at
		if lc := d.ArgPos[k]; len(lc) == 2 {
			p = Position{File: file, Line: lc[0], Col: lc[1]}
		}
		r.args[k] = fromJSON(d.Attributes[k], p)
	}
	return r
}

// InterpreterVersion is the version (X.Y.Z) of python (default python3),
// the interpreter that runs the flow and whose python:X.Y is Metaflow's
// default image; "" when it cannot be run.
func InterpreterVersion(ctx context.Context, python string) string {
	out, err := exec.CommandContext(ctx, pythonOr(python), "-c", "import platform; print(platform.python_version())").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
