package metaflow

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	literalFlow = "../../examples/flows/literal_flow.py"
	configFlow  = "../../examples/flows/config_flow.py"
)

// requireMetaflow skips the test when python3 cannot import metaflow, or
// fails it when ENVBUILD_REQUIRE_METAFLOW=1 (CI installs metaflow).
func requireMetaflow(t *testing.T) {
	t.Helper()
	out, err := exec.Command("python3", "-c", "import metaflow").CombinedOutput()
	if err == nil {
		return
	}
	msg := "python3 cannot import metaflow (pip install metaflow): " + strings.TrimSpace(string(out))
	if os.Getenv("ENVBUILD_REQUIRE_METAFLOW") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func TestLiteralFlowBothReaders(t *testing.T) {
	requireMetaflow(t)
	static, err := LoadStatic(literalFlow)
	if err != nil {
		t.Fatalf("LoadStatic: %v", err)
	}
	withMF, err := LoadWithMetaflow(context.Background(), "python3", literalFlow)
	if err != nil {
		t.Fatalf("LoadWithMetaflow: %v", err)
	}
	if !reflect.DeepEqual(static, withMF) {
		for i := range static.Steps {
			if i < len(withMF.Steps) && !reflect.DeepEqual(static.Steps[i], withMF.Steps[i]) {
				t.Errorf("step %d:\nstatic   %s %v\nmetaflow %s %v", i, dumpStep(static.Steps[i]), static.Steps[i].Pos, dumpStep(withMF.Steps[i]), withMF.Steps[i].Pos)
			}
		}
		t.Fatalf("LoadStatic and LoadWithMetaflow differ: %+v vs %+v", static, withMF)
	}
	// The example covers what it claims to.
	byName := map[string]Step{}
	for _, s := range static.Steps {
		byName[s.Name] = s
	}
	if got := len(static.Steps); got != 5 {
		t.Fatalf("got %d steps, want 5", got)
	}
	if s := byName["transform"]; s.Image != "python:3.11-slim" || s.ImageFrom != "kubernetes" || s.Pypi == nil {
		t.Errorf("transform: got %s, want @kubernetes image python:3.11-slim and @pypi", dumpStep(s))
	}
	if s := byName["tiny_conda"]; s.Conda == nil || s.Conda.Packages["conda-forge::six"] != "1.16.0" {
		t.Errorf("tiny_conda: got %s, want @conda with conda-forge::six", dumpStep(s))
	}
	if s := byName["plain"]; !s.Disabled {
		t.Errorf("plain: got %s, want disabled", dumpStep(s))
	}
}

func TestConfigFlow(t *testing.T) {
	_, err := LoadStatic(configFlow)
	want := configFlow + ":12:21: @pypi_base(packages=…) is computed at load time"
	if err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, ErrComputed) {
		t.Fatalf("LoadStatic: got %v, want %q…", err, want)
	}
	_, err = Load(context.Background(), configFlow, Options{Python: filepath.Join(t.TempDir(), "no-python")})
	if err == nil || !errors.Is(err, ErrComputed) || !strings.Contains(err.Error(), "no python with metaflow found") {
		t.Fatalf("Load without metaflow: got %v, want the static error saying no metaflow was found", err)
	}

	requireMetaflow(t)
	f, err := Load(context.Background(), configFlow, Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want2 := map[string]map[string]string{
		"start": {"requests": "2.32.3", "pyyaml": "6.0.2"},
		"end":   {"requests": "2.32.3"},
	}
	for _, s := range f.Steps {
		if s.Pypi == nil || !reflect.DeepEqual(s.Pypi.Packages, want2[s.Name]) || s.Python != "3.11" {
			t.Errorf("step %s: got %s, want packages %v and python 3.11", s.Name, dumpStep(s), want2[s.Name])
		}
	}
	// A config given on the command line replaces the default file.
	other := filepath.Join(t.TempDir(), "other.json")
	if err := os.WriteFile(other, []byte(`{"base_packages": {"six": ""}, "train_packages": {}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err = Load(context.Background(), configFlow, Options{MetaflowArgs: []string{"--config", "env", other}})
	if err != nil {
		t.Fatalf("Load with --config: %v", err)
	}
	if got := f.Steps[0].Pypi.Packages; !reflect.DeepEqual(got, map[string]string{"six": ""}) {
		t.Errorf("with --config: got packages %v, want six only", got)
	}
}

// Metaflow's own merge (its decorators' step_init) gives what envbuild's
// merge gives, on the examples and on flows made for each rule.
func TestMergeMatchesMetaflow(t *testing.T) {
	requireMetaflow(t)
	flows := map[string]string{
		"literal": literalFlow,
		"config":  configFlow,
	}
	inline := map[string]string{
		"pypi_base": `from metaflow import FlowSpec, step, pypi, pypi_base
print("a flow that prints while it loads")

@pypi_base(packages={"requests": "2.31.0", "six": ""}, python="3.10", disabled=False)
class F(FlowSpec):
    @pypi(packages={"requests": "2.32.3"}, python="3.12")
    @step
    def start(self):
        self.next(self.mid)

    @pypi(python="", disabled=True)
    @step
    def mid(self):
        self.next(self.end)

    @step
    def end(self):
        pass
`,
		"other decorators": `from metaflow import FlowSpec, step, pypi, batch, card, project, resources, retry, schedule

@schedule(daily=True)
@project(name="envbuild_test")
class F(FlowSpec):
    @card
    @retry(times=2)
    @resources(cpu=2)
    @batch(image="registry.example.com/ml/base:1")
    @pypi(packages={"six": ""})
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass
`,
		"conda_base": `from metaflow import FlowSpec, step, conda, conda_base

@conda_base(libraries={"conda-forge::zlib": ">=1.2", "numpy": "1.25"}, python="3.11", disabled=True)
class F(FlowSpec):
    @conda(libraries={"numpy": "1.24"}, packages={"numpy": "1.26"}, disabled=False)
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass
`,
	}
	for name, src := range inline {
		flows[name] = writeFlow(t, src)
	}
	for name, path := range flows {
		t.Run(name, func(t *testing.T) {
			exp, err := exportDecorators(context.Background(), path, Options{})
			if err != nil {
				t.Fatalf("exporting: %v", err)
			}
			ours, err := LoadWithMetaflow(context.Background(), "python3", path)
			if err != nil {
				t.Fatalf("LoadWithMetaflow: %v", err)
			}
			if len(ours.Steps) != len(exp.Steps) {
				t.Fatalf("got %d steps, metaflow has %d", len(ours.Steps), len(exp.Steps))
			}
			compared := 0
			for i, es := range exp.Steps {
				st := ours.Steps[i]
				seen := map[string]bool{}
				for _, d := range es.Decorators {
					if d.Merged == nil {
						continue
					}
					seen[d.Name] = true
					got := st.Pypi
					if d.Name == "conda" {
						got = st.Conda
					}
					if got == nil {
						t.Errorf("step %s: metaflow has @%s, envbuild has none", st.Name, d.Name)
						continue
					}
					compareMerged(t, st.Name, d, got)
					compared++
				}
				if st.Pypi != nil && !seen["pypi"] || st.Conda != nil && !seen["conda"] {
					t.Errorf("step %s: envbuild has a decorator metaflow does not: %s", st.Name, dumpStep(st))
				}
			}
			if compared == 0 {
				t.Fatal("no @pypi/@conda compared")
			}
			// Where the static reader can read the flow, it reads the same.
			static, err := LoadStatic(path)
			switch {
			case errors.Is(err, ErrComputed):
			case err != nil:
				t.Errorf("LoadStatic: %v", err)
			case !reflect.DeepEqual(static, ours):
				t.Errorf("LoadStatic differs from LoadWithMetaflow:\n%+v\n%+v", static, ours)
			}
		})
	}
}

func compareMerged(t *testing.T, step string, d exportDeco, got *Decorator) {
	t.Helper()
	pkgs := map[string]string{}
	if m, ok := d.Merged["packages"].(map[string]any); ok {
		for k, v := range m {
			pkgs[k], _ = v.(string)
		}
	}
	if !reflect.DeepEqual(pkgs, got.Packages) {
		t.Errorf("step %s @%s packages: envbuild %v, metaflow %v", step, d.Name, got.Packages, pkgs)
	}
	// Metaflow's @conda fills an unset python with the running interpreter's;
	// envbuild leaves it unset (the base image's). Compare what users set.
	wantPy := ""
	userPy := false
	for _, k := range d.MergedUserKeys {
		userPy = userPy || k == "python"
	}
	if p, ok := d.Merged["python"].(string); ok && (userPy || d.Name == "pypi") {
		wantPy = p
	}
	if got.Python != wantPy {
		t.Errorf("step %s @%s python: envbuild %q, metaflow %q", step, d.Name, got.Python, wantPy)
	}
	wantDis, _ := d.Merged["disabled"].(bool)
	gotDis := got.Disabled != nil && *got.Disabled
	if gotDis != wantDis {
		t.Errorf("step %s @%s disabled: envbuild %v, metaflow %v", step, d.Name, gotDis, wantDis)
	}
}

func TestMetaflowErrors(t *testing.T) {
	requireMetaflow(t)
	tests := []struct{ name, src, want string }{
		{
			name: "a version as a number, from Metaflow",
			src:  "from metaflow import FlowSpec, step, pypi\nV = 1.10\nclass F(FlowSpec):\n    @pypi(packages={'numpy': V})\n    @step\n    def start(self):\n        self.next(self.end)\n    @step\n    def end(self):\n        pass\n",
			want: `:4:20: @pypi(packages=…): the version of "numpy" must be a string: write "1.1" (a number loses digits)`,
		},
		{
			name: "an error Metaflow raises",
			src:  "from metaflow import FlowSpec, step, pypi\nclass F(FlowSpec):\n    @pypi(pakages={})\n    @step\n    def start(self):\n        self.next(self.end)\n    @step\n    def end(self):\n        pass\n",
			want: `:3: metaflow could not load the flow: Unknown decorator attribute: Decorator 'pypi' does not support the attribute 'pakages'.`,
		},
		{
			name: "a syntax error",
			src:  "from metaflow import FlowSpec\nclass F(FlowSpec:\n    pass\n",
			want: `:2:17: metaflow could not load the flow: invalid syntax`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFlow(t, tt.src)
			_, err := LoadWithMetaflow(context.Background(), "python3", path)
			if err == nil || !strings.HasPrefix(err.Error(), path+tt.want) {
				t.Fatalf("got %v\nwant prefix %q", err, path+tt.want)
			}
		})
	}
}

// A FlowMutator adds @pypi when the flow loads: Metaflow sees it, the static
// reader refuses the flow instead of missing it.
func TestMutatorFlow(t *testing.T) {
	src := `from metaflow import FlowSpec, FlowMutator, step, pypi


class WithSix(FlowMutator):
    def mutate(self, mutable_flow):
        for name, s in mutable_flow.steps:
            if name == "end":
                s.add_decorator(pypi, deco_kwargs={"packages": {"six": "1.16.0"}})


@WithSix
class MutFlow(FlowSpec):
    @pypi(packages={"requests": ""})
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass
`
	path := writeFlow(t, src)
	_, err := LoadStatic(path)
	if err == nil || !errors.Is(err, ErrComputed) || !strings.HasPrefix(err.Error(), path+":11:2: @WithSix on flow MutFlow") {
		t.Fatalf("LoadStatic: got %v, want @WithSix refused at 11:2", err)
	}
	requireMetaflow(t)
	f, err := LoadWithMetaflow(context.Background(), "python3", path)
	if err != nil {
		t.Fatalf("LoadWithMetaflow: %v", err)
	}
	if len(f.Steps) != 2 || f.Steps[1].Name != "end" || f.Steps[1].Pypi == nil || !reflect.DeepEqual(f.Steps[1].Pypi.Packages, map[string]string{"six": "1.16.0"}) {
		t.Fatalf("got %+v, want end with @pypi six 1.16.0 added by the mutator", f.Steps)
	}
}

// A flow that imports what its steps get from @pypi loads with metaflow
// where the module is missing by falling back to the static reader.
func TestLoadFallsBackOnMissingImports(t *testing.T) {
	requireMetaflow(t)
	src := `from metaflow import FlowSpec, step, pypi
import envbuild_surely_not_installed

class F(FlowSpec):
    @pypi(packages={"envbuild-surely-not-installed": "1.0"})
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass
`
	path := writeFlow(t, src)
	_, err := LoadWithMetaflow(context.Background(), "python3", path)
	if err == nil || !strings.HasPrefix(err.Error(), path+":2: metaflow could not load the flow: ModuleNotFoundError") {
		t.Fatalf("LoadWithMetaflow: got %v, want the missing module at line 2", err)
	}
	f, err := Load(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if f.Steps[0].Pypi == nil || f.Steps[0].Pypi.Packages["envbuild-surely-not-installed"] != "1.0" {
		t.Errorf("got %s, want the @pypi read statically", dumpStep(f.Steps[0]))
	}
	// When the static reader cannot read it either, both errors are given.
	path = writeFlow(t, strings.Replace(src, `{"envbuild-surely-not-installed": "1.0"}`, "PKGS", 1))
	_, err = Load(context.Background(), path, Options{})
	if err == nil || !strings.Contains(err.Error(), "ModuleNotFoundError") || !errors.Is(err, ErrComputed) {
		t.Errorf("Load: got %v, want both the import error and the computed argument", err)
	}
}
