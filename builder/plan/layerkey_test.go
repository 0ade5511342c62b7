package plan

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/target"
)

func wheelTarget(pkgs ...lockfile.Package) lockfile.Target {
	return lockfile.Target{Target: target.Target{Platform: "linux/amd64", Python: "3.11.2", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36"}, PythonSource: lockfile.PythonFromBase, Packages: pkgs}
}

func wheel(name, version, s string) lockfile.Package {
	return lockfile.Package{Name: name, Version: version, Source: lockfile.SourcePyPI, Kind: lockfile.KindWheel, URL: "http://pypi/" + name + ".whl", Filename: name + "-" + version + "-py3-none-any.whl", Sha256: sha(s), Size: 100}
}

func base(manifest, interp string) Base {
	return Base{Ref: "reg/base@sha256:" + sha(manifest), ManifestDigest: "sha256:" + sha(manifest), Config: &v1.ConfigFile{}, Interpreter: "/usr/bin/python3.11", PythonVersion: "3.11.2", InterpreterDigest: interp}
}

func keysOf(t *testing.T, lt lockfile.Target, b Base, host string, o Options) (map[string]string, string) {
	t.Helper()
	env := &lockfile.Env{Name: "default", Targets: []lockfile.Target{lt}}
	p, err := Make(Input{EnvName: "default", Env: env, Platforms: []string{lt.Platform}, HostPlatform: host, Options: o, Bases: map[string]Base{lt.Platform: b}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range p.Platforms[0].Layers {
		if len(l.Key) != 64 {
			t.Fatalf("layer %s has key %q", l.Name, l.Key)
		}
		out[l.Packages[0].Name] = l.Key
	}
	return out, p.EnvID
}

// A layer's key is what determines its bytes: the artifact, the target,
// the compression, whether bytecode is compiled and by which interpreter;
// not the base's other files, nor the other packages of the environment.
func TestLayerKeys(t *testing.T) {
	six, idna := wheel("six", "1.16.0", "1"), wheel("idna", "3.7", "2")
	on := Options{Bytecode: true}
	a, idA := keysOf(t, wheelTarget(six, idna), base("9", "sha256:interp"), "linux/amd64", on)

	// Another base with the same interpreter: same keys, another env id.
	b, idB := keysOf(t, wheelTarget(six, idna), base("8", "sha256:interp"), "linux/amd64", on)
	if a["six"] != b["six"] || a["idna"] != b["idna"] || idA == idB {
		t.Errorf("a base swap with the same interpreter changed the keys (%v, %v) or kept the env id", a, b)
	}
	// Another environment holding six: six's key is the same.
	c, _ := keysOf(t, wheelTarget(six, wheel("idna", "3.6", "3")), base("9", "sha256:interp"), "linux/amd64", on)
	if c["six"] != a["six"] || c["idna"] == a["idna"] {
		t.Errorf("keys %v vs %v", c, a)
	}
	for name, o := range map[string]struct {
		lt   lockfile.Target
		b    Base
		host string
		opt  Options
	}{
		"another interpreter": {wheelTarget(six, idna), base("9", "sha256:other"), "linux/amd64", on},
		"no bytecode":         {wheelTarget(six, idna), base("9", "sha256:interp"), "linux/amd64", Options{}},
		"BuildKit on arm64":   {wheelTarget(six, idna), base("9", "sha256:interp"), "linux/arm64", on},
		"zstd":                {wheelTarget(six, idna), base("9", "sha256:interp"), "linux/amd64", Options{Bytecode: true, Compression: "zstd"}},
		"a salt":              {wheelTarget(six, idna), base("9", "sha256:interp"), "linux/amd64", Options{Bytecode: true, CacheSalt: "2026-12"}},
		"gzip level 1":        {wheelTarget(six, idna), base("9", "sha256:interp"), "linux/amd64", Options{Bytecode: true, CompressionLevel: 1}},
	} {
		got, _ := keysOf(t, o.lt, o.b, o.host, o.opt)
		if got["six"] == a["six"] {
			t.Errorf("%s: six's key did not change", name)
		}
	}
	// gzip named or left to the default is one key: keys made before a
	// level could be set are unchanged.
	if gz, _ := keysOf(t, wheelTarget(six, idna), base("9", "sha256:interp"), "linux/amd64", Options{Bytecode: true, Compression: "gzip"}); gz["six"] != a["six"] {
		t.Errorf("gzip named: six's key %s, default %s", gz["six"], a["six"])
	}
	// Without bytecode the interpreter does not matter.
	d, _ := keysOf(t, wheelTarget(six), base("9", "sha256:interp"), NoHost, on)
	e, _ := keysOf(t, wheelTarget(six), base("7", "sha256:other"), NoHost, on)
	if d["six"] != e["six"] {
		t.Errorf("without bytecode the key depends on the base: %s vs %s", d["six"], e["six"])
	}
	// A wheel built from an sdist keys on the base.
	sd := six
	sd.Kind, sd.Filename = "sdist", "six-1.16.0.tar.gz"
	f, _ := keysOf(t, wheelTarget(sd), base("9", "sha256:interp"), "linux/amd64", on)
	g, _ := keysOf(t, wheelTarget(sd), base("8", "sha256:interp"), "linux/amd64", on)
	if f["six"] == g["six"] {
		t.Error("an sdist-built layer has the same key on two bases")
	}
}

// Whether bytecode is compiled enters the env id: each possible BuildKit
// platform names its own image.
func TestEnvIDPerBytecodeHost(t *testing.T) {
	lt := wheelTarget(wheel("six", "1.16.0", "1"))
	_, amd := keysOf(t, lt, base("9", "x"), "linux/amd64", Options{Bytecode: true})
	_, none := keysOf(t, lt, base("9", "x"), NoHost, Options{Bytecode: true})
	_, arm := keysOf(t, lt, base("9", "x"), "linux/arm64", Options{Bytecode: true})
	if amd == none || none != arm {
		t.Errorf("env ids: amd64 host %s, none %s, arm64 host %s", amd, none, arm)
	}
	if got := HostCandidates([]string{"linux/amd64", "linux/arm64"}, true); len(got) != 3 || got[2] != NoHost {
		t.Errorf("candidates %v", got)
	}
	if got := HostCandidates([]string{"linux/amd64"}, false); len(got) != 1 {
		t.Errorf("candidates without bytecode %v", got)
	}
}

// A grouped layer's key is its members' keys and the budget.
func TestGroupedLayerKey(t *testing.T) {
	var pkgs []lockfile.Package
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		pkgs = append(pkgs, wheel(n, "1.0", n))
	}
	env := &lockfile.Env{Name: "default", Targets: []lockfile.Target{wheelTarget(pkgs...)}}
	mk := func(budget int) []Layer {
		p, err := Make(Input{EnvName: "default", Env: env, Platforms: []string{"linux/amd64"}, HostPlatform: "linux/amd64", Options: Options{Bytecode: true, LayerBudget: budget}, Bases: map[string]Base{"linux/amd64": base("9", "i")}})
		if err != nil {
			t.Fatal(err)
		}
		return p.Platforms[0].Layers
	}
	four, five := mk(4), mk(5)
	seen := map[string]bool{}
	for _, l := range append(append([]Layer(nil), four...), five...) {
		if len(l.Packages) > 1 {
			if seen[l.Key] {
				t.Errorf("grouped layer %s shares its key across budgets", l.Name)
			}
			seen[l.Key] = true
		}
	}
	if len(seen) == 0 {
		t.Fatal("no grouped layer")
	}
}

// The candidate HostCandidate picks for a BuildKit platform makes the
// plan Make makes for that platform: the same env id and layer keys, on
// one platform or two, with bytecode on or off, so a build plans before
// asking BuildKit and only lowers with its platform.
func TestHostCandidateIsTheHostsPlan(t *testing.T) {
	amd := wheelTarget(wheel("six", "1.16.0", "1"), wheel("idna", "3.7", "2"))
	arm := amd
	arm.Target.Platform = "linux/arm64"
	env := &lockfile.Env{Name: "default", Targets: []lockfile.Target{amd, arm}}
	bases := map[string]Base{"linux/amd64": base("9", "x"), "linux/arm64": base("8", "y")}
	for _, platforms := range [][]string{{"linux/amd64"}, {"linux/amd64", "linux/arm64"}, {"linux/arm64"}} {
		for _, bytecode := range []bool{true, false} {
			in := Input{EnvName: "default", Env: env, Platforms: platforms, Bases: bases, Options: Options{Bytecode: bytecode}}
			for _, host := range []string{"linux/amd64", "linux/arm64/v8", "linux/arm64", "linux/s390x"} {
				in.HostPlatform = host
				want, err := Make(in)
				if err != nil {
					t.Fatal(err)
				}
				in.HostPlatform = HostCandidate(platforms, host)
				got, err := Make(in)
				if err != nil {
					t.Fatal(err)
				}
				if got.EnvID != want.EnvID {
					t.Errorf("%v, bytecode %v, host %s: candidate %s has env id %s, want %s", platforms, bytecode, host, in.HostPlatform, got.EnvID, want.EnvID)
				}
				for i := range want.Platforms {
					for j, l := range want.Platforms[i].Layers {
						if g := got.Platforms[i].Layers[j]; g.Key != l.Key || g.Compile != l.Compile {
							t.Errorf("%v, host %s: layer %s differs", platforms, host, l.Name)
						}
					}
				}
			}
		}
	}
	if got := HostCandidate([]string{"linux/amd64", "linux/arm64"}, "linux/arm64/v8"); got != "linux/arm64" {
		t.Errorf("HostCandidate(arm64/v8) = %q", got)
	}
	if got := HostCandidate([]string{"linux/amd64"}, "linux/arm64"); got != NoHost {
		t.Errorf("HostCandidate(another platform) = %q", got)
	}
}
