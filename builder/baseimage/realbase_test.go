package baseimage_test

import (
	"context"
	"errors"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/envbuild/envbuild/builder/baseimage"
	"github.com/envbuild/envbuild/builder/registry"
)

// realBases reads the references the integration test bed sets
// (integration/testbed), or skips.
func realBases(t *testing.T) map[string]string {
	t.Helper()
	if os.Getenv("ENVBUILD_TEST_REGISTRY") == "" || os.Getenv("ENVBUILD_TEST_BASE") == "" {
		t.Skip("no test bed: ENVBUILD_TEST_REGISTRY and ENVBUILD_TEST_BASE are set by integration/testbed")
	}
	return map[string]string{
		"amd64":    os.Getenv("ENVBUILD_TEST_BASE"),
		"arm64":    os.Getenv("ENVBUILD_TEST_BASE_ARM64"),
		"multi":    os.Getenv("ENVBUILD_TEST_BASE_MULTI"),
		"nopython": os.Getenv("ENVBUILD_TEST_BASE_NOPYTHON"),
	}
}

// TestRealDebianBases reads the test bed's debootstrapped Debian bookworm
// bases, amd64 and the arm64 one that cannot run here.
func TestRealDebianBases(t *testing.T) {
	bases := realBases(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := registry.New(registry.Options{})
	cache := t.TempDir()
	python := regexp.MustCompile(`^3\.11\.\d+$`)
	for _, tt := range []struct{ ref, platform, machine string }{
		{bases["amd64"], "linux/amd64", "x86_64"},
		{bases["arm64"], "linux/arm64", "aarch64"},
		{bases["multi"], "linux/arm64", "aarch64"},
		{bases["multi"], "linux/amd64", "x86_64"},
	} {
		if tt.ref == "" {
			continue
		}
		t.Run(tt.ref+" "+tt.platform, func(t *testing.T) {
			res, err := c.Resolve(ctx, tt.ref, []string{tt.platform})
			if err != nil {
				t.Fatal(err)
			}
			pi := res.Platforms[tt.platform]
			start := time.Now()
			info, err := baseimage.Inspect(ctx, pi.Image, tt.platform, cache, baseimage.WithRef(tt.ref))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s %s: %s from %s, libc from %s (%s)", tt.ref, tt.platform, info.Target, info.PythonSource, info.LibcSource, time.Since(start))
			tg := info.Target
			if !python.MatchString(tg.Python) || tg.Interpreter != "/usr/bin/python3.11" || tg.Libc != "glibc" || tg.LibcVersion != "2.36" || tg.Platform != tt.platform || tg.Machine() != tt.machine {
				t.Errorf("target = %+v, want CPython 3.11.x at /usr/bin/python3.11 on %s with glibc 2.36", tg, tt.platform)
			}
			if info.StdlibDir != "/usr/lib/python3.11" {
				t.Errorf("StdlibDir = %q, want /usr/lib/python3.11", info.StdlibDir)
			}
			found := false
			for _, d := range info.SitePackages {
				found = found || d == "/usr/lib/python3/dist-packages"
			}
			if !found {
				t.Errorf("SitePackages = %q, want /usr/lib/python3/dist-packages (python3-yaml lives there)", info.SitePackages)
			}
			if info.ManifestDigest != pi.ManifestDigest {
				t.Errorf("ManifestDigest = %q, want %q", info.ManifestDigest, pi.ManifestDigest)
			}
		})
	}
	if ref := bases["nopython"]; ref != "" {
		t.Run(ref, func(t *testing.T) {
			res, err := c.Resolve(ctx, ref, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = baseimage.Inspect(ctx, res.Platforms["linux/amd64"].Image, "linux/amd64", cache, baseimage.WithRef(ref))
			if !errors.Is(err, baseimage.ErrNoPython) {
				t.Errorf("Inspect(%s) error = %v, want ErrNoPython", ref, err)
			}
		})
	}
}
