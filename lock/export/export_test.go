package export_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/frontends/uvlock"
	"github.com/envbuild/envbuild/lock"
	"github.com/envbuild/envbuild/lock/export"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/target"
)

// locked is the lock of the uv.lock test project (with its socks extra)
// for the given Python and platforms.
func locked(t *testing.T, python string, platforms ...string) *lockfile.Env {
	t.Helper()
	r, err := uvlock.Load("../../frontends/uvlock/testdata/uv.lock", []string{"socks"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var targets []target.Target
	for _, p := range platforms {
		tt, err := target.FromFlags(python, p, "")
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, tt)
	}
	e, err := lock.Env(context.Background(), lock.Request{Spec: spec.Spec{Name: "default", Resolved: r}, Targets: targets})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestRequirements(t *testing.T) {
	e := locked(t, "3.11", "linux/amd64", "linux/arm64")
	out, err := export.Requirements(e, e.Targets)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	// charset-normalizer has one wheel per machine: both hashes, no marker.
	i := strings.Index(s, "charset-normalizer==")
	block := s[i : i+strings.Index(s[i:], "\nidna")]
	if strings.Count(block, "--hash=sha256:") != 2 || strings.Contains(block, ";") {
		t.Errorf("charset-normalizer:\n%s", block)
	}
	if strings.Contains(s, "://") {
		t.Errorf("URLs in a requirements export:\n%s", s)
	}
}

func TestCondaExplicit(t *testing.T) {
	e := &lockfile.Env{Name: "geo", Targets: []lockfile.Target{{Target: target.Target{Platform: "linux/amd64"}, Packages: []lockfile.Package{
		{Name: "python", Version: "3.11.9", Source: lockfile.SourceConda, Subdir: "linux-64", URL: "https://conda.anaconda.org/conda-forge/linux-64/python-3.11.9-hb806964_0_cpython.conda", Sha256: strings.Repeat("a", 64)},
		{Name: "tzdata", Version: "2024a", Source: lockfile.SourceConda, Subdir: "noarch", URL: "https://conda.anaconda.org/conda-forge/noarch/tzdata-2024a-h0c530f3_0.conda", Sha256: strings.Repeat("b", 64)},
		{Name: "rich", Version: "13.7.1", Source: lockfile.SourcePyPI},
	}}}}
	out, err := export.CondaExplicit(e, e.Targets)
	if err != nil {
		t.Fatal(err)
	}
	want := "# environment \"geo\" for linux/amd64, exported by envbuild from its lock\n" +
		"# its PyPI packages (rich) are not here: install them afterwards from --export requirements\n" +
		"# platform: linux-64\n@EXPLICIT\n" +
		"https://conda.anaconda.org/conda-forge/linux-64/python-3.11.9-hb806964_0_cpython.conda#" + strings.Repeat("a", 64) + "\n" +
		"https://conda.anaconda.org/conda-forge/noarch/tzdata-2024a-h0c530f3_0.conda#" + strings.Repeat("b", 64) + "\n"
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	two := &lockfile.Env{Name: "geo", Targets: append(e.Targets, lockfile.Target{Target: target.Target{Platform: "linux/arm64"}})}
	if _, err := export.CondaExplicit(two, two.Targets); err == nil || !strings.Contains(err.Error(), "--export-platform") {
		t.Errorf("two platforms: %v", err)
	}
	if _, err := export.Pylock(e, e.Targets); err == nil {
		t.Errorf("pylock of a conda environment: no error")
	}
}

// An exported requirements file installs with pip's hash checking and
// gives the locked versions. It asks PyPI: run with ENVBUILD_TEST_PIP=1
// (make test sets ENVBUILD_TEST_UV=1, which runs it too).
func TestRequirementsInstallWithPip(t *testing.T) {
	if os.Getenv("ENVBUILD_TEST_PIP") == "" && os.Getenv("ENVBUILD_TEST_UV") == "" {
		t.Skip("asks PyPI: set ENVBUILD_TEST_PIP=1")
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	v, err := exec.Command(py, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])").Output()
	if err != nil {
		t.Fatal(err)
	}
	e := locked(t, strings.TrimSpace(string(v)), "linux/amd64")
	out, err := export.Requirements(e, e.Targets)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	req := filepath.Join(dir, "requirements.txt")
	if err := os.WriteFile(req, out, 0o644); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "report.json")
	cmd := exec.Command(py, "-m", "pip", "install", "--require-hashes", "--no-deps", "--ignore-installed", "--dry-run", "--quiet", "--report", report, "-r", req)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pip: %v\n%s\n%s", err, b, out)
	}
	var rep struct {
		Install []struct {
			Metadata struct{ Name, Version string } `json:"metadata"`
		} `json:"install"`
	}
	b, _ := os.ReadFile(report)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, i := range rep.Install {
		got = append(got, strings.ToLower(i.Metadata.Name)+"=="+i.Metadata.Version)
	}
	for _, p := range e.Targets[0].Packages {
		want = append(want, p.Name+"=="+p.Version)
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("pip installs %v\nthe lock has %v", got, want)
	}
}

// An exported pylock.toml is read by another PEP 751 installer: uv's
// `uv pip install -r pylock.toml` installs the locked versions. Runs with
// ENVBUILD_TEST_UV=1 (make test) when uv is on PATH.
func TestPylockInstallsWithUV(t *testing.T) {
	if os.Getenv("ENVBUILD_TEST_UV") == "" {
		t.Skip("asks PyPI: set ENVBUILD_TEST_UV=1")
	}
	uv, err := exec.LookPath("uv")
	if err != nil {
		t.Skip("no uv on PATH")
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	v, err := exec.Command(py, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])").Output()
	if err != nil {
		t.Fatal(err)
	}
	e := locked(t, strings.TrimSpace(string(v)), "linux/amd64")
	out, err := export.Pylock(e, e.Targets)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lockPath := filepath.Join(dir, "pylock.toml")
	os.WriteFile(lockPath, out, 0o644)
	venv := filepath.Join(dir, "venv")
	if b, err := exec.Command(uv, "venv", "-q", "-p", py, venv).CombinedOutput(); err != nil {
		t.Fatalf("uv venv: %v\n%s", err, b)
	}
	cmd := exec.Command(uv, "pip", "install", "--dry-run", "-r", lockPath)
	cmd.Env = append(os.Environ(), "VIRTUAL_ENV="+venv)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("uv pip install -r pylock.toml: %v\n%s", err, b)
	}
	for _, p := range e.Targets[0].Packages {
		if !strings.Contains(string(b), " + "+p.Name+"=="+p.Version) {
			t.Errorf("uv would not install %s %s:\n%s", p.Name, p.Version, b)
		}
	}
}
