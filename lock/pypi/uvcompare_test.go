package pypi

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/pypi/index"
	"github.com/envbuild/envbuild/lock/target"
)

// The comparison with uv (issue 3, "done when" 3): locks of the real index
// must choose the versions `uv pip compile` chooses for the same inputs.
// It talks to the index pip is configured with, so it runs only when
// ENVBUILD_TEST_UV=1; uv comes from $PATH, ~/.local/bin, or `pip install
// uv`.

const uvExcludeNewer = "2025-06-01T00:00:00Z"

var uvSpecs = []struct {
	name string
	reqs []string
}{
	{"requests", []string{"requests"}},
	{"pandas scikit-learn matplotlib", []string{"pandas", "scikit-learn", "matplotlib"}},
	{"boto3 botocore<1.30", []string{"boto3", "botocore<1.30"}},
}

var uvTargets = []struct {
	python, platform, uvPlatform string
}{
	{"3.11", "linux/amd64", "x86_64-manylinux_2_28"},
	{"3.12", "linux/arm64", "aarch64-manylinux_2_28"},
}

func findUV(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("uv"); err == nil {
		return p
	}
	home, _ := os.UserHomeDir()
	local := filepath.Join(home, ".local", "bin", "uv")
	if _, err := os.Stat(local); err == nil {
		return local
	}
	out, err := exec.Command("python3", "-m", "pip", "install", "--user", "uv").CombinedOutput()
	if err != nil {
		t.Fatalf("pip install uv: %v\n%s", err, out)
	}
	return local
}

func indexesForTest(t *testing.T) []index.Index {
	t.Helper()
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	idx, err := index.FromPipConfig(env, "", nil)
	if err != nil {
		t.Fatalf("reading pip's configuration: %v", err)
	}
	return idx
}

// uvCompile runs uv pip compile and returns name → version.
func uvCompile(t *testing.T, uv string, reqs []string, python, platform, indexURL, cache string) map[string]string {
	t.Helper()
	cmd := exec.Command(uv, "pip", "compile", "--exclude-newer", uvExcludeNewer, "--python", python3(), "--python-version", python,
		"--python-platform", platform, "--index-url", indexURL, "--no-header", "--no-annotate", "--quiet", "--cache-dir", cache, "-")
	cmd.Stdin = strings.NewReader(strings.Join(reqs, "\n") + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("uv pip compile %v: %v\n%s", reqs, err, stderr.String())
	}
	got := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, version, ok := strings.Cut(line, "==")
		if !ok {
			t.Fatalf("uv pip compile printed %q", line)
		}
		got[name] = strings.TrimSpace(strings.SplitN(version, ";", 2)[0])
	}
	return got
}

// uvConformanceSpecs are the big graphs of `make conformance` (issue 3,
// "done when" 4), compared when ENVBUILD_TEST_UV=conformance.
var uvConformanceSpecs = []struct {
	name string
	reqs []string
}{
	{"apache-airflow", []string{"apache-airflow"}},
	{"torch", []string{"torch"}},
}

func TestCompareWithUV(t *testing.T) {
	specs := uvSpecs
	switch os.Getenv("ENVBUILD_TEST_UV") {
	case "1":
	case "conformance":
		specs = uvConformanceSpecs
	default:
		t.Skip("compares with uv on the real index: set ENVBUILD_TEST_UV=1 (or =conformance for apache-airflow and torch)")
	}
	uv := findUV(t)
	indexes := indexesForTest(t)
	exclude, _ := time.Parse(time.RFC3339, uvExcludeNewer)
	cache := t.TempDir()
	for _, spec := range specs {
		for _, tg := range uvTargets {
			t.Run(spec.name+" "+tg.python+" "+tg.platform, func(t *testing.T) {
				want := uvCompile(t, uv, spec.reqs, tg.python, tg.uvPlatform, indexes[0].URL, filepath.Join(cache, "uv"))
				tgt, err := target.FromFlags(tg.python, tg.platform, "")
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				pkgs, err := Lock(context.Background(), Request{
					Requirements: spec.reqs, Target: tgt, Indexes: indexes,
					CacheDir: filepath.Join(cache, "envbuild"), ExcludeNewer: exclude,
				})
				if err != nil {
					t.Fatalf("Lock: %v", err)
				}
				t.Logf("locked %d packages in %v", len(pkgs), time.Since(start))
				got := map[string]string{}
				for _, p := range pkgs {
					got[p.Name] = p.Version
					if p.Sha256 == "" || p.URL == "" || p.Kind != lockfile.KindWheel {
						t.Errorf("%s %s: incomplete entry %+v", p.Name, p.Version, p)
					}
				}
				var names []string
				for n := range want {
					names = append(names, n)
				}
				for n := range got {
					if _, ok := want[n]; !ok {
						names = append(names, n)
					}
				}
				sort.Strings(names)
				for _, n := range names {
					if got[n] != want[n] {
						t.Errorf("%s: envbuild chose %q, uv %q", n, got[n], want[n])
					}
				}
			})
		}
	}
}

// python3 is the interpreter uv is told to use: without one, uv looks for
// an interpreter of --python-version first, which through pyenv shims can
// take seconds that have nothing to do with resolving.
func python3() string {
	if p, err := exec.LookPath("python3"); err == nil {
		return p
	}
	return "python3"
}
