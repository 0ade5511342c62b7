package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/integration/testbed"
	"github.com/envbuild/envbuild/lock/lockfile"
)

// An image built from a requirements file carries its lock and SBOM as
// OCI referrers: on the test bed's registry (CNCF Distribution, without
// the referrers API) through the sha256-<hex> tag schema. `inspect`
// gives back the lock the build wrote, and `sbom` lists every package.
func TestInspectAndSBOM(t *testing.T) {
	bed := testbed.Require(t)
	dir := t.TempDir()
	repo := bed.Registry + "/envs/inspect"
	reqs := "# the service's requirements\nsix==1.16.0 \\\n    --hash=sha256:8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254\nattrs==23.2.0  ; python_version >= \"3.8\"\ncolorama ; sys_platform == \"win32\"\n"
	if err := os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte(reqs), 0o644); err != nil {
		t.Fatal(err)
	}
	res := mustBuild(t, dir, nil, "-r", "requirements.txt", "--base", bed.Base, "--registry", repo)
	if !strings.Contains(strings.Join(listTags(t, repo), " "), "sha256-"+strings.TrimPrefix(res.Digest, "sha256:")) {
		t.Errorf("no referrers fallback tag for %s in %v", res.Digest, listTags(t, repo))
	}
	lf, err := lockfile.Read(filepath.Join(dir, "envbuild.lock"))
	if err != nil || lf == nil {
		t.Fatalf("reading the lock: %v", err)
	}

	r := envbuild(t, dir, nil, "inspect", "--json", res.Image)
	if r.code != 0 {
		t.Fatalf("inspect: exit %d\n%s", r.code, r.stderr)
	}
	var got struct {
		Image, Digest string
		Env           lockfile.Env
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.Digest != res.Digest || !reflect.DeepEqual(got.Env, *lf.Env("default")) {
		t.Errorf("inspect gives\n%+v\nthe lock has\n%+v", got, *lf.Env("default"))
	}
	if r := envbuild(t, dir, nil, "inspect", res.Image); r.code != 0 || !strings.Contains(r.stdout, "six *") || !strings.Contains(r.stdout, "from base") {
		t.Errorf("inspect text: exit %d\n%s", r.code, r.stdout)
	}

	r = envbuild(t, dir, nil, "sbom", res.Image)
	if r.code != 0 || strings.Contains(r.stderr, "made from its attached lock") {
		t.Fatalf("sbom: exit %d\n%s", r.code, r.stderr)
	}
	var doc struct {
		SPDXVersion string `json:"spdxVersion"`
		Packages    []struct {
			Name, VersionInfo string
			Checksums         []struct{ ChecksumValue string }
			ExternalRefs      []struct{ ReferenceLocator string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.SPDXVersion != "SPDX-2.3" {
		t.Fatalf("sbom is not SPDX 2.3 JSON: %v", err)
	}
	for _, p := range lf.Env("default").Targets[0].Packages {
		found := false
		for _, sp := range doc.Packages {
			if sp.Name == p.Name && sp.VersionInfo == p.Version && len(sp.Checksums) == 1 && sp.Checksums[0].ChecksumValue == p.Sha256 && len(sp.ExternalRefs) == 1 && strings.HasPrefix(sp.ExternalRefs[0].ReferenceLocator, "pkg:pypi/"+p.Name+"@"+p.Version) {
				found = true
			}
		}
		if !found {
			t.Errorf("the SBOM lacks %s %s %s", p.Name, p.Version, p.Sha256)
		}
	}
	if tool := os.Getenv("ENVBUILD_PYSPDXTOOLS"); tool != "" {
		p := filepath.Join(dir, "sbom.spdx.json")
		os.WriteFile(p, []byte(r.stdout), 0o644)
		if out, err := exec.Command(tool, "-i", p).CombinedOutput(); err != nil {
			t.Errorf("pyspdxtools: %v\n%s", err, out)
		}
	}

	// An image without an attached lock is exit 1, named.
	if r := envbuild(t, dir, nil, "inspect", bed.Base); r.code != 1 || !strings.Contains(r.stderr, "has no envbuild lock attached") {
		t.Errorf("inspect of the base: exit %d %s", r.code, r.stderr)
	}

	// The same image copied without its referrers (as one pushed by an
	// envbuild before inspect): the build finds it cached and attaches
	// the lock it lacked, once.
	bare := bed.Registry + "/envs/inspect-bare"
	tag := res.Image[strings.LastIndex(res.Image[:strings.Index(res.Image, "@")], ":"):strings.Index(res.Image, "@")]
	copyImage(t, res.Image, bare+tag)
	if r := envbuild(t, dir, nil, "inspect", bare+tag); r.code != 1 {
		t.Fatalf("the copy has a lock already: exit %d", r.code)
	}
	again := envbuild(t, dir, nil, "build", "--json", "-r", "requirements.txt", "--base", bed.Base, "--registry", bare)
	if again.code != 0 || !strings.Contains(again.stderr, "which had none") {
		t.Fatalf("cached build: exit %d\n%s", again.code, again.stderr)
	}
	if r := envbuild(t, dir, nil, "inspect", "--json", bare+tag); r.code != 0 || !strings.Contains(r.stdout, `"name":"six"`) {
		t.Errorf("inspect after the cached build: exit %d %s", r.code, r.stdout)
	}
	if third := envbuild(t, dir, nil, "build", "-r", "requirements.txt", "--base", bed.Base, "--registry", bare); third.code != 0 || strings.Contains(third.stderr, "which had none") {
		t.Errorf("a third build attached again: exit %d\n%s", third.code, third.stderr)
	}
}

// A two-platform image: the lock and SBOM refer to its manifest list, and
// inspect shows both platforms' targets.
func TestInspectMultiPlatform(t *testing.T) {
	bed := testbed.Require(t)
	dir := t.TempDir()
	repo := bed.Registry + "/envs/inspect-multi"
	res := mustBuild(t, dir, nil, "--pypi", "six==1.16.0", "--base", bed.BaseMulti, "--registry", repo, "--platform", "linux/amd64,linux/arm64")
	lf, err := lockfile.Read(filepath.Join(dir, "envbuild.lock"))
	if err != nil || lf == nil {
		t.Fatalf("reading the lock: %v", err)
	}
	r := envbuild(t, dir, nil, "inspect", "--lock", res.Image)
	if r.code != 0 {
		t.Fatalf("inspect --lock: exit %d %s", r.code, r.stderr)
	}
	got, err := lockfile.Parse("attached", []byte(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Envs, lf.Envs) || len(got.Envs[0].Targets) != 2 {
		t.Errorf("attached lock\n%+v\nwritten lock\n%+v", got.Envs, lf.Envs)
	}
	if r := envbuild(t, dir, nil, "sbom", res.Image); r.code != 0 || !strings.Contains(r.stdout, "for linux/amd64, linux/arm64") {
		t.Errorf("sbom: exit %d\n%s", r.code, r.stdout)
	}
}
