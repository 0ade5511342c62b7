package integration

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/envbuild/envbuild/integration/testbed"
)

// A tag that holds other platforms only is not "cached": the build runs.
func TestTagWithOtherPlatformOnlyBuilds(t *testing.T) {
	bed := testbed.Require(t)
	dir := t.TempDir()
	first := mustBuild(t, dir, nil, "--pypi", "six==1.16.0", "--base", bed.Base, "--registry", bed.Registry+"/envs/plat-a")
	// Put an arm64-only image under the same tag in another repository.
	tag := "env-" + first.EnvID[:16]
	src, _ := name.ParseReference(bed.BaseARM64, name.Insecure)
	img, err := remote.Image(src)
	if err != nil {
		t.Fatal(err)
	}
	dst, _ := name.ParseReference(bed.Registry+"/envs/plat-b:"+tag, name.Insecure)
	if err := remote.Write(dst, img, remote.WithContext(context.Background())); err != nil {
		t.Fatal(err)
	}
	second := mustBuild(t, dir, nil, "--pypi", "six==1.16.0", "--base", bed.Base, "--registry", bed.Registry+"/envs/plat-b")
	if second.Cached {
		t.Fatalf("a tag holding only linux/arm64 was taken as a cached linux/amd64 build")
	}
	if second.Digest != first.Digest {
		t.Errorf("the rebuilt image %s differs from the first %s", second.Digest, first.Digest)
	}
}

// Source distributions: refused without --allow-sdist, built on the base
// with --allow-sdist, refused for a platform other than BuildKit's.
func TestSdist(t *testing.T) {
	bed := testbed.Require(t)
	ctx := context.Background()
	r := envbuild(t, t.TempDir(), nil, "build", "--pypi", "docopt==0.6.2", "--base", bed.Base, "--registry", bed.Registry+"/envs/sdist")
	if r.code != 1 || !strings.Contains(r.stderr, "--allow-sdist") {
		t.Errorf("an sdist-only package without --allow-sdist: exit %d, %q", r.code, lastLine(r.stderr))
	}
	res := mustBuild(t, t.TempDir(), nil, "--pypi", "docopt==0.6.2", "--allow-sdist", "--base", bed.Base, "--registry", bed.Registry+"/envs/sdist")
	out, errOut, code, err := bed.Run(ctx, res.Image, "linux/amd64", []string{"python", "-c", "import docopt; print(docopt.__version__)"}, nil)
	if err != nil || code != 0 || strings.TrimSpace(string(out)) != "0.6.2" {
		t.Errorf("docopt built from its sdist does not import: %v exit %d %q %q", err, code, out, errOut)
	}
	r = envbuild(t, t.TempDir(), nil, "build", "--pypi", "docopt==0.6.2", "--allow-sdist", "--platform", "linux/arm64", "--base", bed.BaseMulti, "--registry", bed.Registry+"/envs/sdist")
	if r.code != 1 || !strings.Contains(r.stderr, "source distribution") {
		t.Errorf("an sdist for another platform: exit %d, %q", r.code, lastLine(r.stderr))
	}
}

// With no repository configured, the image goes to an OCI layout directory
// (docs/reference.md: "oci_layout" replaces "image").
func TestOCILayoutWithoutRepository(t *testing.T) {
	bed := testbed.Require(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "layout")
	r := envbuild(t, dir, []string{"ENVBUILD_REPOSITORY="}, "build", "--json", "--progress", "plain", "--pypi", "six==1.16.0", "--base", bed.Base, "--output", out)
	if r.code != 0 {
		t.Fatalf("build to an OCI layout failed: %s", r.stderr)
	}
	var res result
	if err := jsonUnmarshal(r.stdout, &res); err != nil {
		t.Fatal(err)
	}
	if res.Image != "" || res.OCILayout != out || !strings.HasPrefix(res.Digest, "sha256:") {
		t.Errorf("result %+v; want oci_layout %s and no image", res, out)
	}
	_, m := layoutIndex(t, out)
	if len(m.Manifests) != 1 || m.Manifests[0].Digest.String() != res.Digest {
		t.Errorf("layout index %+v does not hold the digest %s", m.Manifests, res.Digest)
	}
}

// layoutIndex opens the OCI layout at dir and reads its index.
func layoutIndex(t *testing.T, dir string) (layout.Path, *v1.IndexManifest) {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatalf("%s is not an OCI layout: %v", dir, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return p, m
}
