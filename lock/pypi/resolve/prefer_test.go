package resolve

import (
	"context"
	"testing"

	"github.com/envbuild/envbuild/lock/pypi/pep440"
)

func TestResolvePreferences(t *testing.T) {
	pkgs := map[string]map[string][]string{
		"a": {"1.0": {"b"}, "2.0": {"b"}},
		"b": {"1.0": nil, "2.0": nil, "3.0": nil},
	}
	locked := map[string]pep440.Version{"a": pep440.MustParse("1.0"), "b": pep440.MustParse("2.0"), "gone": pep440.MustParse("1.0")}
	tests := []struct {
		name string
		reqs []string
		opts Options
		want string
	}{
		{"no lock: newest", []string{"a"}, Options{}, "a 2.0, b 3.0"},
		{"locked versions kept", []string{"a"}, Options{Preferred: locked}, "a 1.0, b 2.0"},
		{"--upgrade ignores the lock", []string{"a"}, Options{Preferred: locked, Upgrade: true}, "a 2.0, b 3.0"},
		{"--upgrade-package b changes b only", []string{"a"}, Options{Preferred: locked, UpgradePackages: []string{"b"}}, "a 1.0, b 3.0"},
		{"a locked version the spec now excludes", []string{"a", "b<2"}, Options{Preferred: locked}, "a 1.0, b 1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(context.Background(), &memProvider{pkgs: pkgs}, mustDeps(t, tt.reqs...), tt.opts)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if g := render(got); g != tt.want {
				t.Errorf("got %s, want %s", g, tt.want)
			}
		})
	}
}

// prefetchRecorder records the hints the solver gives.
type prefetchRecorder struct {
	memProvider
	candidates   []string
	dependencies []string
}

func (p *prefetchRecorder) PrefetchCandidates(_ context.Context, pkg string) {
	p.candidates = append(p.candidates, pkg)
}

func (p *prefetchRecorder) PrefetchDependencies(_ context.Context, pkg string, v pep440.Version) {
	p.dependencies = append(p.dependencies, pkg+" "+v.String())
}

func TestResolvePrefetchHints(t *testing.T) {
	p := &prefetchRecorder{memProvider: memProvider{pkgs: botoLike(10)}}
	got, err := Resolve(context.Background(), p, mustDeps(t, "boto3", "botocore<1.3"), Options{})
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if g, want := render(got), "boto3 1.2.0, botocore 1.2.0, jmespath 1.0.1"; g != want {
		t.Errorf("got %s, want %s", g, want)
	}
	if g, want := len(p.candidates), 3; g != want {
		t.Errorf("PrefetchCandidates called for %q, want each of the 3 packages once", p.candidates)
	}
	if len(p.dependencies) == 0 || p.dependencies[0] != "boto3 1.7.0" {
		t.Errorf("PrefetchDependencies calls %q, want the next boto3 candidates from 1.7.0 once two were tried", p.dependencies)
	}
}
