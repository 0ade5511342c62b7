package plan

import (
	"fmt"
	"math/bits"
	"reflect"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/builder/installstep"
	"github.com/envbuild/envbuild/lock/lockfile"
)

const mib = 1 << 20

func sized(p lockfile.Package, size int64) lockfile.Package {
	p.Size = size
	return p
}

// layerNames lists the layers' names.
func layerNames(ls []Layer) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Name)
	}
	return out
}

// A wheel of SplitSize or more is installed in one layer per SplitSize
// (rounded up), at most installstep.MaxParts, the biggest wheels first
// while the layer budget has room; conda packages and sdists stay whole.
func TestSplitLayers(t *testing.T) {
	conda := lockfile.Package{Name: "mkl", Version: "2024.0", Source: lockfile.SourceConda, Kind: lockfile.KindConda, Filename: "mkl.conda", Sha256: sha("c"), Size: 900 * mib}
	sdist := wheel("big-sdist", "1.0", "d")
	sdist.Kind, sdist.Size = lockfile.KindSdist, 900*mib
	pkgs := []lockfile.Package{
		sized(wheel("torch", "2.5.1", "1"), 900*mib),
		sized(wheel("nvidia-cudnn", "9.1", "2"), 600*mib),
		sized(wheel("numpy", "2.1.3", "3"), 16*mib),
		sized(wheel("edge", "1.0", "4"), SplitSize-1),
		sized(wheel("exact", "1.0", "5"), SplitSize),
		conda, sdist,
	}
	got := splitLayers(groupLayers(pkgs, 100), 100)
	want := []string{
		"big-sdist 1.0", "edge 1.0", "exact 1.0", "mkl 2024.0", "numpy 2.1.3",
		"nvidia-cudnn 9.1 (part 1 of 3)", "nvidia-cudnn 9.1 (part 2 of 3)", "nvidia-cudnn 9.1 (part 3 of 3)",
		"torch 2.5.1 (part 1 of 4)", "torch 2.5.1 (part 2 of 4)", "torch 2.5.1 (part 3 of 4)", "torch 2.5.1 (part 4 of 4)",
	}
	if names := layerNames(got); !reflect.DeepEqual(names, want) {
		t.Errorf("got layers %q, want %q", names, want)
	}
	for _, l := range got {
		if n := strings.Index(l.Name, "(part "); (n >= 0) != (l.Parts > 0) || n >= 0 && l.Name[n:] != fmt.Sprintf("(part %d of %d)", l.Part+1, l.Parts) {
			t.Errorf("layer %q is part %d of %d", l.Name, l.Part, l.Parts)
		}
	}

	// Seven layers unsplit: a budget of 9 leaves room for two more, which
	// go to torch, the biggest; nvidia-cudnn stays whole.
	got = splitLayers(groupLayers(pkgs, 9), 9)
	if len(got) != 9 || got[8].Name != "torch 2.5.1 (part 3 of 3)" || got[5].Name != "nvidia-cudnn 9.1" {
		t.Errorf("budget 9: got %q", layerNames(got))
	}
	// A full budget splits nothing.
	if got := splitLayers(groupLayers(pkgs, 7), 7); len(got) != 7 {
		t.Errorf("budget 7: got %q", layerNames(got))
	}
	// A grouped layer is never split, however big.
	grouped := splitLayers(groupLayers(pkgs, 4), 100)
	for _, l := range grouped {
		if len(l.Packages) > 1 && l.Parts > 0 {
			t.Errorf("grouped layer %q was split", l.Name)
		}
	}
	// The most parts a wheel gets.
	huge := splitLayers(groupLayers([]lockfile.Package{sized(wheel("huge", "1", "1"), 100*SplitSize)}, 100), 100)
	if len(huge) != installstep.MaxParts {
		t.Errorf("a wheel of 100 split sizes: %d layers, want %d", len(huge), installstep.MaxParts)
	}
}

// Each part of a big wheel has a key of its own. Part 0 holds the .py
// files and compiles them; the other parts do not compile, so their keys
// do not depend on the base's interpreter.
func TestSplitLayerKeys(t *testing.T) {
	torch := sized(wheel("torch", "2.5.1", "1"), 900*mib)
	six := wheel("six", "1.16.0", "2")
	layers := func(b Base, o Options) []Layer {
		env := &lockfile.Env{Name: "default", Targets: []lockfile.Target{wheelTarget(torch, six)}}
		p, err := Make(Input{EnvName: "default", Env: env, Platforms: []string{"linux/amd64"}, HostPlatform: "linux/amd64", Options: o, Bases: map[string]Base{"linux/amd64": b}})
		if err != nil {
			t.Fatal(err)
		}
		return p.Platforms[0].Layers
	}
	on := Options{Bytecode: true}
	a := layers(base("9", "sha256:interp"), on)
	other := layers(base("9", "sha256:other"), on)
	if len(a) != 5 {
		t.Fatalf("got layers %q, want six and 4 parts of torch", layerNames(a))
	}
	seen := map[string]bool{}
	for i, l := range a {
		if seen[l.Key] {
			t.Errorf("layer %q shares its key", l.Name)
		}
		seen[l.Key] = true
		if l.Parts == 0 {
			continue
		}
		if l.Compile != (l.Part == 0) {
			t.Errorf("%q: compile %v", l.Name, l.Compile)
		}
		if same := l.Key == other[i].Key; same != (l.Part > 0) {
			t.Errorf("%q: key the same with another interpreter: %v, want %v", l.Name, same, l.Part > 0)
		}
	}
	// Whole, torch's key is another than any part's.
	unsplit := torch
	unsplit.Size = 100 * mib
	env := &lockfile.Env{Name: "default", Targets: []lockfile.Target{wheelTarget(unsplit, six)}}
	p, err := Make(Input{EnvName: "default", Env: env, Platforms: []string{"linux/amd64"}, HostPlatform: "linux/amd64", Options: on, Bases: map[string]Base{"linux/amd64": base("9", "sha256:interp")}})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range p.Platforms[0].Layers {
		if seen[l.Key] != (l.Packages[0].Name == "six") {
			t.Errorf("whole layer %q: key shared with the split plan: %v", l.Name, seen[l.Key])
		}
	}
}

