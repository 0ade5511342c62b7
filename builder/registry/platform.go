package registry

import (
	"fmt"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/envbuild/envbuild/lock/failure"
)

// DefaultPlatform is used when no platform is asked for.
const DefaultPlatform = "linux/amd64"

// NormalizePlatform returns the canonical spelling of an OCI platform,
// "os/arch[/variant]", lower-case, with the variants that mean nothing
// dropped: arm64/v8 is arm64, amd64/v1 is amd64.
func NormalizePlatform(s string) (string, error) {
	p, err := v1.ParsePlatform(strings.ToLower(strings.TrimSpace(s)))
	if err != nil || p.OS == "" || p.Architecture == "" || p.OSVersion != "" {
		return "", failure.User(fmt.Errorf("reading platform %q: want OS/ARCH[/VARIANT], like linux/amd64 or linux/arm64", s))
	}
	return platformString(*p), nil
}

// platformString is the canonical "os/arch[/variant]" of p.
func platformString(p v1.Platform) string {
	goos, arch, variant := strings.ToLower(p.OS), strings.ToLower(p.Architecture), strings.ToLower(p.Variant)
	if (arch == "arm64" && variant == "v8") || (arch == "amd64" && variant == "v1") {
		variant = ""
	}
	s := goos + "/" + arch
	if variant != "" {
		s += "/" + variant
	}
	return s
}

// normalizeAll normalizes and de-duplicates the requested platforms,
// keeping their order; none asked for means DefaultPlatform.
func normalizeAll(platforms []string) ([]string, error) {
	if len(platforms) == 0 {
		return []string{DefaultPlatform}, nil
	}
	seen := map[string]bool{}
	var out []string
	for _, p := range platforms {
		n, err := NormalizePlatform(p)
		if err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// platformEntry is one image of an index, with the platform it is for.
type platformEntry struct {
	platform string // canonical; "" when unknown
	desc     v1.Descriptor
}

// pick finds the entry for want: an exact match, or else (when want names
// no variant) the first entry of the same OS and architecture.
func pick(entries []platformEntry, want string) (platformEntry, bool) {
	for _, e := range entries {
		if e.platform == want {
			return e, true
		}
	}
	if strings.Count(want, "/") == 1 {
		for _, e := range entries {
			if strings.HasPrefix(e.platform, want+"/") {
				return e, true
			}
		}
	}
	return platformEntry{}, false
}

// listPlatforms is the sorted, de-duplicated list of known platforms.
func listPlatforms(entries []platformEntry) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range entries {
		if e.platform != "" && !seen[e.platform] {
			seen[e.platform] = true
			out = append(out, e.platform)
		}
	}
	sort.Strings(out)
	return out
}

// configPlatform is the canonical platform an image config names, or ""
// when it names none.
func configPlatform(cfg *v1.ConfigFile) string {
	if cfg == nil || cfg.OS == "" || cfg.Architecture == "" {
		return ""
	}
	return platformString(v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant})
}
