package platform

import "testing"

func TestPlatform(t *testing.T) {
	for _, c := range []struct {
		in, canonical     string
		os, arch, variant string
	}{
		{"linux/amd64", "linux/amd64", "linux", "amd64", ""},
		{"linux/arm64", "linux/arm64", "linux", "arm64", "v8"},
		{"linux/arm64/v8", "linux/arm64", "linux", "arm64", "v8"},
		{"linux/arm/v7", "linux/arm/v7", "linux", "arm", "v7"},
	} {
		if got := Canonical(c.in); got != c.canonical {
			t.Errorf("Canonical(%q) = %q, want %q", c.in, got, c.canonical)
		}
		if !Same(c.in, c.canonical) {
			t.Errorf("Same(%q, %q) = false", c.in, c.canonical)
		}
		if o, a, v := Split(c.in); o != c.os || a != c.arch || v != c.variant {
			t.Errorf("Split(%q) = %q, %q, %q; want %q, %q, %q", c.in, o, a, v, c.os, c.arch, c.variant)
		}
	}
	if Same("linux/amd64", "linux/arm64") {
		t.Errorf("amd64 and arm64 are one platform")
	}
}
