package metaflow

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestStaticErrors(t *testing.T) {
	const computedFix = " is computed at load time"
	tests := []struct {
		name     string
		src      string
		want     string // error text after the file name
		computed bool
	}{
		{
			name:     "a name",
			src:      "class F(FlowSpec):\n    @pypi(packages=PKGS)\n    @step\n    def start(self): pass\n",
			want:     ":2:20: @pypi(packages=…) is computed at load time (PKGS); install metaflow (pip install metaflow) so envbuild can load the flow, or write it as a literal",
			computed: true,
		},
		{
			name:     "a Config attribute",
			src:      "class F(FlowSpec):\n    cfg = Config('cfg')\n    @pypi(python='3.11', packages=cfg.packages)\n    @step\n    def start(self): pass\n",
			want:     ":3:35: @pypi(packages=…)" + computedFix + " (cfg.packages)",
			computed: true,
		},
		{
			name:     "a call in a flow decorator",
			src:      "@pypi_base(packages=config_expr('cfg.pkgs'))\nclass F(FlowSpec):\n    @step\n    def start(self): pass\n",
			want:     ":1:21: @pypi_base(packages=…)" + computedFix + ` (config_expr('cfg.pkgs'))`,
			computed: true,
		},
		{
			name:     "an f-string version",
			src:      "class F(FlowSpec):\n    @pypi(packages={'six': f'{V}'})\n    @step\n    def start(self): pass\n",
			want:     ":2:28: @pypi(packages=…)" + computedFix + " (f-string f'{V}')",
			computed: true,
		},
		{
			name:     "an operator",
			src:      "class F(FlowSpec):\n    @conda(python='3.' + MINOR)\n    @step\n    def start(self): pass\n",
			want:     ":2:19: @conda(python=…)" + computedFix + " ('3.' + MINOR)",
			computed: true,
		},
		{
			name:     "**kwargs",
			src:      "class F(FlowSpec):\n    @pypi(**ARGS)\n    @step\n    def start(self): pass\n",
			want:     ":2:11: @pypi(**ARGS)" + computedFix,
			computed: true,
		},
		{
			name:     "a computed image",
			src:      "class F(FlowSpec):\n    @kubernetes(image=IMAGE)\n    @step\n    def start(self): pass\n",
			want:     ":2:23: @kubernetes(image=…)" + computedFix + " (IMAGE)",
			computed: true,
		},
		{
			name:     "a flow mutator",
			src:      "@WithSix\nclass F(FlowSpec):\n    @step\n    def start(self): pass\n",
			want:     ":1:2: @WithSix on flow F is not one of Metaflow's decorators: it may add or change @pypi/@conda when the flow loads (a mutator or a user decorator); install metaflow (pip install metaflow) so envbuild can load the flow",
			computed: true,
		},
		{
			name:     "a user step decorator",
			src:      "class F(FlowSpec):\n    @my_deco\n    @step\n    def start(self): pass\n",
			want:     ":2:6: @my_deco on step start is not one of Metaflow's decorators",
			computed: true,
		},
		{
			name: "packages of the wrong type",
			src:  "class F(FlowSpec):\n    @pypi(packages=['six'])\n    @step\n    def start(self): pass\n",
			want: `:2:20: @pypi(packages=…) must be a dict of package name to version string, like {"requests": "2.32.3"}, got a list`,
		},
		{
			name: "a version as a number",
			src:  "class F(FlowSpec):\n    @conda(packages={'numpy': 1.10})\n    @step\n    def start(self): pass\n",
			want: `:2:31: @conda(packages=…): the version of "numpy" must be a string: write "1.10" (a number loses digits)`,
		},
		{
			name: "python as a number",
			src:  "class F(FlowSpec):\n    @pypi(python=3.10)\n    @step\n    def start(self): pass\n",
			want: `:2:18: @pypi(python=3.10) must be a string: write python="3.10" (a number loses digits, 3.10 is 3.1)`,
		},
		{
			name: "disabled not a bool",
			src:  "class F(FlowSpec):\n    @pypi(disabled='maybe')\n    @step\n    def start(self): pass\n",
			want: `:2:20: @pypi(disabled=…) must be True or False, got a string`,
		},
		{
			name: "channels as a string",
			src:  "@conda_base(channels='conda-forge')\nclass F(FlowSpec):\n    @step\n    def start(self): pass\n",
			want: `:1:22: @conda_base(channels=…) must be a list of strings: write ["conda-forge"]`,
		},
		{
			name: "an image that is not a string",
			src:  "class F(FlowSpec):\n    @batch(image=3)\n    @step\n    def start(self): pass\n",
			want: `:2:18: @batch(image=…) must be a string such as "python:3.11-slim", got a number`,
		},
		{
			name: "an unknown argument",
			src:  "class F(FlowSpec):\n    @pypi(package={'six': ''})\n    @step\n    def start(self): pass\n",
			want: `:2:19: @pypi does not accept the argument "package"; it accepts packages, python, disabled, extra_indices, sources`,
		},
		{
			name: "a positional argument",
			src:  "class F(FlowSpec):\n    @pypi({'six': ''})\n    @step\n    def start(self): pass\n",
			want: `:2:6: @pypi takes keyword arguments only`,
		},
		{
			name: "a named environment",
			src:  "class F(FlowSpec):\n    @conda(name='team/env')\n    @step\n    def start(self): pass\n",
			want: `:2:17: @conda(name=…) refers to a named environment of metaflow-netflixext, which envbuild cannot build`,
		},
		{
			name: "@kubernetes and @batch on one step",
			src:  "class F(FlowSpec):\n    @kubernetes\n    @batch\n    @step\n    def start(self): pass\n",
			want: `:3:6: step start is marked for both @kubernetes and @batch`,
		},
		{
			name: "a step decorator on the flow",
			src:  "@pypi(packages={})\nclass F(FlowSpec):\n    @step\n    def start(self): pass\n",
			want: `:1:2: @pypi is a step decorator; use @pypi_base on the flow class`,
		},
		{
			name: "an unterminated string",
			src:  "class F(FlowSpec):\n    @pypi(packages={'six: ''})\n    @step\n    def start(self): pass\n",
			want: `:2:28: unterminated string literal`,
		},
		{
			name: "an unterminated triple-quoted string",
			src:  "class F(FlowSpec):\n    '''doc\n    @step\n    def start(self): pass\n",
			want: `:2:5: unterminated triple-quoted string literal`,
		},
		{
			name: "an unclosed parenthesis",
			src:  "class F(FlowSpec):\n    @pypi(packages={'six': ''}\n    @step\n    def start(self): pass\n",
			want: `:2:10: "(" was never closed`,
		},
		{
			name: "a mismatched bracket",
			src:  "class F(FlowSpec):\n    @pypi(packages={'six': ''))\n    @step\n    def start(self): pass\n",
			want: `:2:30: closing parenthesis ")" does not match opening parenthesis "{" at 2:20`,
		},
		{
			name: "a decorator on nothing",
			src:  "class F(FlowSpec):\n    @step\n    x = 1\n",
			want: `:2:5: invalid syntax: a decorator must be followed by def or class`,
		},
		{
			name: "no flow",
			src:  "class F(object):\n    pass\n",
			want: `: no flow found: no class derives from FlowSpec`,
		},
		{
			name: "two flows",
			src:  "class A(FlowSpec):\n    @step\n    def start(self): pass\nclass B(metaflow.FlowSpec):\n    @step\n    def start(self): pass\n",
			want: `:4:1: several flows in one file (A, B)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFlow(t, tt.src)
			_, err := LoadStatic(path)
			if err == nil {
				t.Fatalf("LoadStatic succeeded, want error %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), path+tt.want) {
				t.Errorf("got  %q\nwant %q", err.Error(), path+tt.want)
			}
			var perr *Error
			if !errors.As(err, &perr) {
				t.Errorf("error %T is not a *metaflow.Error", err)
			}
			if got := errors.Is(err, ErrComputed); got != tt.computed {
				t.Errorf("errors.Is(err, ErrComputed) = %v, want %v", got, tt.computed)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.py")
	_, err := LoadStatic(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+": reading the flow file: no such file") {
		t.Fatalf("got %v, want a positioned no such file error", err)
	}
	_, err = Load(t.Context(), path, Options{})
	if err == nil || !strings.HasPrefix(err.Error(), path+": reading the flow file: no such file") {
		t.Fatalf("Load: got %v, want a positioned no such file error", err)
	}
}

// Arguments envbuild does not read may be computed; steps are in file order,
// inherited steps included and overridden by the subclass.
func TestStaticIgnoresOtherArgumentsAndInherits(t *testing.T) {
	src := `import metaflow
from metaflow import FlowSpec, step, pypi, kubernetes
X = {'a': [1, 2]}  # top-level code is not read

class Base(FlowSpec):
    @pypi(packages={'six': ''})
    @step
    def start(self):
        def helper():
            pass
        self.next(self.end)

    @step
    def end(self): pass

class Child(Base):
    @kubernetes(image="img:1", cpu=cpus(), secrets=[s for s in S], **EXTRA_K8S) if False else None
    @step
    def end(self): pass
`
	path := writeFlow(t, src)
	_, err := LoadStatic(path)
	// A conditional decorator expression is only known once the flow loads.
	if err == nil || !errors.Is(err, ErrComputed) || !strings.HasPrefix(err.Error(), path+":17:6: this decorator on step end is not one of Metaflow's decorators") {
		t.Fatalf("got %v, want the conditional decorator refused", err)
	}
	src2 := strings.Replace(src, " if False else None", "", 1)
	path2 := writeFlow(t, src2)
	_, err = LoadStatic(path2)
	if err == nil || !strings.Contains(err.Error(), "@kubernetes(**EXTRA_K8S) is computed") {
		t.Fatalf("got %v, want the **kwargs of @kubernetes reported", err)
	}
	src3 := strings.Replace(src2, ", **EXTRA_K8S", "", 1)
	f, err := LoadStatic(writeFlow(t, src3))
	if err != nil {
		t.Fatalf("LoadStatic: %v", err)
	}
	if f.Name != "Child" || len(f.Steps) != 2 {
		t.Fatalf("got flow %s with %d steps, want Child with 2", f.Name, len(f.Steps))
	}
	if got := f.Steps[0]; got.Name != "start" || got.Pypi == nil || got.Pos.Line != 8 || got.Pos.Col != 5 {
		t.Errorf("got step %+v, want the inherited start at 8:5 with @pypi", got)
	}
	if got := f.Steps[1]; got.Name != "end" || got.Image != "img:1" || got.Pos.Line != 19 {
		t.Errorf("got step %+v, want Child's end at line 19 with image img:1", got)
	}
}
