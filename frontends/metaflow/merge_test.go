package metaflow

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeFlow writes src as flow.py in a temporary directory.
func writeFlow(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "flow.py")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func boolp(b bool) *bool { return &b }

// flowSrc wraps step definitions in a flow class with flow decorators.
func flowSrc(flowDecos, steps string) string {
	return "from metaflow import *\n\n" + flowDecos + "class F(FlowSpec):\n" + steps
}

func TestMergeRules(t *testing.T) {
	tests := []struct {
		name       string
		flowDecos  string
		steps      string
		allowMixed bool
		want       map[string]Step // by step name; Pos and Name not compared
	}{
		{
			name:      "step packages over flow packages, python from the step",
			flowDecos: "@pypi_base(packages={'requests': '2.31.0', 'six': ''}, python='3.10')\n",
			steps: `    @pypi(packages={'requests': '2.32.3'}, python='3.12')
    @step
    def start(self): pass
`,
			want: map[string]Step{"start": {Pypi: &Decorator{Kind: "pypi", Packages: map[string]string{"requests": "2.32.3", "six": ""}, Python: "3.12"}, Python: "3.12"}},
		},
		{
			name:      "python from the flow when the step's is unset or empty",
			flowDecos: "@pypi_base(python='3.10')\n",
			steps: `    @pypi(python='')
    @step
    def start(self): pass
    @pypi(packages={'six': ''})
    @step
    def end(self): pass
`,
			want: map[string]Step{
				"start": {Pypi: &Decorator{Kind: "pypi", Packages: map[string]string{}, Python: "3.10"}, Python: "3.10"},
				"end":   {Pypi: &Decorator{Kind: "pypi", Packages: map[string]string{"six": ""}, Python: "3.10"}, Python: "3.10"},
			},
		},
		{
			name:      "a step without @pypi gets the flow's (pypi_base attaches @pypi to every step)",
			flowDecos: "@pypi_base(packages={'six': '1.16.0'})\n",
			steps: `    @step
    def start(self): pass
`,
			want: map[string]Step{"start": {Pypi: &Decorator{Kind: "pypi", Packages: map[string]string{"six": "1.16.0"}}}},
		},
		{
			name:      "disabled from the step when set, else from the flow",
			flowDecos: "@pypi_base(packages={'six': ''}, disabled=True)\n",
			steps: `    @pypi(disabled=False, packages={'pyyaml': ''})
    @step
    def start(self): pass
    @step
    def end(self): pass
`,
			want: map[string]Step{
				"start": {Pypi: &Decorator{Kind: "pypi", Packages: map[string]string{"six": "", "pyyaml": ""}, Disabled: boolp(false)}},
				"end":   {Pypi: &Decorator{Kind: "pypi", Packages: map[string]string{"six": ""}, Disabled: boolp(true)}, Disabled: true},
			},
		},
		{
			name: "conda libraries are folded into packages, packages win",
			steps: `    @conda(libraries={'numpy': '1.25', 'zlib': ''}, packages={'numpy': '1.26'}, python='3.11')
    @step
    def start(self): pass
`,
			want: map[string]Step{"start": {Conda: &Decorator{Kind: "conda", Packages: map[string]string{"numpy": "1.26", "zlib": ""}, Python: "3.11"}, Python: "3.11"}},
		},
		{
			name:      "conda_base with libraries and channel::pkg keys",
			flowDecos: "@conda_base(libraries={'conda-forge::zlib': '>=1.2'}, python='3.11')\n",
			steps: `    @conda(packages={'six': ''})
    @step
    def start(self): pass
`,
			want: map[string]Step{"start": {Conda: &Decorator{Kind: "conda", Packages: map[string]string{"conda-forge::zlib": ">=1.2", "six": ""}, Python: "3.11"}, Python: "3.11"}},
		},
		{
			name:      "extension attributes: channels, extra_indices and sources, flow's first",
			flowDecos: "@conda_base(channels=['conda-forge'])\n@pypi_base(extra_indices=['https://a.example/simple'])\n",
			steps: `    @pypi(sources=['https://b.example/simple'], extra_indices=['https://a.example/simple'])
    @step
    def start(self): pass
`,
			allowMixed: true,
			want: map[string]Step{"start": {
				Pypi:  &Decorator{Kind: "pypi", Packages: map[string]string{}, ExtraIndices: []string{"https://a.example/simple", "https://b.example/simple"}},
				Conda: &Decorator{Kind: "conda", Packages: map[string]string{}, Channels: []string{"conda-forge"}},
			}},
		},
		{
			name: "python is @pypi's, else @conda's",
			steps: `    @conda(python='3.9')
    @pypi(packages={'six': ''})
    @step
    def start(self): pass
`,
			want: map[string]Step{"start": {
				Pypi:   &Decorator{Kind: "pypi", Packages: map[string]string{"six": ""}},
				Conda:  &Decorator{Kind: "conda", Packages: map[string]string{}, Python: "3.9"},
				Python: "3.9",
			}},
		},
		{
			name: "any disabled environment decorator disables the step",
			steps: `    @conda(packages={'zlib': ''})
    @pypi(disabled=True)
    @step
    def start(self): pass
`,
			want: map[string]Step{"start": {
				Pypi:     &Decorator{Kind: "pypi", Packages: map[string]string{}, Disabled: boolp(true)},
				Conda:    &Decorator{Kind: "conda", Packages: map[string]string{"zlib": ""}},
				Disabled: true,
			}},
		},
		{
			name: "mixed mode keeps both",
			steps: `    @conda(packages={'zlib': ''}, pip_packages={'six': '1.16.0'})
    @pypi(packages={'pyyaml': ''})
    @step
    def start(self): pass
`,
			allowMixed: true,
			want: map[string]Step{"start": {
				Pypi:  &Decorator{Kind: "pypi", Packages: map[string]string{"pyyaml": ""}},
				Conda: &Decorator{Kind: "conda", Packages: map[string]string{"zlib": ""}, PipPackages: map[string]string{"six": "1.16.0"}},
			}},
		},
		{
			name: "images from @kubernetes and @batch",
			steps: `    @kubernetes(image='ml/base:1', cpu=compute_cpus())
    @step
    def start(self): pass
    @batch(image="registry.example.com/ml/base@sha256:abc")
    @step
    def mid(self): pass
    @kubernetes
    @step
    def end(self): pass
`,
			want: map[string]Step{
				"start": {Image: "ml/base:1", ImageFrom: "kubernetes"},
				"mid":   {Image: "registry.example.com/ml/base@sha256:abc", ImageFrom: "batch"},
				"end":   {ImageFrom: "kubernetes"},
			},
		},
		{
			name: "dotted decorator names and literal forms",
			steps: `    @metaflow.pypi(
        packages={
            # a comment
            "requests": ">=2." "31",  # implicit concatenation
            'six': """""",
            r'py\yaml': '',
        },
        python = \
            '3.11',
    )
    @metaflow.step
    async def start(self): pass
`,
			want: map[string]Step{"start": {Pypi: &Decorator{Kind: "pypi", Packages: map[string]string{"requests": ">=2.31", "six": "", `py\yaml`: ""}, Python: "3.11"}, Python: "3.11"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFlow(t, flowSrc(tt.flowDecos, tt.steps))
			src, _ := os.ReadFile(path)
			raw, err := parseFlowSource(path, src)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			flow, err := buildFlow(path, raw, Options{AllowMixed: tt.allowMixed})
			if err != nil {
				t.Fatalf("buildFlow: %v", err)
			}
			if len(flow.Steps) != len(tt.want) {
				t.Fatalf("got %d steps, want %d", len(flow.Steps), len(tt.want))
			}
			for _, got := range flow.Steps {
				want, ok := tt.want[got.Name]
				if !ok {
					t.Fatalf("unexpected step %q", got.Name)
				}
				want.Name, want.Pos = got.Name, got.Pos
				if !reflect.DeepEqual(got, want) {
					t.Errorf("step %s:\n got %s\nwant %s", got.Name, dumpStep(got), dumpStep(want))
				}
			}
		})
	}
}

func dumpStep(s Step) string {
	d := func(x *Decorator) string {
		if x == nil {
			return "nil"
		}
		dis := "nil"
		if x.Disabled != nil {
			dis = map[bool]string{true: "true", false: "false"}[*x.Disabled]
		}
		return strings.ReplaceAll(
			"{"+x.Kind+" packages="+mapStr(x.Packages)+" python="+x.Python+" channels="+strings.Join(x.Channels, ",")+
				" indices="+strings.Join(x.ExtraIndices, ",")+" pip="+mapStr(x.PipPackages)+" disabled="+dis+"}", "\n", " ")
	}
	return "pypi=" + d(s.Pypi) + " conda=" + d(s.Conda) + " disabled=" + map[bool]string{true: "true", false: "false"}[s.Disabled] +
		" python=" + s.Python + " image=" + s.Image + " from=" + s.ImageFrom
}

func mapStr(m map[string]string) string {
	if m == nil {
		return "nil"
	}
	var parts []string
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	sortStrings(parts)
	return "{" + strings.Join(parts, " ") + "}"
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestMixedRefused(t *testing.T) {
	tests := []struct {
		name, flowDecos, steps, want string
	}{
		{
			name: "@pypi and @conda packages on one step",
			steps: `    @pypi(packages={'six': ''})
    @conda(packages={'zlib': ''})
    @step
    def start(self): pass
`,
			want: ":5:6: step start mixes @pypi with @conda packages (zlib); Metaflow refuses this",
		},
		{
			name:      "@conda step in a @pypi_base flow",
			flowDecos: "@pypi_base(packages={'requests': ''})\n",
			steps: `    @conda(packages={'zlib': ''})
    @step
    def start(self): pass
`,
			want: ":5:6: step start mixes @pypi (added by the flow's @pypi_base) with @conda packages (zlib)",
		},
		{
			name: "@conda pip_packages next to conda packages",
			steps: `    @conda(packages={'zlib': ''}, pip_packages={'six': ''})
    @step
    def start(self): pass
`,
			want: ":4:6: step start mixes @conda(pip_packages=…) with @conda packages (zlib)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFlow(t, flowSrc(tt.flowDecos, tt.steps))
			_, err := LoadStatic(path)
			if err == nil || !strings.Contains(err.Error(), path+tt.want) {
				t.Fatalf("got error %v\nwant it to contain %q", err, path+tt.want)
			}
			if !strings.Contains(err.Error(), "--allow-mixed") {
				t.Errorf("error %q does not say how to allow mixed environments", err)
			}
		})
	}
	// Not mixed: @conda only sets python next to @pypi, or the step is disabled.
	for _, steps := range []string{
		"    @conda(python='3.11')\n    @pypi(packages={'six': ''})\n    @step\n    def start(self): pass\n",
		"    @conda(packages={'zlib': ''})\n    @pypi(disabled=True)\n    @step\n    def start(self): pass\n",
	} {
		if _, err := LoadStatic(writeFlow(t, flowSrc("", steps))); err != nil {
			t.Errorf("LoadStatic(%q): %v", steps, err)
		}
	}
}
