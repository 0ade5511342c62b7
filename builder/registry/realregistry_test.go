package registry

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/envbuild/envbuild/lock/failure"
)

// TestRealDistribution asks the test bed's CNCF Distribution registries
// (integration/testbed sets the variables) the questions a build asks.
func TestRealDistribution(t *testing.T) {
	plain := os.Getenv("ENVBUILD_TEST_REGISTRY")
	if plain == "" {
		t.Skip("no test bed: ENVBUILD_TEST_REGISTRY is set by integration/testbed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	isolateCredentials(t)
	c := New(Options{})

	t.Run("absent tag is not cached", func(t *testing.T) {
		got, err := c.Check(ctx, plain+"/envbuild-registry-test/envs:env-0000000000000000", []string{"linux/amd64"})
		if err != nil || got.Cached {
			t.Fatalf("Check = %+v, %v; want not cached, no error", got, err)
		}
	})

	if multi := os.Getenv("ENVBUILD_TEST_BASE_MULTI"); multi != "" {
		t.Run("multi-platform base", func(t *testing.T) {
			res, err := c.Resolve(ctx, multi, []string{"linux/amd64", "linux/arm64"})
			if err != nil {
				t.Fatal(err)
			}
			if res.IndexDigest == "" || len(res.Platforms) != 2 {
				t.Fatalf("Resolve(%s) = index %q, %d platforms; want an index with 2", multi, res.IndexDigest, len(res.Platforms))
			}
			got, err := c.Check(ctx, multi, []string{"linux/amd64", "linux/arm64", "linux/s390x"})
			if err != nil {
				t.Fatal(err)
			}
			if got.Cached || strings.Join(got.MissingPlatforms, ",") != "linux/s390x" || got.Digest != res.IndexDigest {
				t.Errorf("Check(%s) = %+v, want not cached, missing linux/s390x, digest %s", multi, got, res.IndexDigest)
			}
			pi := res.Platforms["linux/arm64"]
			layers, err := pi.Image.Layers()
			if err != nil {
				t.Fatal(err)
			}
			d, _ := layers[0].Digest()
			absent := "sha256:" + strings.Repeat("0", 64)
			exist, err := c.BlobsExist(ctx, res.Repository, []string{d.String(), absent})
			if err != nil || !exist[d.String()] || exist[absent] {
				t.Errorf("BlobsExist = %v, %v; want %s present and %s absent", exist, err, d, absent)
			}
		})
	}

	auth := os.Getenv("ENVBUILD_TEST_AUTH_REGISTRY")
	if auth == "" {
		return
	}
	ref := auth + "/envbuild-registry-test/envs:env-0000000000000000"
	password := os.Getenv("ENVBUILD_TEST_AUTH_PASSWORD")
	t.Run("auth registry without credentials", func(t *testing.T) {
		_, err := c.Check(ctx, ref, nil)
		if err == nil || failure.KindOf(err) != failure.KindInfra {
			t.Fatalf("Check without credentials: err = %v, want an infrastructure error", err)
		}
		if !strings.Contains(err.Error(), "401") || (password != "" && strings.Contains(err.Error(), password)) {
			t.Errorf("error %q: want a 401 named, no secret", err)
		}
	})
	if dc := os.Getenv("ENVBUILD_TEST_AUTH_DOCKER_CONFIG"); dc != "" {
		t.Run("auth registry with the Docker config's credentials", func(t *testing.T) {
			t.Setenv("DOCKER_CONFIG", dc)
			got, err := c.Check(ctx, ref, nil)
			if err != nil || got.Cached {
				t.Fatalf("Check = %+v, %v; want not cached, no error", got, err)
			}
		})
	}
}
