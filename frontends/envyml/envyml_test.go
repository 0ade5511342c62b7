package envyml

import (
	"reflect"
	"strings"
	"testing"
)

func TestEnvironment(t *testing.T) {
	r, err := Load("testdata/environment.yml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "geo-notebooks" || !reflect.DeepEqual(r.Channels, []string{"conda-forge"}) {
		t.Errorf("name %q channels %q", r.Name, r.Channels)
	}
	if want := []string{"python=3.11", "numpy>=1.26,<2", "conda-forge::gdal=3.8", "pandas 2.2.*", "pip"}; !reflect.DeepEqual(r.CondaSpecs, want) {
		t.Errorf("conda: got %q want %q", r.CondaSpecs, want)
	}
	if want := []string{`rich==13.7.1 ; python_version >= "3.8"`, "requests[socks]>=2.31"}; r.Pip == nil || !reflect.DeepEqual(r.Pip.Requirements, want) {
		t.Errorf("pip: got %+v", r.Pip)
	}
	if r.Pip.ExtraIndexURLs[0] != "https://pypi.org/simple" {
		t.Errorf("pip index: %q", r.Pip.ExtraIndexURLs)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"alias", "name: &n x\nchannels: [*n]\ndependencies: [a]\n", "e.yml:1: YAML anchors and aliases"},
		{"bad spec", "dependencies:\n  - numpy\n  - 'numpy >=='\n", "e.yml:3: invalid conda MatchSpec"},
		{"bad pip", "dependencies:\n  - pip:\n    - ok\n    - 'bad >>= 1'\n", "e.yml:4: invalid requirement"},
		{"unknown key", "name: x\nfoo: 1\ndependencies: []\n", "e.yml:2: unknown key \"foo\""},
		{"variables", "variables:\n  A: 1\ndependencies: []\n", "e.yml:1: variables"},
		{"no deps", "name: x\n", "no dependencies"},
		{"syntax", "dependencies: [\n", "e.yml:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src), "e.yml", nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("name: x\nchannels: [conda-forge]\ndependencies:\n  - numpy=1.26\n  - pip:\n    - rich\n")
	// The billion laughs: refused at the first anchor, never expanded.
	f.Add("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\ndependencies: [*c]\n")
	f.Add("dependencies:\n  - pip:\n    - -r ${HOME}/r.txt\n")
	f.Fuzz(func(t *testing.T, src string) {
		_, _ = Parse([]byte(src), "e.yml", nil)
	})
}
