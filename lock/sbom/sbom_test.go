package sbom

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/target"
)

func testEnv() *lockfile.Env {
	return &lockfile.Env{Name: "default", Targets: []lockfile.Target{
		{Target: target.Target{Platform: "linux/amd64", Python: "3.11.9"}, Packages: []lockfile.Package{
			{Name: "python", Version: "3.11.9", Source: lockfile.SourceConda, Kind: lockfile.KindConda, Channel: "conda-forge", Subdir: "linux-64", Build: "hb806964_0_cpython", URL: "https://conda.anaconda.org/conda-forge/linux-64/python-3.11.9-hb806964_0_cpython.conda", Filename: "python-3.11.9-hb806964_0_cpython.conda", Sha256: strings.Repeat("1", 64)},
			{Name: "requests", Version: "2.32.3", Source: lockfile.SourcePyPI, Kind: lockfile.KindWheel, URL: "https://files.pythonhosted.org/packages/requests-2.32.3-py3-none-any.whl", Filename: "requests-2.32.3-py3-none-any.whl", Sha256: strings.Repeat("2", 64), Depends: []string{"urllib3"}, Requested: true},
			{Name: "urllib3", Version: "2.2.3", Source: lockfile.SourcePyPI, Kind: lockfile.KindWheel, URL: "https://files.pythonhosted.org/packages/urllib3-2.2.3-py3-none-any.whl", Filename: "urllib3-2.2.3-py3-none-any.whl", Sha256: strings.Repeat("3", 64)},
		}},
		{Target: target.Target{Platform: "linux/arm64", Python: "3.11.9"}, Packages: []lockfile.Package{
			{Name: "requests", Version: "2.32.3", Source: lockfile.SourcePyPI, Kind: lockfile.KindWheel, URL: "https://files.pythonhosted.org/packages/requests-2.32.3-py3-none-any.whl", Filename: "requests-2.32.3-py3-none-any.whl", Sha256: strings.Repeat("2", 64), Depends: []string{"urllib3"}},
			{Name: "urllib3", Version: "2.2.3", Source: lockfile.SourcePyPI, Kind: lockfile.KindWheel, URL: "https://files.pythonhosted.org/packages/urllib3-2.2.3-py3-none-any.whl", Filename: "urllib3-2.2.3-py3-none-any.whl", Sha256: strings.Repeat("3", 64)},
		}},
	}}
}

const digest = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func TestDeterministicAndComplete(t *testing.T) {
	created := time.Unix(0, 0)
	a, err := SPDX(testEnv(), "registry.example.com/team/envs", digest, created)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := SPDX(testEnv(), "registry.example.com/team/envs", digest, created)
	if !bytes.Equal(a, b) {
		t.Fatal("two runs differ")
	}
	other, _ := SPDX(testEnv(), "registry.example.com/team/envs", "sha256:"+strings.Repeat("b", 64), created)
	var da, do document
	json.Unmarshal(a, &da)
	json.Unmarshal(other, &do)
	if da.Namespace == do.Namespace {
		t.Error("the namespace does not depend on the image digest")
	}
	s := string(a)
	for _, want := range []string{
		`"pkg:pypi/requests@2.32.3?file_name=requests-2.32.3-py3-none-any.whl"`,
		`"pkg:conda/python@3.11.9?build=hb806964_0_cpython\u0026channel=conda-forge\u0026subdir=linux-64\u0026type=conda"`,
		`"checksumValue": "` + strings.Repeat("3", 64) + `"`,
		`"relationshipType": "DEPENDS_ON"`,
		"out of scope",
		`"created": "1970-01-01T00:00:00Z"`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %s", want)
		}
	}
	// requests is one file for both platforms: one package.
	if n := strings.Count(s, `"name": "requests"`); n != 1 {
		t.Errorf("requests listed %d times", n)
	}
}

// The document validates with SPDX's own tools (spdx-tools' pyspdxtools,
// which scripts/setup.sh installs; ENVBUILD_PYSPDXTOOLS names another).
func TestValidatesWithSPDXTools(t *testing.T) {
	tool := os.Getenv("ENVBUILD_PYSPDXTOOLS")
	if tool == "" {
		tool, _ = exec.LookPath("pyspdxtools")
	}
	if tool == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("pyspdxtools is not installed (scripts/setup.sh installs spdx-tools)")
		}
		t.Skip("pyspdxtools is not installed: pip install spdx-tools, or set ENVBUILD_PYSPDXTOOLS")
	}
	doc, err := SPDX(testEnv(), "registry.example.com/team/envs", digest, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "sbom.spdx.json")
	os.WriteFile(p, doc, 0o644)
	out, err := exec.Command(tool, "-i", p).CombinedOutput()
	if err != nil {
		t.Fatalf("pyspdxtools: %v\n%s", err, out)
	}
	t.Logf("pyspdxtools: %s", out)
}
