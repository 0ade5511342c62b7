package integration

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/envbuild/envbuild/integration/testbed"
)

func image(t *testing.T, ref string, opts ...remote.Option) v1.Image {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, opts...)
	if err != nil {
		t.Fatalf("pulling %s: %v", ref, err)
	}
	return img
}

func layerDigests(t *testing.T, img v1.Image) []string {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range ls {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d.String())
	}
	return out
}

// Done-when 1: requests and pandas on the Debian base, pushed, run from the
// pushed image; the base's python3-yaml is not importable; the base's files,
// env and entrypoint are kept.
func TestBuildRequestsPandasOnDebian(t *testing.T) {
	bed := testbed.Require(t)
	ctx := context.Background()
	dir := t.TempDir()
	repo := bed.Registry + "/envs/pandas"
	res := mustBuild(t, dir, nil, "--pypi", "requests", "--pypi", "pandas", "--base", bed.Base, "--registry", repo)
	if res.Cached || !strings.HasPrefix(res.Image, repo+":env-"+res.EnvID[:16]+"@sha256:") {
		t.Fatalf("unexpected result %+v", res)
	}
	if _, err := os.Stat(filepath.Join(dir, "envbuild.lock")); err != nil {
		t.Fatalf("build did not write the lock it made: %v", err)
	}

	runIn := func(argv ...string) (string, string, int) {
		out, errOut, code, err := bed.Run(ctx, res.Image, "linux/amd64", argv, nil)
		if err != nil {
			t.Fatalf("running %q: %v", argv, err)
		}
		return string(out), string(errOut), code
	}
	if out, errOut, code := runIn("python", "-c", "import pandas, requests, sys; print(sys.prefix, pandas.__version__)"); code != 0 || !strings.HasPrefix(out, "/opt/envbuild/env ") {
		t.Errorf("import pandas, requests: exit %d, out %q, err %q", code, out, errOut)
	}
	if _, errOut, code := runIn("python", "-c", "import yaml"); code == 0 || !strings.Contains(errOut, "No module named 'yaml'") {
		t.Errorf("the base's python3-yaml is visible from the environment (exit %d, %q)", code, errOut)
	}
	if out, _, code := runIn("/usr/bin/python3", "-c", "import yaml; print('base-yaml-ok')"); code != 0 || !strings.Contains(out, "base-yaml-ok") {
		t.Errorf("the base's own python lost its yaml: exit %d %q", code, out)
	}
	if out, _, code := runIn("cat", "/etc/base-marker.txt"); code != 0 || !strings.Contains(out, "base-file-ok") {
		t.Errorf("base file not readable: exit %d %q", code, out)
	}
	if out, _, _ := runIn("python", "-c", "import site, sys; print(site.ENABLE_USER_SITE, [p for p in sys.path if 'dist-packages' in p])"); !strings.HasPrefix(out, "False []") {
		t.Errorf("user site or the base's dist-packages on sys.path: %q", out)
	}

	cfg, err := image(t, res.Image).ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Join(cfg.Config.Env, "\n")
	if !strings.Contains(env, "BASE_MARKER=from-base") || !strings.Contains(env, "PATH=/opt/envbuild/env/bin:") {
		t.Errorf("env not kept or PATH not set: %q", cfg.Config.Env)
	}
	if len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != "/usr/local/bin/base-entrypoint" || cfg.Config.WorkingDir != "/srv" || cfg.Config.Labels["org.example.base"] != "debian" {
		t.Errorf("entrypoint/workdir/labels not kept: %+v", cfg.Config)
	}
	if cfg.Config.Labels["dev.envbuild.env-id"] != res.EnvID {
		t.Errorf("env id label %q, want %q", cfg.Config.Labels["dev.envbuild.env-id"], res.EnvID)
	}
}

