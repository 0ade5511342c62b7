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
		// A package is reported as written, where it is written.
		{"pypi version as written", "python = \"3.11\"\n[pypi]\npackages = { six = \"==>1.0\" }\n", `envbuild.toml:3:14: [pypi] packages: "six" = "==>1.0": `},
		{"bad pypi version", "[envs.a.pypi]\npackages = { six = \">=1.0;;\" }\n", `envbuild.toml:2:14: [pypi] packages: "six" = ">=1.0;;": `},
		{"bad conda version", "[conda]\npackages = { numpy = \">=1.((\" }\n", `envbuild.toml:2:14: [conda] packages: "numpy" = ">=1.((": `},
		{"long version", "[pypi]\npackages = { six = \"<" + strings.Repeat("1", 5000) + ";\" }\n", `"six" = "<` + strings.Repeat("1", 199) + `…"`},
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

// The top-level [pypi] and [conda] merge into each environment's own, as
// Metaflow merges @pypi_base into @pypi.
func TestTopLevelTablesMergeIntoEnvs(t *testing.T) {
	src := `python = "3.11"
[pypi]
packages = { requests = ">=2.31", Scikit_Learn = "1.4", six = "" }
index_url = "https://pypi.example.com/simple"
extra_index_urls = ["https://extra.example.com/simple"]

[conda]
packages = { numpy = "1.26", "conda-forge::libgdal" = ">=3.8" }
channels = ["conda-forge"]

[envs.train.pypi]
packages = { torch = "", scikit-learn = "1.5" }

[envs.serve.pypi]
packages = { flask = "3.0", requests = "2.32.3" }
index_url = "https://private.example.com/simple"
extra_index_urls = []

[envs.serve.conda]
packages = { libgdal = "3.9" }
channels = ["bioconda"]

[envs.plain]
python = "3.12"
`
	specs, err := Parse("envbuild.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]int{}
	for i, s := range specs {
		byName[s.Name] = i
	}
	plain, serve, train := specs[byName["plain"]], specs[byName["serve"]], specs[byName["train"]]

	if want := []string{"requests>=2.31", "scikit-learn==1.5", "six", "torch"}; !reflect.DeepEqual(train.PyPI.Requirements, want) {
		t.Errorf("train pypi %q, want %q (the environment's scikit-learn wins, whatever its spelling)", train.PyPI.Requirements, want)
	}
	if train.PyPI.IndexURL != "https://pypi.example.com/simple" || !reflect.DeepEqual(train.PyPI.ExtraIndexURLs, []string{"https://extra.example.com/simple"}) {
		t.Errorf("train indexes %q %q: want the top-level ones inherited", train.PyPI.IndexURL, train.PyPI.ExtraIndexURLs)
	}
	if want := []string{"conda-forge::libgdal>=3.8", "numpy==1.26"}; !reflect.DeepEqual(train.Conda.Specs, want) || !reflect.DeepEqual(train.Conda.Channels, []string{"conda-forge"}) {
		t.Errorf("train conda %q %q: want the top-level table", train.Conda.Specs, train.Conda.Channels)
	}

	if want := []string{"Scikit_Learn==1.4", "flask==3.0", "requests==2.32.3", "six"}; !reflect.DeepEqual(serve.PyPI.Requirements, want) {
		t.Errorf("serve pypi %q, want %q", serve.PyPI.Requirements, want)
	}
	if serve.PyPI.IndexURL != "https://private.example.com/simple" || len(serve.PyPI.ExtraIndexURLs) != 0 {
		t.Errorf("serve indexes %q %q: want its own, and no extra index (it set [])", serve.PyPI.IndexURL, serve.PyPI.ExtraIndexURLs)
	}
	if want := []string{"libgdal==3.9", "numpy==1.26"}; !reflect.DeepEqual(serve.Conda.Specs, want) || !reflect.DeepEqual(serve.Conda.Channels, []string{"bioconda"}) {
		t.Errorf("serve conda %q %q, want %q and its own channels", serve.Conda.Specs, serve.Conda.Channels, want)
	}

	if plain.Python != "3.12" || len(plain.PyPI.Requirements) != 3 || plain.PyPI.IndexURL != "https://pypi.example.com/simple" || len(plain.Conda.Specs) != 2 {
		t.Errorf("plain %+v: want the top-level tables whole", plain)
	}
}

// packages as a list or a string is an error with its position, not an
// empty environment.
func TestPackagesMustBeATable(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"pypi list", "[pypi]\npackages = [\"six\"]\n", `envbuild.toml:2:1: pypi.packages is a list; write a table`},
		{"pypi string", "python = \"3.11\"\n[pypi]\npackages = \"six==1.16.0\"\n", `envbuild.toml:3:1: pypi.packages is a string; write a table`},
		{"conda list", "[conda]\n  packages = [\"numpy\"]\n", `envbuild.toml:2:3: conda.packages is a list; write a table`},
		{"env's pypi list", "[envs.train.pypi]\npackages = [\"torch\"]\n", `envbuild.toml:2:1: envs.train.pypi.packages is a list; write a table`},
		{"inline env table", "[envs.train]\npypi = { packages = \"torch\" }\n", `envs.train.pypi.packages is a string; write a table`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("envbuild.toml", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) || failure.KindOf(err) != failure.KindUser {
				t.Errorf("error %v; want a user error containing %q", err, tc.want)
			}
		})
	}
	// Tables, inline or not, are fine.
	for _, src := range []string{"[pypi]\npackages = { six = \"\" }\n", "[pypi.packages]\nsix = \"1.16.0\"\n", "[pypi]\npackages = {}\n"} {
		if _, err := Parse("envbuild.toml", []byte(src)); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
}
