package app

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.txt from what the commands print")

// A golden script runs command lines, as a user types them, in one
// directory, and its transcript (each command line, its exit code, stdout
// and stderr) must equal testdata/golden/NAME.txt. A step is a command
// line after "envbuild", or one of two pseudo-commands: "cat FILE" (the
// file goes in the transcript) and "write FILE CONTENT".
//
// $PYPI is a PyPI index served by the test ($PYPI/simple), $CONDA a conda
// channel; both are written back as these names, the test's directory as
// $WORK, and durations as $DUR.
type goldenScript struct {
	name  string
	files map[string]string
	steps [][]string
}

var goldenWheels = []wheelFixture{
	{name: "requests", version: "2.30.0", requires: []string{"idna>=2.5,<4"}},
	{name: "requests", version: "2.31.0", requires: []string{"idna>=2.5,<4"}},
	{name: "requests", version: "2.32.3", requires: []string{"idna>=2.5,<4"}},
	{name: "requests", version: "3.0.0", requires: []string{"idna>=2.5,<4"}},
	{name: "idna", version: "3.7"},
	{name: "idna", version: "4.0"},
	{name: "six", version: "1.16.0"},
	{name: "six", version: "1.17.0"},
	{name: "pyonly", version: "1.0"},
	{name: "pyonly", version: "2.0", requiresPython: ">=3.12"},
}

var goldenScripts = []goldenScript{
	{name: "top", steps: [][]string{
		{"--help"},
		{"--version"},
		{"flow", "build", "--help"},
	}},
	{name: "usage-errors", steps: [][]string{
		{"biuld"},
		{"build", "--no-such-flag"},
		{"build"},
		{"lock", "--pypi", "six", "--python", "3.11", "--platform", "windows/amd64"},
		{"lock", "--pypi", "six", "--python", "3.11", "--exclude-newer", "yesterday"},
		{"build", "--locked", "--frozen", "--pypi", "six"},
		{"flow", "build"},
		{"flow", "build", "--with", "kubernetes:cpu", "flow.py"},
		{"flow", "build", "--locked", "--frozen", "flow.py"},
		{"completion"},
		{"completion", "tcsh"},
		{"help", "nosuch"},
	}},
	{name: "requirements-with-commas", steps: [][]string{
		{"lock", "--python", "3.11", "--index-url", "$PYPI/simple", "--pypi", "requests>=2.31,<3", "--pypi", "six>=1.16,<1.17", "--platform", "linux/amd64,linux/arm64"},
		{"cat", "envbuild.lock"},
		{"lock", "--check", "--python", "3.11", "--index-url", "$PYPI/simple", "--pypi", "requests>=2.31,<3", "--pypi", "six>=1.16,<1.17", "--platform", "linux/amd64", "--platform", "linux/arm64"},
		{"lock", "--check", "--python", "3.11", "--index-url", "$PYPI/simple", "--pypi", "requests>=2.31,<3", "--pypi", "six>=1.16,<1.17"},
	}},
	{name: "conda-python-pin", steps: [][]string{
		{"lock", "--channel", "$CONDA", "--conda", "python=3.6", "--conda", "six"},
		{"cat", "envbuild.lock"},
		{"lock", "--lock", "range.lock", "--channel", "$CONDA", "--conda", "python>=3.10,<3.12", "--index-url", "$PYPI/simple", "--pypi", "pyonly", "--json"},
		{"lock", "--lock", "agree.lock", "--channel", "$CONDA", "--python", "3.11", "--conda", "python>=3.10"},
		{"lock", "--lock", "conflict.lock", "--channel", "$CONDA", "--python", "3.12", "--conda", "python>=3.10,<3.12"},
		{"lock", "--lock", "nopython.lock", "--channel", "$CONDA", "--conda", "six"},
	}},
	{name: "lock-policy", files: map[string]string{
		"envbuild.toml": "python = \"3.11\"\n\n[pypi]\npackages = { six = \"1.16.0\" }\nindex_url = \"$PYPI/simple\"\n",
	}, steps: [][]string{
		{"build", "--locked", "--base", "localhost:1/none:1"},
		{"build", "--frozen", "--base", "localhost:1/none:1"},
		{"lock"},
		{"lock", "--locked"},
		{"write", "envbuild.toml", "python = \"3.11\"\n\n[pypi]\npackages = { six = \"1.17.0\" }\nindex_url = \"$PYPI/simple\"\n"},
		{"lock", "--locked"},
		{"build", "--locked", "--base", "localhost:1/none:1"},
		// --frozen takes the stale lock as it is and goes on, to the
		// base (an address nothing answers): exit 4, not 3.
		{"build", "--frozen", "--base", "localhost:1/none:1"},
		{"cat", "envbuild.lock"},
	}},
	{name: "envbuild-toml-merge", files: map[string]string{
		"envbuild.toml": `python = "3.11"

[pypi]
packages = { six = "", idna = "3.7" }
index_url = "$PYPI/simple"

[envs.train.pypi]
packages = { requests = ">=2.31,<3" }

[envs.serve.pypi]
packages = { six = "1.17.0" }
`,
		"list.toml":   "[pypi]\npackages = [\"six\"]\n",
		"string.toml": "python = \"3.11\"\n[envs.x.pypi]\npackages = \"six==1.16.0\"\n",
	}, steps: [][]string{
		{"lock"},
		{"lock", "--env", "train"},
		{"lock", "--env", "serve"},
		{"cat", "envbuild.lock"},
		{"lock", "--env", "nope"},
		{"lock", "--file", "list.toml"},
		{"lock", "--file", "string.toml"},
	}},
	{name: "completion", steps: [][]string{
		{"completion", "bash"},
		{"__complete", "build", "--pl"},
		{"__complete", "lock", "--platform", ""},
	}},
}

