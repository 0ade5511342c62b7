package plan

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/envbuild/envbuild/lock/lockfile"
)

func envIDOf(t *testing.T, lt lockfile.Target, b Base, o Options) string {
	t.Helper()
	_, id := keysOf(t, lt, b, "linux/amd64", o)
	return id
}

// The env id hashes what ends up in the image, and nothing else: not the
// URLs, the index, the order of the lock's packages or which were asked
// for by name.
func TestEnvIDStability(t *testing.T) {
	six, idna := wheel("six", "1.16.0", "1"), wheel("idna", "3.7", "2")
	b := base("9", "sha256:interp")
	on := Options{Bytecode: true}
	id := envIDOf(t, wheelTarget(six, idna), b, on)
	// A fixed input has a fixed id: a change here changes every image.
	if want := "cba3e99d3963053db7628f1bda37d4729a4e82296d75f79779507c943aa5a214"; id != want {
		t.Errorf("env id %s, want %s", id, want)
	}

	mirror := six
	mirror.URL, mirror.Index, mirror.Requested, mirror.Spec = "https://mirror.example/six.whl", "mirror", true, "six>=1"
	mirror.Depends = []string{"nothing"}
	if got := envIDOf(t, wheelTarget(idna, mirror), b, on); got != id {
		t.Errorf("another mirror, order, spec wording or dependency list changed the env id: %s vs %s", got, id)
	}

	for name, c := range map[string]struct {
		lt lockfile.Target
		b  Base
		o  Options
	}{
		"another artifact":     {wheelTarget(wheel("six", "1.16.0", "3"), idna), b, on},
		"another version":      {wheelTarget(wheel("six", "1.17.0", "1"), idna), b, on},
		"another base":         {wheelTarget(six, idna), base("8", "sha256:interp"), on},
		"bytecode off":         {wheelTarget(six, idna), b, Options{}},
		"another layer budget": {wheelTarget(six, idna), b, Options{Bytecode: true, LayerBudget: 10}},
		"one package fewer":    {wheelTarget(six), b, on},
		"python from conda": {func() lockfile.Target {
			lt := wheelTarget(six, idna)
			lt.PythonSource = lockfile.PythonFromConda
			return lt
		}(), b, on},
		"another platform": {func() lockfile.Target { lt := wheelTarget(six, idna); lt.Platform = "linux/arm64"; return lt }(), b, on},
	} {
		if got := envIDOf(t, c.lt, c.b, c.o); got == id {
			t.Errorf("%s: the env id did not change", name)
		}
	}
	// Neither the compression nor the cache salt enter the env id: they
	// change layer keys, not what the image holds.
	for name, o := range map[string]Options{"zstd": {Bytecode: true, Compression: "zstd"}, "salt": {Bytecode: true, CacheSalt: "x"}} {
		if got := envIDOf(t, wheelTarget(six, idna), b, o); got != id {
			t.Errorf("%s changed the env id", name)
		}
	}
}

// Each package gets its own layer, in name order, while they fit the
// budget; past it, the biggest half of the budget keep their own and the
// rest share the remaining layers, consecutive in name order.
func TestGroupLayers(t *testing.T) {
	var pkgs []lockfile.Package
	for i, name := range []string{"g", "c", "a", "f", "b", "e", "d"} {
		p := wheel(name, "1.0", fmt.Sprint(i))
		p.Size = int64(100 * (i + 1)) // g smallest ... d biggest
		pkgs = append(pkgs, p)
	}
	names := func(ls []Layer) []string {
		var out []string
		for _, l := range ls {
			var n []string
			for _, p := range l.Packages {
				n = append(n, p.Name)
			}
			out = append(out, strings.Join(n, "+"))
		}
		return out
	}
	if got, want := names(groupLayers(pkgs, 7)), []string{"a", "b", "c", "d", "e", "f", "g"}; !reflect.DeepEqual(got, want) {
		t.Errorf("within the budget: %v, want %v", got, want)
	}
	// Budget 4: the 2 biggest (d, e) alone; a b c f g in 2 groups of 3 and 2.
	got := groupLayers(pkgs, 4)
	if want := []string{"a+b+c", "d", "e", "f+g"}; !reflect.DeepEqual(names(got), want) {
		t.Errorf("over the budget: %v, want %v", names(got), want)
	}
	if got[0].Name != "a … c (3 packages)" || got[1].Name != "d 1.0" {
		t.Errorf("layer names %q, %q", got[0].Name, got[1].Name)
	}
	// Changing one small pin changes one group only.
	pkgs[0].Version = "2.0" // g
	again := groupLayers(pkgs, 4)
	changed := 0
	for i := range got {
		if !reflect.DeepEqual(got[i], again[i]) {
			changed++
		}
	}
	if changed != 1 {
		t.Errorf("one pin changed %d layers", changed)
	}
}

