// Package platform is the one place that spells OCI platforms the way
// envbuild compares and writes them: "linux/arm64/v8" and "linux/arm64"
// are one platform (Canonical, Same), and image configs and indexes carry
// arm64's variant spelled out (Split).
//
// It must not depend on anything but the standard library: the lock
// types and the installer side import it.
package platform

import "strings"

// Canonical drops arm64's "/v8", the variant every arm64 platform
// envbuild builds has: "linux/arm64/v8" is "linux/arm64".
func Canonical(p string) string { return strings.TrimSuffix(p, "/v8") }

// Same reports whether a and b are one platform.
func Same(a, b string) bool { return Canonical(a) == Canonical(b) }

// Split returns a platform's OS, architecture and variant, with arm64's
// variant "v8" spelled out, as image configs and indexes carry it.
func Split(p string) (os, arch, variant string) {
	parts := strings.SplitN(p, "/", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	if parts[1] == "arm64" && parts[2] == "" {
		parts[2] = "v8"
	}
	return parts[0], parts[1], parts[2]
}
