package virtual

import (
	"strings"
	"testing"

	"github.com/envbuild/envbuild/lock/target"
)

func TestPackages(t *testing.T) {
	for _, c := range []struct {
		name   string
		target target.Target
		cuda   string
		env    map[string]string
		want   string
	}{
		{"defaults amd64", target.Target{Platform: "linux/amd64"}, "", nil,
			"__archspec=1=x86_64 __glibc=2.28=0 __linux=0=0 __unix=0=0"},
		{"arm64 with glibc and cuda", target.Target{Platform: "linux/arm64", Libc: "glibc", LibcVersion: "2.36"}, "12.4", nil,
			"__archspec=1=aarch64 __cuda=12.4=0 __glibc=2.36=0 __linux=0=0 __unix=0=0"},
		{"overrides", target.Target{Platform: "linux-64"}, "", map[string]string{"CONDA_OVERRIDE_CUDA": "11.8", "CONDA_OVERRIDE_GLIBC": "2.17", "CONDA_OVERRIDE_LINUX": "5.15"},
			"__archspec=1=x86_64 __cuda=11.8=0 __glibc=2.17=0 __linux=5.15=0 __unix=0=0"},
		{"target beats override", target.Target{Platform: "linux/amd64", Libc: "glibc", LibcVersion: "2.31"}, "12.0", map[string]string{"CONDA_OVERRIDE_CUDA": "11.8", "CONDA_OVERRIDE_GLIBC": "2.17"},
			"__archspec=1=x86_64 __cuda=12.0=0 __glibc=2.31=0 __linux=0=0 __unix=0=0"},
		{"empty cuda override", target.Target{Platform: "linux/amd64"}, "", map[string]string{"CONDA_OVERRIDE_CUDA": ""},
			"__archspec=1=x86_64 __glibc=2.28=0 __linux=0=0 __unix=0=0"},
	} {
		recs, err := Packages(c.target, c.cuda, func(k string) string { return c.env[k] })
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var got []string
		for _, r := range recs {
			if r.ParsedVersion.IsZero() || r.Channel != Channel {
				t.Errorf("%s: record %s lacks a parsed version or the @virtual channel", c.name, r.Name)
			}
			got = append(got, r.Name+"="+r.Version+"="+r.Build)
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s: Packages = %s, want %s", c.name, strings.Join(got, " "), c.want)
		}
	}
	if _, err := Packages(target.Target{Platform: "windows/amd64"}, "", nil); err == nil {
		t.Errorf("Packages(windows/amd64) succeeded, want an error")
	}
	if _, err := Packages(target.Target{Platform: "linux/amd64"}, "12..0", nil); err == nil {
		t.Errorf("Packages with cuda 12..0 succeeded, want an error")
	}
	if _, err := Packages(target.Target{Platform: "linux/amd64", Libc: "musl", LibcVersion: "1.2"}, "", nil); err == nil {
		t.Errorf("Packages for musl succeeded, want an error")
	}
}