var (
	durationRE = regexp.MustCompile(`\bin [0-9.]+(µs|ms|s|m)\b`)
	// A spec's digest covers its index and channel URLs, whose ports
	// change from run to run.
	specDigestRE = regexp.MustCompile(`("?spec-digest"?\s*[=:]\s*")sha256:[0-9a-f]{64}`)
)

// normalize hides what changes from run to run.
func normalize(s string) string {
	s = durationRE.ReplaceAllString(s, "in $$DUR")
	return specDigestRE.ReplaceAllString(s, "${1}sha256:$$DIGEST")
}

func TestGolden(t *testing.T) {
	isolate(t)
	pypi := strings.TrimSuffix(pypiIndex(t, goldenWheels), "/simple")
	conda := condaChannel(t)
	expand := strings.NewReplacer("$PYPI", pypi, "$CONDA", conda)
	for _, sc := range goldenScripts {
		t.Run(sc.name, func(t *testing.T) {
			dir := t.TempDir()
			hide := strings.NewReplacer(dir, "$WORK", pypi, "$PYPI", conda, "$CONDA")
			for name, body := range sc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(expand.Replace(body)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var b strings.Builder
			for _, step := range sc.steps {
				switch step[0] {
				case "cat":
					data, err := os.ReadFile(filepath.Join(dir, step[1]))
					if err != nil {
						fmt.Fprintf(&b, "$ cat %s\n%v\n\n", step[1], err)
						continue
					}
					fmt.Fprintf(&b, "$ cat %s\n%s\n", step[1], normalize(hide.Replace(string(data))))
					continue
				case "write":
					if err := os.WriteFile(filepath.Join(dir, step[1]), []byte(expand.Replace(step[2])), 0o644); err != nil {
						t.Fatal(err)
					}
					fmt.Fprintf(&b, "$ write %s\n%s\n", step[1], step[2])
					continue
				}
				args := make([]string, len(step))
				for i, a := range step {
					args[i] = expand.Replace(a)
				}
				code, stdout, stderr := runMain(t, dir, args...)
				fmt.Fprintf(&b, "$ envbuild %s\n[exit %d]\n", shellQuote(step), code)
				for _, out := range []struct{ name, text string }{{"stdout", stdout}, {"stderr", stderr}} {
					if out.text == "" {
						continue
					}
					text := normalize(hide.Replace(out.text))
					fmt.Fprintf(&b, "-- %s --\n%s", out.name, text)
					if !strings.HasSuffix(text, "\n") {
						b.WriteString("\n")
					}
				}
				b.WriteString("\n")
			}
			path := filepath.Join("testdata", "golden", sc.name+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update to write it)", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("%s differs from the transcript (go test -run TestGolden -update rewrites it; review the diff):\n%s", path, lineDiff(string(want), got))
			}
		})
	}
}

// shellQuote writes args as a user would type them.
func shellQuote(args []string) string {
	safe := regexp.MustCompile(`^[A-Za-z0-9_./:=@+,$-]+$`)
	out := make([]string, len(args))
	for i, a := range args {
		if safe.MatchString(a) {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}

// lineDiff shows the first lines where want and got differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want %q\n  got  %q", i+1, wl, gl)
		}
	}
	return ""
}