// The image config keeps the base's and appends envbuild's: the fixed
// creation time, labels, one history entry per added layer, the added
// diff ids after the base's, and the platform spelled out.
func TestImageConfig(t *testing.T) {
	lt := wheelTarget(wheel("six", "1.16.0", "1"), wheel("idna", "3.7", "2"))
	lt.Platform = "linux/arm64"
	b := base("9", "sha256:interp")
	baseDiff := "sha256:" + sha("a")
	b.Config = &v1.ConfigFile{
		Architecture: "arm64", OS: "linux", Variant: "v8",
		Config:  v1.Config{Env: []string{"LANG=C.UTF-8"}, Cmd: []string{"python3"}},
		History: []v1.History{{CreatedBy: "base layer"}},
		RootFS:  v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{mustHash(t, baseDiff)}},
	}
	env := &lockfile.Env{Name: "train", Targets: []lockfile.Target{lt}}
	p, err := Make(Input{EnvName: "train", Env: env, Platforms: []string{"linux/arm64"}, HostPlatform: "linux/amd64", Options: Options{Bytecode: true}, LockDigest: "sha256:lock", Bases: map[string]Base{"linux/arm64": b}})
	if err != nil {
		t.Fatal(err)
	}
	added := []string{"sha256:" + sha("b"), "sha256:" + sha("c"), "sha256:" + sha("d")}
	data, err := ImageConfig(p, p.Platforms[0], added)
	if err != nil {
		t.Fatal(err)
	}
	var cfg v1.ConfigFile
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture != "arm64" || cfg.Variant != "v8" || !cfg.Created.Time.Equal(Created) {
		t.Errorf("platform %s/%s/%s, created %v", cfg.OS, cfg.Architecture, cfg.Variant, cfg.Created)
	}
	wantEnv := []string{"LANG=C.UTF-8", "PATH=/opt/envbuild/env/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "VIRTUAL_ENV=/opt/envbuild/env"}
	if !reflect.DeepEqual(cfg.Config.Env, wantEnv) || !reflect.DeepEqual(cfg.Config.Cmd, []string{"python3"}) {
		t.Errorf("env %q, cmd %q", cfg.Config.Env, cfg.Config.Cmd)
	}
	if cfg.Config.Labels[LabelEnvID] != p.EnvID || cfg.Config.Labels[LabelLockDigest] != "sha256:lock" || cfg.Config.Labels[LabelEnvName] != "train" {
		t.Errorf("labels %v", cfg.Config.Labels)
	}
	var hist []string
	for _, h := range cfg.History {
		hist = append(hist, h.CreatedBy)
	}
	if want := []string{"base layer", "envbuild: install idna 3.7", "envbuild: install six 1.16.0", "envbuild: environment train metadata"}; !reflect.DeepEqual(hist, want) {
		t.Errorf("history %q, want %q", hist, want)
	}
	var diffs []string
	for _, d := range cfg.RootFS.DiffIDs {
		diffs = append(diffs, d.String())
	}
	if want := append([]string{baseDiff}, added...); !reflect.DeepEqual(diffs, want) {
		t.Errorf("diff ids %q, want %q", diffs, want)
	}
	if again, _ := ImageConfig(p, p.Platforms[0], added); string(again) != string(data) {
		t.Errorf("two calls gave different bytes")
	}
	if _, err := ImageConfig(p, p.Platforms[0], []string{"not-a-digest"}); err == nil {
		t.Errorf("a bad diff id was accepted")
	}
}

func mustHash(t *testing.T, s string) v1.Hash {
	t.Helper()
	h, err := v1.NewHash(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
