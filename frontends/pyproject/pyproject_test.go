package pyproject

import (
	"reflect"
	"strings"
	"testing"
)

func TestProject(t *testing.T) {
	r, err := Load("testdata/pyproject.toml", []string{"plots"}, []string{"dev"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"pandas>=2.1,<3", "scikit-learn~=1.4", "requests[socks]>=2.31", "tomli>=2.0; python_version < '3.11'",
		"matplotlib>=3.8",
		"pytest>=8", "pytest-cov", "ruff==0.4.4", "ipython",
	}
	if !reflect.DeepEqual(r.Requirements, want) {
		t.Errorf("got %q\nwant %q", r.Requirements, want)
	}
	if r.RequiresPython != ">=3.10" || r.Name != "churn-model" {
		t.Errorf("requires-python %q name %q", r.RequiresPython, r.Name)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"bad requirement", "[project]\nname='x'\ndependencies = [\n  'ok',\n  'bad >>= 1',\n]\n", "p.toml:5: project.dependencies: invalid requirement"},
		{"unknown extra", "[project]\nname='x'\ndependencies=['a']\n", "--extra nope"},
		{"group cycle", "[dependency-groups]\na = [{include-group = 'b'}]\nb = [{include-group = 'a'}]\n", "includes itself"},
		{"dynamic", "[project]\nname='x'\ndynamic = ['dependencies']\n", "p.toml:3: [project] lists \"dependencies\" as dynamic"},
		{"syntax", "[project\n", "p.toml:"},
		{"nothing", "[tool.x]\na=1\n", "neither a [project] table"},
		{"bad table", "[dependency-groups]\na = [{include = 'b'}]\n", "include-group"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var extras []string
			if tc.name == "unknown extra" {
				extras = []string{"nope"}
			}
			var groups []string
			if strings.Contains(tc.src, "dependency-groups") {
				groups = []string{"a"}
			}
			_, err := Parse([]byte(tc.src), "p.toml", extras, groups)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("[project]\nname='x'\ndependencies=['a>=1; python_version<\"3.12\"']\n[dependency-groups]\na=[{include-group='a'}]\n")
	f.Add("[dependency-groups]\na = [{include-group = 'b'}, 'x']\nb = ['y']\n")
	f.Add("[project]\ndynamic=['dependencies']\n")
	f.Fuzz(func(t *testing.T, src string) {
		_, _ = Parse([]byte(src), "p.toml", []string{"a"}, []string{"a", "b"})
	})
}