// The env id of an environment with a split wheel names the split (its
// image's layers differ from the unsplit one's); ids of environments
// without one are as they were (TestEnvIDStability pins one).
func TestSplitEnvID(t *testing.T) {
	b, on := base("9", "sha256:interp"), Options{Bytecode: true}
	six := wheel("six", "1.16.0", "2")
	small := envIDOf(t, wheelTarget(sized(wheel("torch", "2.5.1", "1"), SplitSize-1), six), b, on)
	big := envIDOf(t, wheelTarget(sized(wheel("torch", "2.5.1", "1"), SplitSize+1), six), b, on)
	bigger := envIDOf(t, wheelTarget(sized(wheel("torch", "2.5.1", "1"), 3*SplitSize), six), b, on)
	if small == big || big != bigger {
		t.Errorf("env ids: unsplit %s, split %s and %s; want the split to change the id, not the number of parts", small, big, bigger)
	}
	// The size alone enters nothing else: below SplitSize, the id is the
	// same for any size.
	if tiny := envIDOf(t, wheelTarget(sized(wheel("torch", "2.5.1", "1"), 1), six), b, on); tiny != small {
		t.Errorf("the size of an unsplit wheel changed the env id")
	}
}

// Each part lowers to an install step of its own with --part and --parts;
// part 0 compiles on the base, the others run on an empty root. With
// LayersFromWheels and gzip at its default level, the parts other than 0
// are written from the wheel by the client (FromWheel): only part 0 is
// lowered.
func TestLowerSplitWheel(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want int // the parts lowered, as bits
	}{
		{Options{Bytecode: true}, 0b111},
		{Options{Bytecode: true, LayersFromWheels: true}, 0b001},
		{Options{Bytecode: true, Compression: "gzip", LayersFromWheels: true}, 0b001},
		{Options{Bytecode: true, Compression: "gzip", CompressionLevel: 9, LayersFromWheels: true}, 0b111},
		{Options{Bytecode: true, Compression: "zstd", LayersFromWheels: true}, 0b111},
	} {
		lt := wheelTarget(sized(wheel("torch", "2.5.1", "1"), 600*mib))
		p := makePlanWith(t, lt, "linux/amd64", c.o)
		for _, l := range p.Platforms[0].Layers {
			if l.FromWheel != (c.want&(1<<l.Part) == 0) {
				t.Errorf("%+v: %s FromWheel %v", c.o, l.Name, l.FromWheel)
			}
		}
		lw, err := Lower(p, p.Platforms[0], testOptions())
		if err != nil {
			t.Fatal(err)
		}
		if want := bits.OnesCount(uint(c.want)); len(lw.Built) != want || len(lw.Each) != want {
			t.Errorf("%+v: %d layers built, want %d", c.o, len(lw.Built), want)
		}
		ops := lowerOps(t, p, testOptions())
		byDigest := map[string]bool{}
		for _, lo := range ops {
			byDigest[string(lo.dgst)] = lo.op.GetSource() != nil && strings.HasPrefix(lo.op.GetSource().Identifier, "docker-image://")
		}
		parts := 0
		for _, lo := range ops {
			e := lo.op.GetExec()
			if e == nil || len(e.Meta.Args) < 2 || e.Meta.Args[1] != installstep.Command {
				continue
			}
			steps, err := installstep.ParseAll(e.Meta.Args[2:])
			if err != nil {
				t.Fatal(err)
			}
			st := steps[0]
			if st.Kind != installstep.Wheel || st.Parts != 3 {
				t.Errorf("install step %q, want a part of 3", e.Meta.Args)
				continue
			}
			parts |= 1 << st.Part
			compiles := false
			for _, s := range steps {
				compiles = compiles || s.Kind == installstep.Compile
			}
			onBase := false
			for _, m := range e.Mounts {
				if m.Dest == "/" && m.Input >= 0 {
					onBase = byDigest[lo.op.Inputs[m.Input].Digest]
				}
			}
			if compiles != (st.Part == 0) || onBase != (st.Part == 0) {
				t.Errorf("part %d: compiles %v, on the base %v; want both for part 0 only", st.Part, compiles, onBase)
			}
		}
		if parts != c.want {
			t.Errorf("%+v: lowered parts %b, want %b", c.o, parts, c.want)
		}
	}
}
