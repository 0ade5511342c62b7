package lock

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/frontends/uvlock"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/target"
)

func flagTarget(t *testing.T, python, platform string) target.Target {
	t.Helper()
	tt, err := target.FromFlags(python, platform, "")
	if err != nil {
		t.Fatal(err)
	}
	return tt
}

func names(pkgs []lockfile.Package) []string {
	var out []string
	for _, p := range pkgs {
		out = append(out, p.Name+"=="+p.Version)
	}
	return out
}

func TestUVLockForTargets(t *testing.T) {
	r, err := uvlock.Load("../frontends/uvlock/testdata/uv.lock", []string{"socks"}, []string{"test"})
	if err != nil {
		t.Fatal(err)
	}
	s := spec.Spec{Name: "default", Resolved: r}
	e, err := Env(context.Background(), Request{Spec: s, Targets: []target.Target{flagTarget(t, "3.10", "linux/arm64"), flagTarget(t, "3.12", "linux/amd64")}})
	if err != nil {
		t.Fatal(err)
	}
	py310 := strings.Join(names(e.Targets[0].Packages), " ")
	py312 := strings.Join(names(e.Targets[1].Packages), " ")
	// tomli only below 3.11; colorama never on Linux; pysocks from the
	// socks extra; iniconfig from the test group.
	if !strings.Contains(py310, "tomli==") || strings.Contains(py312, "tomli") || strings.Contains(py310+py312, "colorama") {
		t.Errorf("markers: 3.10: %s\n3.12: %s", py310, py312)
	}
	for _, n := range []string{"pysocks==", "iniconfig==2.0.0", "requests==", "urllib3=="} {
		if !strings.Contains(py312, n) {
			t.Errorf("3.12 lacks %s: %s", n, py312)
		}
	}
	for _, p := range e.Targets[0].Packages {
		if p.Name == "charset-normalizer" && !strings.Contains(p.Filename, "cp310") || p.Name == "charset-normalizer" && !strings.Contains(p.Filename, "aarch64") {
			t.Errorf("charset-normalizer for 3.10 arm64: %s", p.Filename)
		}
		if p.Name == "requests" && (!p.Requested || !reflect.DeepEqual(p.Depends, []string{"certifi", "charset-normalizer", "idna", "pysocks", "urllib3"})) {
			t.Errorf("requests: requested %v depends %v", p.Requested, p.Depends)
		}
	}
	if _, err := Env(context.Background(), Request{Spec: s, Targets: []target.Target{flagTarget(t, "3.9", "linux/amd64")}}); err == nil || !strings.Contains(err.Error(), "requires-python") {
		t.Errorf("3.9: got %v", err)
	}
}

func TestResolvedRefusesWhatTheTargetCannotUse(t *testing.T) {
	r := &spec.Resolved{Source: "pylock.toml", Packages: []spec.ResolvedPackage{{
		Name: "winonly", Version: "1.0", Where: "pylock.toml:7",
		Wheels: []spec.ResolvedFile{{Filename: "winonly-1.0-cp311-cp311-win_amd64.whl", URL: "https://x/winonly-1.0-cp311-cp311-win_amd64.whl", Sha256: strings.Repeat("a", 64)}},
		Sdist:  &spec.ResolvedFile{Filename: "winonly-1.0.tar.gz", URL: "https://x/winonly-1.0.tar.gz", Sha256: strings.Repeat("b", 64)},
	}}}
	_, err := Env(context.Background(), Request{Spec: spec.Spec{Name: "default", Resolved: r}, Targets: []target.Target{flagTarget(t, "3.11", "linux/amd64")}})
	if err == nil || !strings.Contains(err.Error(), "pylock.toml:7: winonly 1.0 cannot be installed as pinned: none of its 1 wheel(s) fits") || !strings.Contains(err.Error(), "--allow-sdist") {
		t.Fatalf("got %v", err)
	}
	e, err := Env(context.Background(), Request{Spec: spec.Spec{Name: "default", Resolved: r, Options: spec.Options{AllowSdist: true}}, Targets: []target.Target{flagTarget(t, "3.11", "linux/amd64")}})
	if err != nil || e.Targets[0].Packages[0].Kind != lockfile.KindSdist {
		t.Fatalf("with --allow-sdist: %v", err)
	}
	r.Environments = []string{"sys_platform == 'win32'"}
	if _, err := Env(context.Background(), Request{Spec: spec.Spec{Name: "default", Resolved: r}, Targets: []target.Target{flagTarget(t, "3.11", "linux/amd64")}}); err == nil || !strings.Contains(err.Error(), "locked for the environments") {
		t.Fatalf("environments: %v", err)
	}
}

func TestCheckHashes(t *testing.T) {
	s := spec.Spec{PyPI: spec.PyPI{Hashes: map[string][]string{"six": {strings.Repeat("a", 64)}}}}
	lt := lockfile.Target{Target: target.Target{Platform: "linux/amd64"}, Packages: []lockfile.Package{{Name: "six", Version: "1.16.0", Source: lockfile.SourcePyPI, Filename: "six.whl", Sha256: strings.Repeat("b", 64)}}}
	if err := CheckHashes(s, lt); err == nil || !strings.Contains(err.Error(), "not one of the 1 hash(es)") {
		t.Fatalf("got %v", err)
	}
	lt.Packages[0].Sha256 = strings.Repeat("A", 64)
	if err := CheckHashes(s, lt); err != nil {
		t.Fatal(err)
	}
}