// Done-when 2 and 3: per-package layers that survive a pin change and are
// shared between environments, reproducible on a fresh daemon, and the
// registry asked first.
func TestLayersCacheAndReproducibility(t *testing.T) {
	bed := testbed.Require(t)
	dir := t.TempDir()
	repo := bed.Registry + "/envs/layers"
	a := mustBuild(t, dir, nil, "--pypi", "six==1.16.0", "--pypi", "idna==3.6", "--pypi", "certifi==2024.2.2", "--pypi", "numpy==1.26.4", "--base", bed.Base, "--registry", repo)
	b := mustBuild(t, t.TempDir(), nil, "--pypi", "six==1.16.0", "--pypi", "idna==3.7", "--pypi", "certifi==2024.2.2", "--pypi", "numpy==1.26.4", "--base", bed.Base, "--registry", repo)
	la, lb := layerDigests(t, image(t, a.Image)), layerDigests(t, image(t, b.Image))
	if len(la) != len(lb) {
		t.Fatalf("layer counts differ: %d vs %d", len(la), len(lb))
	}
	var changed []int
	for i := range la {
		if la[i] != lb[i] {
			changed = append(changed, i)
		}
	}
	// idna's layer and the metadata layer (last) change; nothing else.
	if len(changed) != 2 || changed[1] != len(la)-1 {
		t.Errorf("changing one pin changed layers %v of %d; want exactly idna's and the metadata layer", changed, len(la))
	}
	if b.PushedBytes <= 0 || b.PushedBytes >= a.PushedBytes/4 {
		t.Errorf("changing one pin pushed %d bytes (first build %d): the unchanged layers were pushed again", b.PushedBytes, a.PushedBytes)
	}

	// numpy shares its layer with another environment.
	c := mustBuild(t, t.TempDir(), nil, "--pypi", "numpy==1.26.4", "--pypi", "packaging==24.0", "--base", bed.Base, "--registry", repo)
	lc := layerDigests(t, image(t, c.Image))
	shared := 0
	for _, x := range lc {
		for _, y := range la {
			if x == y {
				shared++
			}
		}
	}
	// The base layers plus numpy's.
	baseLayers := len(layerDigests(t, image(t, bed.Base)))
	if shared != baseLayers+1 {
		t.Errorf("environments with the same numpy share %d layers; want the %d base layers and numpy's", shared, baseLayers)
	}

	// The same build again is a registry round trip, with no daemon.
	again := mustBuild(t, dir, nil, "--pypi", "six==1.16.0", "--pypi", "idna==3.6", "--pypi", "certifi==2024.2.2", "--pypi", "numpy==1.26.4", "--base", bed.Base, "--registry", repo, "--buildkit-addr", "unix:///nonexistent/buildkitd.sock")
	if !again.Cached || again.Digest != a.Digest {
		t.Errorf("rebuild was not a cache hit: %+v", again)
	}

	// A fresh buildkitd gives the same image digest (another repository,
	// so the registry does not answer "cached").
	addr, err := bed.StartExtraBuildkitd(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fresh := mustBuild(t, dir, nil, "--pypi", "six==1.16.0", "--pypi", "idna==3.6", "--pypi", "certifi==2024.2.2", "--pypi", "numpy==1.26.4", "--base", bed.Base, "--registry", bed.Registry+"/envs/fresh", "--buildkit-addr", addr)
	if fresh.Cached || fresh.Digest != a.Digest {
		t.Errorf("a fresh buildkitd built %s, the first build %s (cached %v): not reproducible", fresh.Digest, a.Digest, fresh.Cached)
	}
}

// Done-when 4: arm64 without emulation, and both platforms in one list.
func TestArm64AndMultiPlatform(t *testing.T) {
	bed := testbed.Require(t)
	ctx := context.Background()
	dir := t.TempDir()
	repo := bed.Registry + "/envs/multi"
	res := mustBuild(t, dir, nil, "--pypi", "markupsafe==2.1.5", "--base", bed.BaseMulti, "--registry", repo, "--platform", "linux/arm64")
	img := image(t, res.Image)
	cfg, _ := img.ConfigFile()
	if cfg.Architecture != "arm64" {
		t.Fatalf("architecture %q, want arm64", cfg.Architecture)
	}
	site := "/opt/envbuild/env/lib/python3.11/site-packages/markupsafe"
	files, err := bed.ListFiles(ctx, res.Image, "linux/arm64", site)
	if err != nil {
		t.Fatal(err)
	}
	sawELF := false
	for _, f := range files {
		if !strings.HasSuffix(f, ".so") {
			continue
		}
		data, err := bed.ReadFile(ctx, res.Image, "linux/arm64", f)
		if err != nil {
			t.Fatal(err)
		}
		ef, err := elf.NewFile(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if ef.Machine != elf.EM_AARCH64 {
			t.Errorf("%s is %v, want aarch64", f, ef.Machine)
		}
		sawELF = true
	}
	if !sawELF {
		t.Errorf("no extension module under %s: %v", site, files)
	}
	wheel, err := bed.ReadFile(ctx, res.Image, "linux/arm64", "/opt/envbuild/env/lib/python3.11/site-packages/MarkupSafe-2.1.5.dist-info/WHEEL")
	if err != nil || !strings.Contains(string(wheel), "aarch64") {
		t.Errorf("WHEEL tags do not name aarch64: %v %q", err, wheel)
	}

	both := mustBuild(t, dir, nil, "--pypi", "markupsafe==2.1.5", "--base", bed.BaseMulti, "--registry", repo, "--platform", "linux/amd64", "--platform", "linux/arm64")
	r, _ := name.ParseReference(both.Image, name.Insecure)
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatalf("two platforms did not give a manifest list: %v", err)
	}
	m, _ := idx.IndexManifest()
	var got []string
	for _, d := range m.Manifests {
		if d.Platform != nil {
			got = append(got, d.Platform.OS+"/"+d.Platform.Architecture)
		}
	}
	if strings.Join(got, ",") != "linux/amd64,linux/arm64" {
		t.Errorf("manifest list platforms %v", got)
	}
}
