package envtoml

import (
	"reflect"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/lock/failure"
)

func TestParseContractExample(t *testing.T) {
	src := `python = "3.11"
base = "ml/base:2024.06"
platforms = ["linux/amd64", "linux/arm64"]
repository = "registry.example.com/team/envs"

[pypi]
packages = { pandas = "2.2.2", requests = ">=2.31", "scikit-learn" = "" }
index_url = "https://pypi.example.com/simple"
extra_index_urls = []

[conda]
packages = { numpy = "1.26", "conda-forge::libgdal" = ">=3.8" }
channels = ["conda-forge"]
`
	specs, err := Parse("envbuild.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 1 || specs[0].Name != "default" {
		t.Fatalf("got %d specs, want one named default", len(specs))
	}
	s := specs[0]
	if want := []string{"pandas==2.2.2", "requests>=2.31", "scikit-learn"}; !reflect.DeepEqual(s.PyPI.Requirements, want) {
		t.Errorf("pypi = %q, want %q", s.PyPI.Requirements, want)
	}
	if want := []string{"conda-forge::libgdal>=3.8", "numpy==1.26"}; !reflect.DeepEqual(s.Conda.Specs, want) {
		t.Errorf("conda = %q, want %q", s.Conda.Specs, want)
	}
	if s.Python != "3.11" || s.Base != "ml/base:2024.06" || s.Repository != "registry.example.com/team/envs" || len(s.Platforms) != 2 {
		t.Errorf("top-level keys not read: %+v", s)
	}
	if s.PyPI.IndexURL != "https://pypi.example.com/simple" || s.Conda.Channels[0] != "conda-forge" {
		t.Errorf("index or channels not read: %+v", s)
	}
}

func TestNamedEnvsInherit(t *testing.T) {
	src := `python = "3.11"
base = "b:1"
[envs.train]
python = "3.12"
[envs.train.pypi]
packages = { torch = "" }
[envs.serve.pypi]
packages = { flask = "3.0" }
`
	specs, err := Parse("envbuild.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 || specs[0].Name != "serve" || specs[1].Name != "train" {
		t.Fatalf("got %+v", specs)
	}
	if specs[0].Python != "3.11" || specs[1].Python != "3.12" || specs[0].Base != "b:1" {
		t.Errorf("defaults not inherited or not overridden: %+v", specs)
	}
	if specs[0].PyPI.Requirements[0] != "flask==3.0" {
		t.Errorf("serve pypi = %q", specs[0].PyPI.Requirements)
	}
}

func TestErrorsHavePositions(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"unknown top key", "python = \"3.11\"\npyhton = \"3.12\"\n", `envbuild.toml:2:1: unknown key "pyhton"`},
		{"unknown table key", "[pypi]\npackages = {}\n  index_urls = \"x\"\n", `envbuild.toml:3:3: unknown key "pypi.index_urls"`},
		{"unknown table", "[pipy]\npackages = {}\n", `envbuild.toml:1:2: unknown key "pipy`},
		{"syntax", "python = \"3.11\nbase = 1\n", "envbuild.toml:1:"},
		{"wrong type", "platforms = \"linux/amd64\"\n", "envbuild.toml:1:"},
		{"bad platform", "platforms = [\"windows/amd64\"]\n", `platform "windows/amd64" is not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("envbuild.toml", []byte(tc.src))
			if err == nil {
				t.Fatalf("no error for %q", tc.src)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if failure.KindOf(err) != failure.KindUser {
				t.Errorf("error kind %d, want user (1)", failure.KindOf(err))
			}
		})
	}
}
