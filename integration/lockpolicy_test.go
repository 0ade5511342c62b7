package integration

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/envbuild/envbuild/integration/testbed"
)

// retag points ref at the image src names.
func retag(t *testing.T, src, ref string) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, image(t, src)); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
}

// --locked and --frozen build on the base digest the lock recorded, not
// on what the base's tag points at now; without them the moved tag is
// used. A lock made for another base repository is out of date (exit 3).
func TestLockedBuildsOnTheLockedBase(t *testing.T) {
	bed := testbed.Require(t)
	ns := uniqueName(t)
	floating := bed.Registry + "/" + ns + "/base:stable"
	retag(t, bed.Base, floating)
	dir := t.TempDir()
	args := []string{"--pypi", "six==1.16.0", "--base", floating, "--registry", bed.Registry + "/" + ns + "/envs"}
	first := mustBuild(t, dir, nil, args...)

	// The platform team moves the tag (same Python, another top layer).
	retag(t, bed.BaseSwap, floating)
	baseOf := func(ref string) string {
		cfg, err := image(t, ref).ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range cfg.Config.Env {
			if strings.HasPrefix(e, "BASE_MARKER=") {
				return e
			}
		}
		return ""
	}
	for _, flag := range []string{"--locked", "--frozen"} {
		r := envbuild(t, dir, nil, append([]string{"build", "--json", flag}, args...)...)
		if r.code != 0 {
			t.Fatalf("build %s: exit %d\n%s", flag, r.code, tail(r.stderr, 20))
		}
		var res result
		if err := jsonUnmarshal(r.stdout, &res); err != nil {
			t.Fatal(err)
		}
		if res.Digest != first.Digest || !res.Cached || !strings.Contains(r.stderr, "base image digests recorded") {
			t.Errorf("build %s after the base tag moved: %+v; want the first image %s, from the locked base", flag, res, first.Digest)
		}
	}
	moved := mustBuild(t, dir, nil, args...)
	if moved.Digest == first.Digest || baseOf(moved.Image) != "BASE_MARKER=from-swap-base" || baseOf(first.Image) != "BASE_MARKER=from-base" {
		t.Errorf("without --locked the moved tag was not used: %s (%s) vs %s (%s)", moved.Image, baseOf(moved.Image), first.Image, baseOf(first.Image))
	}

	other := envbuild(t, dir, nil, "build", "--locked", "--pypi", "six==1.16.0", "--base", bed.BaseSwap, "--registry", bed.Registry+"/"+ns+"/envs")
	if other.code != 3 || !strings.Contains(other.stderr, "was made for base image") {
		t.Errorf("--locked with another base: exit %d, %q", other.code, lastLine(other.stderr))
	}
}
