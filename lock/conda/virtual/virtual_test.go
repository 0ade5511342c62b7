package virtual

import (
	"strings"
	"testing"
)

func TestPackages(t *testing.T) {
	for _, c := range []struct {
		name   string
		target Target
		env    map[string]string
		want   string
	}{
		{"defaults amd64", Target{Platform: "linux/amd64"}, nil,
			"__archspec=1=x86_64 __glibc=2.28=0 __linux=0=0 __unix=0=0"},
		{"arm64 with glibc and cuda", Target{Platform: "linux/arm64", Glibc: "2.36", Cuda: "12.4"}, nil,
			"__archspec=1=aarch64 __cuda=12.4=0 __glibc=2.36=0 __linux=0=0 __unix=0=0"},
		{"overrides", Target{Platform: "linux-64"}, map[string]string{"CONDA_OVERRIDE_CUDA": "11.8", "CONDA_OVERRIDE_GLIBC": "2.17", "CONDA_OVERRIDE_LINUX": "5.15"},
			"__archspec=1=x86_64 __cuda=11.8=0 __glibc=2.17=0 __linux=5.15=0 __unix=0=0"},
		{"target beats override", Target{Platform: "linux/amd64", Glibc: "2.31", Cuda: "12.0"}, map[string]string{"CONDA_OVERRIDE_CUDA": "11.8", "CONDA_OVERRIDE_GLIBC": "2.17"},
			"__archspec=1=x86_64 __cuda=12.0=0 __glibc=2.31=0 __linux=0=0 __unix=0=0"},
		{"empty cuda override", Target{Platform: "linux/amd64"}, map[string]string{"CONDA_OVERRIDE_CUDA": ""},
			"__archspec=1=x86_64 __glibc=2.28=0 __linux=0=0 __unix=0=0"},
	} {
		recs, err := Packages(c.target, func(k string) string { return c.env[k] })
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
	if _, err := Packages(Target{Platform: "windows/amd64"}, nil); err == nil {
		t.Errorf("Packages(windows/amd64) succeeded, want an error")
	}
	if _, err := Packages(Target{Platform: "linux/amd64", Cuda: "12..0"}, nil); err == nil {
		t.Errorf("Packages with cuda 12..0 succeeded, want an error")
	}
}
