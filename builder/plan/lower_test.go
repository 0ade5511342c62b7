package plan

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"

	"github.com/envbuild/envbuild/builder/installstep"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/target"
)

func sha(c string) string { return strings.Repeat(c, 64) }

// condaTarget is a conda environment: python (with a dependency), a
// compiled conda package, a noarch: python package and a PyPI wheel.
func condaTarget() lockfile.Target {
	return lockfile.Target{Target: target.Target{Platform: "linux/amd64", Python: "3.11.2", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36"}, PythonSource: lockfile.PythonFromConda,
		Packages: []lockfile.Package{
			{Name: "python", Version: "3.11.2", Source: lockfile.SourceConda, Kind: lockfile.KindConda, Build: "h_0", URL: "http://ch/linux-64/python-3.11.2-h_0.conda", Filename: "python-3.11.2-h_0.conda", Sha256: sha("1"), Depends: []string{"libz"}},
			{Name: "libz", Version: "1.3", Source: lockfile.SourceConda, Kind: lockfile.KindTarBz2, Build: "h_0", URL: "http://ch/linux-64/libz-1.3-h_0.tar.bz2", Filename: "libz-1.3-h_0.tar.bz2", Sha256: sha("2")},
			{Name: "prog", Version: "1.0", Source: lockfile.SourceConda, Kind: lockfile.KindConda, Build: "h_0", URL: "http://ch/linux-64/prog-1.0-h_0.conda", Filename: "prog-1.0-h_0.conda", Sha256: sha("3")},
			{Name: "hello", Version: "1.0", Source: lockfile.SourceConda, Kind: lockfile.KindTarBz2, Build: "pyh_0", Noarch: "python", URL: "http://ch/noarch/hello-1.0-pyh_0.tar.bz2", Filename: "hello-1.0-pyh_0.tar.bz2", Sha256: sha("4"), Depends: []string{"python"}, Requested: true, Spec: "hello"},
			{Name: "six", Version: "1.16.0", Source: lockfile.SourcePyPI, Kind: lockfile.KindWheel, URL: "http://pypi/six-1.16.0-py2.py3-none-any.whl", Filename: "six-1.16.0-py2.py3-none-any.whl", Sha256: sha("5")},
		},
	}
}

func makePlan(t *testing.T, lt lockfile.Target, host string) *Plan {
	t.Helper()
	return makePlanWith(t, lt, host, Options{Bytecode: true})
}

// makePlanWith is makePlan with options o.
func makePlanWith(t *testing.T, lt lockfile.Target, host string, o Options) *Plan {
	t.Helper()
	env := &lockfile.Env{Name: "default", Targets: []lockfile.Target{lt}}
	p, err := Make(Input{EnvName: "default", Env: env, Platforms: []string{lt.Platform}, HostPlatform: host, Options: o,
		Bases: map[string]Base{lt.Platform: {Ref: "reg/base@sha256:" + sha("9"), ManifestDigest: "sha256:" + sha("9"), Config: &v1.ConfigFile{}, Interpreter: "/usr/bin/python3.11", PythonVersion: "3.11.2"}}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// execs lowers the plan's first platform and returns its exec ops by the
// installer arguments' package file names, with the digests of their
// root inputs.
type execOp struct {
	args string
	self digest.Digest
	root digest.Digest // "" for an empty (scratch) root
}

// testOptions are the lowering options the tests start from.
func testOptions() LowerOptions {
	return LowerOptions{Installer: llb.Scratch(), InstallerName: "envbuild", HostPlatform: "linux/amd64"}
}

// loweredOp is one op of a lowered graph, with its digest.
type loweredOp struct {
	dgst digest.Digest
	op   *pb.Op
}

// lowerOps lowers the plan's first platform with opt and returns the ops
// of the whole graph (Lowered.Layers), in the marshalled order.
func lowerOps(t *testing.T, p *Plan, opt LowerOptions) []loweredOp {
	t.Helper()
	lw, err := Lower(p, p.Platforms[0], opt)
	if err != nil {
		t.Fatal(err)
	}
	def, err := lw.Layers.Marshal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ops := make([]loweredOp, 0, len(def.Def))
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.Unmarshal(dt); err != nil {
			t.Fatal(err)
		}
		ops = append(ops, loweredOp{dgst: digest.FromBytes(dt), op: &op})
	}
	return ops
}

func lowerExecs(t *testing.T, p *Plan) (map[string]execOp, map[digest.Digest]*pb.Op) {
	t.Helper()
	ops := map[digest.Digest]*pb.Op{}
	execs := map[string]execOp{}
	for _, lo := range lowerOps(t, p, testOptions()) {
		op := lo.op
		ops[lo.dgst] = op
		if e := op.GetExec(); e != nil {
			args := strings.Join(e.Meta.Args, " ")
			x := execOp{args: args, self: lo.dgst}
			for _, m := range e.Mounts {
				if m.Dest == "/" && m.Input >= 0 {
					x.root = digest.Digest(op.Inputs[m.Input].Digest)
				}
			}
			for _, pk := range p.Platforms[0].Target.Packages {
				if strings.Contains(args, "/"+pk.Filename) {
					execs[pk.Name] = x
				}
			}
		}
	}
	return execs, ops
}

func TestLowerCondaBytecode(t *testing.T) {
	p := makePlan(t, condaTarget(), "linux/amd64")
	execs, ops := lowerExecs(t, p)
	for _, c := range []struct {
		name    string
		compile bool
	}{{"python", false}, {"libz", false}, {"prog", false}, {"hello", true}, {"six", true}} {
		e, ok := execs[c.name]
		if !ok {
			t.Fatalf("no install step for %s", c.name)
		}
		hasCompile := strings.Contains(e.args, "compile --root /out --python-exe /opt/envbuild/env/bin/python")
		if hasCompile != c.compile {
			t.Errorf("%s: compiled with the environment's python = %v, want %v (%s)", c.name, hasCompile, c.compile, e.args)
		}
		if strings.Contains(e.args, "/usr/bin/python3.11") {
			t.Errorf("%s: the base's interpreter is used in a conda environment: %s", c.name, e.args)
		}
		if !c.compile {
			if e.root != "" {
				t.Errorf("%s runs on %v, want an empty root", c.name, ops[e.root])
			}
			continue
		}
		// The root is the base with python's and libz's layers merged on.
		root := ops[e.root]
		if root == nil || root.GetMerge() == nil || len(root.Inputs) != 3 {
			t.Fatalf("%s compiles on %v, want a merge of the base, python's and libz's layers", c.name, root)
		}
		want := map[digest.Digest]bool{execs["python"].self: true, execs["libz"].self: true}
		for _, in := range root.Inputs[1:] {
			if !want[digest.Digest(in.Digest)] {
				t.Errorf("%s compiles on a merge holding %s, which is neither python's nor libz's layer", c.name, in.Digest)
			}
		}
		if src := ops[digest.Digest(root.Inputs[0].Digest)].GetSource(); src == nil || !strings.HasPrefix(src.Identifier, "docker-image://docker.io/reg/base@") {
			t.Errorf("%s: the merge does not start with the base image: %v", c.name, src)
		}
	}
	if len(p.Platforms[0].Notes) == 0 || !strings.Contains(p.Platforms[0].Notes[0], "Python 3.11.2 from conda") {
		t.Errorf("notes %q do not say the Python is conda's", p.Platforms[0].Notes)
	}
}

func TestLowerCondaOtherPlatform(t *testing.T) {
	lt := condaTarget()
	lt.Platform = "linux/arm64"
	p := makePlan(t, lt, "linux/amd64")
	if p.Platforms[0].Bytecode {
		t.Fatal("bytecode planned for arm64 on an amd64 BuildKit")
	}
	execs, _ := lowerExecs(t, p)
	for n, e := range execs {
		if strings.Contains(e.args, "compile") {
			t.Errorf("%s compiles bytecode for another platform: %s", n, e.args)
		}
	}
	found := false
	for _, n := range p.Platforms[0].Notes {
		found = found || strings.Contains(n, "bytecode not compiled for linux/arm64")
	}
	if !found {
		t.Errorf("notes %q do not say bytecode is skipped", p.Platforms[0].Notes)
	}
}

func TestMakeCondaRefusesSdist(t *testing.T) {
	lt := condaTarget()
	lt.Packages = append(lt.Packages, lockfile.Package{Name: "x", Version: "1", Source: lockfile.SourcePyPI, Kind: lockfile.KindSdist, Sha256: sha("6"), Filename: "x-1.tar.gz"})
	env := &lockfile.Env{Name: "default", Targets: []lockfile.Target{lt}}
	_, err := Make(Input{EnvName: "default", Env: env, Platforms: []string{"linux/amd64"}, HostPlatform: "linux/amd64",
		Bases: map[string]Base{"linux/amd64": {Ref: "b", Config: &v1.ConfigFile{}}}})
	if err == nil || !strings.Contains(err.Error(), "conda Python") {
		t.Errorf("got %v, want a refusal of an sdist on a conda Python", err)
	}
}

func TestImageConfigConda(t *testing.T) {
	p := makePlan(t, condaTarget(), "linux/amd64")
	b, err := ImageConfig(p, p.Platforms[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "VIRTUAL_ENV") || !strings.Contains(string(b), "PATH=/opt/envbuild/env/bin:") {
		t.Errorf("config %s: want PATH first and no VIRTUAL_ENV for a conda Python", b)
	}
}

// A base whose config sets PYTHONPATH or PYTHONHOME: the image keeps the
// rest of its config (other variables, user, working directory,
// entrypoint, labels) but not these two, which would put the base's
// packages before the environment's or replace the environment's Python;
// their values stay as labels, and the plan says so.
func TestImageConfigDropsBasePythonPathAndHome(t *testing.T) {
	for _, lt := range []lockfile.Target{condaTarget(), func() lockfile.Target { t := condaTarget(); t.PythonSource = lockfile.PythonFromBase; return t }()} {
		env := &lockfile.Env{Name: "default", Targets: []lockfile.Target{lt}}
		baseCfg := &v1.ConfigFile{Config: v1.Config{
			Env:        []string{"PATH=/usr/local/bin:/usr/bin:/bin", "PYTHONPATH=/opt/base/lib", "LANG=C.UTF-8", "PYTHONHOME=/usr", "PYTHONUNBUFFERED=1"},
			User:       "1000:1000",
			WorkingDir: "/work",
			Entrypoint: []string{"/entry.sh"},
			Labels:     map[string]string{"team": "ml"},
		}}
		p, err := Make(Input{EnvName: "default", Env: env, Platforms: []string{lt.Platform}, HostPlatform: "linux/amd64", Options: Options{Bytecode: true},
			Bases: map[string]Base{lt.Platform: {Ref: "reg/base@sha256:" + sha("9"), ManifestDigest: "sha256:" + sha("9"), Config: baseCfg, Interpreter: "/usr/bin/python3.11", PythonVersion: "3.11.2"}}})
		if err != nil {
			t.Fatal(err)
		}
		b, err := ImageConfig(p, p.Platforms[0], nil)
		if err != nil {
			t.Fatal(err)
		}
		var cfg v1.ConfigFile
		if err := json.Unmarshal(b, &cfg); err != nil {
			t.Fatal(err)
		}
		wantEnv := []string{"PATH=/opt/envbuild/env/bin:/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "PYTHONUNBUFFERED=1"}
		if lt.PythonSource == lockfile.PythonFromBase {
			wantEnv = append(wantEnv, "VIRTUAL_ENV=/opt/envbuild/env")
		}
		if !reflect.DeepEqual(cfg.Config.Env, wantEnv) {
			t.Errorf("%s: env %q, want %q", lt.PythonSource, cfg.Config.Env, wantEnv)
		}
		if cfg.Config.User != "1000:1000" || cfg.Config.WorkingDir != "/work" || !reflect.DeepEqual(cfg.Config.Entrypoint, []string{"/entry.sh"}) || cfg.Config.Labels["team"] != "ml" {
			t.Errorf("%s: the base's user, working directory, entrypoint or labels were not kept: %+v", lt.PythonSource, cfg.Config)
		}
		if cfg.Config.Labels[LabelBaseEnvPrefix+"PYTHONPATH"] != "/opt/base/lib" || cfg.Config.Labels[LabelBaseEnvPrefix+"PYTHONHOME"] != "/usr" {
			t.Errorf("%s: labels %v do not keep the removed values", lt.PythonSource, cfg.Config.Labels)
		}
		if baseCfg.Config.Env[1] != "PYTHONPATH=/opt/base/lib" {
			t.Errorf("the base's config was modified: %q", baseCfg.Config.Env)
		}
		notes := strings.Join(p.Platforms[0].Notes, "\n")
		if !strings.Contains(notes, "PYTHONPATH=/opt/base/lib") || !strings.Contains(notes, "PYTHONHOME=/usr") {
			t.Errorf("%s: notes %q do not say PYTHONPATH and PYTHONHOME are left unset", lt.PythonSource, notes)
		}
	}
}

// With a compile root, the steps that compile bytecode with the base's
// interpreter run on it, and nothing of the build reads the base.
func TestLowerOnCompileRoot(t *testing.T) {
	lt := lockfile.Target{Target: target.Target{Platform: "linux/amd64", Python: "3.11.2", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36"}, PythonSource: lockfile.PythonFromBase,
		Packages: []lockfile.Package{{Name: "six", Version: "1.16.0", Source: lockfile.SourcePyPI, Kind: lockfile.KindWheel, URL: "http://pypi/six-1.16.0-py2.py3-none-any.whl", Filename: "six-1.16.0-py2.py3-none-any.whl", Sha256: sha("5")}}}
	p := makePlan(t, lt, "linux/amd64")
	pp := p.Platforms[0]
	opt := testOptions()
	opt.CompileRoot = "reg/cache@sha256:" + sha("7")
	var sources []string
	for _, lo := range lowerOps(t, p, opt) {
		if s := lo.op.GetSource(); s != nil && strings.HasPrefix(s.Identifier, "docker-image://") {
			sources = append(sources, s.Identifier)
		}
	}
	if len(sources) != 1 || !strings.Contains(sources[0], "reg/cache@") {
		t.Errorf("images read by the build: %v; want the compile root alone", sources)
	}

	recorded := func(keys ...string) func(string) bool {
		return func(k string) bool {
			for _, x := range keys {
				if x == k {
					return true
				}
			}
			return false
		}
	}
	if !CompilesOnBase(pp, recorded()) || CompilesOnBase(pp, recorded(pp.Layers[0].Key)) {
		t.Error("CompilesOnBase: want true while six's layer is missing, false once it is recorded")
	}
	if c := makePlan(t, condaTarget(), "linux/amd64").Platforms[0]; CompilesOnBase(c, recorded()) {
		t.Error("a conda Python compiles on its own python, not on the base's compile root")
	}
	k := CompileRootKey(pp, "")
	other := pp
	other.Base.ManifestDigest = "sha256:" + sha("8")
	if k == CompileRootKey(other, "") || k == CompileRootKey(pp, "2026-12") || k != CompileRootKey(pp, "") || k == pp.Layers[0].Key {
		t.Error("CompileRootKey: want one key per base and salt, stable, and no layer's")
	}
}

// Every install step the planner writes parses as the installer parses
// it: the two sides of the protocol agree.
func TestLoweredStepsParse(t *testing.T) {
	for _, lt := range []lockfile.Target{condaTarget(), {Target: target.Target{Platform: "linux/amd64", Python: "3.13.1", FreeThreaded: true, Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36"}, PythonSource: lockfile.PythonFromBase,
		Packages: []lockfile.Package{
			{Name: "six", Version: "1.16.0", Source: lockfile.SourcePyPI, Kind: lockfile.KindWheel, URL: "http://pypi/six.whl", Filename: "six-1.16.0-py2.py3-none-any.whl", Sha256: sha("5")},
			{Name: "foo", Version: "1.0", Source: lockfile.SourcePyPI, Kind: lockfile.KindSdist, URL: "http://pypi/foo-1.0.tar.gz", Filename: "foo-1.0.tar.gz", Sha256: sha("6")},
		},
	}} {
		p := makePlan(t, lt, "linux/amd64")
		n := 0
		for _, lo := range lowerOps(t, p, testOptions()) {
			op := lo.op
			e := op.GetExec()
			if e == nil || len(e.Meta.Args) < 2 || e.Meta.Args[1] != installstep.Command {
				continue
			}
			n++
			steps, err := installstep.ParseAll(e.Meta.Args[2:])
			if err != nil {
				t.Errorf("%q does not parse: %v", e.Meta.Args, err)
				continue
			}
			if k := steps[len(steps)-1].Kind; k != installstep.LayerMeta {
				t.Errorf("%q ends with %s, want layermeta", e.Meta.Args, k)
			}
			if !slices.Contains(e.Meta.Env, installstep.SourceDateEpochVar+"="+installstep.SourceDateEpoch) {
				t.Errorf("%q runs without %s: %q", e.Meta.Args, installstep.SourceDateEpochVar, e.Meta.Env)
			}
		}
		if n != len(p.Platforms[0].Layers) {
			t.Errorf("%d install steps, want one per layer (%d)", n, len(p.Platforms[0].Layers))
		}
	}
}

// With NoContentHash, every artifact mount of an install step (under
// /in/) turns its content-based cache key off, and only those; without
// it, none does (a daemon before BuildKit v0.12 refuses the option).
func TestLowerNoContentHash(t *testing.T) {
	p := makePlan(t, condaTarget(), "linux/amd64")
	for _, off := range []bool{false, true} {
		opt := testOptions()
		opt.NoContentHash = off
		artifacts := 0
		for _, lo := range lowerOps(t, p, opt) {
			op := lo.op
			e := op.GetExec()
			if e == nil {
				continue
			}
			for _, m := range e.Mounts {
				isArtifact := strings.HasPrefix(m.Dest, "/in/")
				if isArtifact {
					artifacts++
				}
				want := pb.MountContentCache_DEFAULT
				if off && isArtifact {
					want = pb.MountContentCache_OFF
				}
				if m.ContentCache != want {
					t.Errorf("NoContentHash %v: mount %s has content cache %s, want %s", off, m.Dest, m.ContentCache, want)
				}
			}
		}
		if artifacts != len(p.Platforms[0].Target.Packages) {
			t.Errorf("%d artifact mounts, want one per package (%d)", artifacts, len(p.Platforms[0].Target.Packages))
		}
	}
}
