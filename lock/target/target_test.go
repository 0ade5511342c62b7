package target

import "testing"

func TestFromFlagsDefaults(t *testing.T) {
	for _, tc := range []struct {
		python, platform, glibc string
		want                    Target
	}{
		{"3.11", "", "", Target{Platform: "linux/amd64", Python: "3.11.0", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.28"}},
		{"3.12.4", "linux/arm64", "2.31", Target{Platform: "linux/arm64", Python: "3.12.4", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.31"}},
		{"3.13t", "linux/amd64", "", Target{Platform: "linux/amd64", Python: "3.13.0", Implementation: "cpython", FreeThreaded: true, Libc: "glibc", LibcVersion: "2.28"}},
	} {
		got, err := FromFlags(tc.python, tc.platform, tc.glibc)
		if err != nil || got != tc.want {
			t.Errorf("FromFlags(%q, %q, %q) = %+v, %v; want %+v", tc.python, tc.platform, tc.glibc, got, err, tc.want)
		}
	}
	for _, bad := range [][3]string{{"", "", ""}, {"3", "", ""}, {"3.x", "", ""}, {"3.11", "windows/amd64", ""}, {"3.11", "", "2"}} {
		if _, err := FromFlags(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("FromFlags(%q) accepted", bad)
		}
	}
}

func TestTargetHelpers(t *testing.T) {
	tg := Target{Platform: "linux/arm64/v8", Python: "3.13.1", FreeThreaded: true, Libc: "glibc", LibcVersion: "2.36", Implementation: "cpython"}
	if tg.Machine() != "aarch64" || tg.PythonShort() != "3.13t" || tg.LibcString() != "glibc 2.36" {
		t.Errorf("helpers: %s %s %s", tg.Machine(), tg.PythonShort(), tg.LibcString())
	}
	other := tg
	other.Platform = "linux/arm64"
	if !tg.Equal(other) {
		t.Errorf("linux/arm64/v8 and linux/arm64 are the same target")
	}
	other.LibcVersion = "2.31"
	if tg.Equal(other) {
		t.Errorf("a different glibc is a different target")
	}
}
