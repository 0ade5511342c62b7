package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/envbuild/envbuild/builder/installstep"
	"github.com/envbuild/envbuild/builder/layout"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
	pf "github.com/envbuild/envbuild/lock/platform"
)

// DefaultLayerBudget is the most package layers one image gets; above it,
// small packages share layers. Well below the 127-layer limit of overlay
// file systems, leaving room for the base's own layers.
const DefaultLayerBudget = 80

// Base is one platform's base image, as resolved and inspected.
type Base struct {
	// Ref is the pinned per-platform reference, "repo@sha256:…".
	Ref string
	// ManifestDigest is the per-platform manifest digest.
	ManifestDigest string
	// Config is the base's own image config.
	Config *v1.ConfigFile
	// Interpreter is the base's Python ("/usr/bin/python3.11").
	Interpreter string
	// PythonVersion is the base interpreter's full version.
	PythonVersion string
	// InterpreterDigest identifies the base interpreter's bytes (see
	// baseimage.Info); "" falls back to ManifestDigest in layer keys.
	InterpreterDigest string
	// Layers are the base's layer blobs, bottom first: the image keeps
	// them as they are.
	Layers []BlobRef
}

// BlobRef describes a layer blob.
type BlobRef struct {
	Digest    string
	Size      int64
	MediaType string
}

// Options are the install options; they enter the env id.
type Options struct {
	// Bytecode compiles .pyc files where the target interpreter can run.
	Bytecode bool
	// LayerBudget overrides DefaultLayerBudget when > 0.
	LayerBudget int
	// Compression of the package layers ("gzip" or "zstd"): it enters
	// the layer keys, not the env id.
	Compression string
	// CompressionLevel is the compressor's level for the package layers;
	// 0 is the compressor's default. Like Compression it enters the layer
	// keys (only when set, so keys made without it are unchanged), not the
	// env id.
	CompressionLevel int
	// LayersFromWheels: the parts other than 0 of a big wheel (splitLayers)
	// are written by the client from the wheel's own DEFLATE data
	// (Layer.FromWheel), with gzip at its default level only: their
	// bytes differ from BuildKit's (not their files), so it enters those
	// layers' keys. Off by default: the client then fetches those wheels
	// itself, which a laptop driving a remote BuildKit should not.
	LayersFromWheels bool
	// CacheSalt, when set, enters every layer key: changing it starts the
	// team layer cache afresh.
	CacheSalt string
}

// Input is everything a plan is made from.
type Input struct {
	EnvName string
	Env     *lockfile.Env
	// Platforms to build, in order; each must have a lock target and a base.
	Platforms []string
	Bases     map[string]Base
	Options   Options
	// HostPlatform is the BuildKit worker's platform ("linux/amd64"): the
	// installer runs there, so bytecode is compiled and sdists are built
	// only for that platform. A build makes its plans before a daemon is
	// asked, one per candidate (HostCandidates, or a target platform), and
	// once connected takes the candidate of BuildKit's platform
	// (HostCandidate): BuildKit's own platform enters only at lowering
	// (LowerOptions.HostPlatform). Whether bytecode is compiled enters the
	// env id and the layer keys, so each candidate names its own image. ""
	// means every platform compiles bytecode (tests).
	HostPlatform string
	// LockDigest is the lock file's digest, recorded in a label.
	LockDigest string
}

// LayersFromWheelsFit reports whether Options.LayersFromWheels can serve
// layers of compression ("" is gzip) at level (0: the compressor's
// default): a wheel's DEFLATE data make gzip layers only, at no chosen
// level.
func LayersFromWheelsFit(compression string, level int) bool {
	return (compression == "" || compression == "gzip") && level == 0
}

// Layer is one package layer (or a group of small packages).
type Layer struct {
	Name     string
	Packages []lockfile.Package
	// Compile says whether the layer's install step compiles bytecode.
	Compile bool
	// Python marks a layer holding the conda python package or one of
	// its dependencies: the other layers compile bytecode on top of them.
	Python bool
	// Key is the layer's cache key (LayerKey): a hash of exactly what
	// determines its bytes.
	Key string
	// Part of Parts: the layer holds one part of a big wheel (splitLayers);
	// 0 of 0 for every other layer.
	Part, Parts int
	// FromWheel marks a part other than 0 that envbuild writes from the
	// wheel's own DEFLATE data (builder/wheellayer; Options.LayersFromWheels)
	// instead of BuildKit installing and compressing it.
	FromWheel bool
}

// PlatformPlan is what is built for one platform.
type PlatformPlan struct {
	Platform string
	Base     Base
	Target   lockfile.Target
	Layers   []Layer
	// Bytecode says whether .pyc files are compiled for this platform.
	Bytecode bool
	// Notes are user-facing remarks ("bytecode not compiled for linux/arm64: …").
	Notes []string
}

// Plan is a whole build.
type Plan struct {
	EnvName    string
	EnvID      string
	LockDigest string
	Options    Options
	Platforms  []PlatformPlan
}

// Tag is the image tag: env-<first 16 hex of the id>.
func (p *Plan) Tag() string { return "env-" + p.EnvID[:16] }

// Make checks the inputs and plans the build.
func Make(in Input) (*Plan, error) {
	if in.Env == nil {
		return nil, failure.User(fmt.Errorf("no locked environment %q", in.EnvName))
	}
	p := &Plan{EnvName: in.EnvName, LockDigest: in.LockDigest, Options: in.Options}
	budget := in.Options.LayerBudget
	if budget <= 0 {
		budget = DefaultLayerBudget
	}
	for _, platform := range in.Platforms {
		t := in.Env.Target(platform)
		if t == nil {
			return nil, failure.User(fmt.Errorf("the lock of environment %q has no target for %s; run `envbuild lock --platform %s`", in.EnvName, platform, platform))
		}
		base, ok := in.Bases[platform]
		if !ok {
			return nil, failure.User(fmt.Errorf("no base image for %s", platform))
		}
		pp := PlatformPlan{Platform: platform, Base: base, Target: *t}
		pp.Layers = splitLayers(groupLayers(t.Packages, budget), budget)
		pp.Bytecode = in.Options.Bytecode
		hostKnown := in.HostPlatform != ""
		if pp.Bytecode && hostKnown && !pf.Same(platform, in.HostPlatform) {
			pp.Bytecode = false
			on := "BuildKit runs on " + in.HostPlatform
			if in.HostPlatform == NoHost {
				on = "no BuildKit of that platform built it"
			}
			pp.Notes = append(pp.Notes, fmt.Sprintf("bytecode not compiled for %s: it needs the target's own interpreter and %s (Python compiles modules on first import instead)", platform, on))
		}
		if base.Config != nil {
			for _, k := range isolatedVars {
				if v, ok := envValue(base.Config.Config.Env, k); ok {
					pp.Notes = append(pp.Notes, fmt.Sprintf("%s: the base sets %s=%s; the image leaves it unset so the environment sees neither the base's packages nor its Python (kept as label %s)", platform, k, v, LabelBaseEnvPrefix+k))
				}
			}
		}
		switch t.PythonSource {
		case lockfile.PythonFromBase, "":
			pp.Notes = append(pp.Notes, fmt.Sprintf("%s: a venv-style environment on the base's interpreter %s (Python %s), isolated from its site-packages", platform, base.Interpreter, base.PythonVersion))
		case lockfile.PythonFromConda:
			pp.Notes = append(pp.Notes, fmt.Sprintf("%s: Python %s from conda, installed in %s", platform, t.Python, layout.Prefix))
		default:
			return nil, failure.User(fmt.Errorf("the lock of environment %q says python-source %q for %s; want \"base\" or \"conda\"; run `envbuild lock` again", in.EnvName, t.PythonSource, platform))
		}
		for _, pk := range t.Packages {
			if pk.Kind == lockfile.KindSdist && t.PythonSource == lockfile.PythonFromConda {
				return nil, failure.User(fmt.Errorf("%s %s is locked as a source distribution, and building one on a conda Python is not supported; pick a version with a wheel for %s", pk.Name, pk.Version, platform))
			}
			if pk.Kind == lockfile.KindSdist && in.HostPlatform == NoHost {
				return nil, failure.User(fmt.Errorf("%s %s is locked as a source distribution, which only a BuildKit of platform %s can build", pk.Name, pk.Version, platform))
			}
			if pk.Kind == lockfile.KindSdist && hostKnown && !pf.Same(platform, in.HostPlatform) {
				return nil, failure.User(fmt.Errorf("%s %s is locked as a source distribution, which can only be built for BuildKit's own platform %s, not %s; pick a version with a wheel for %s", pk.Name, pk.Version, in.HostPlatform, platform, platform))
			}
		}
		keyLayers(&pp, in.Options, budget)
		p.Platforms = append(p.Platforms, pp)
	}
	p.EnvID = envID(p)
	return p, nil
}

// NoHost is the host candidate of a BuildKit whose platform is none of the
// target platforms: no bytecode is compiled.
const NoHost = "none"

// HostCandidates are the BuildKit platforms a build may run on, in the
// order their images are preferred before a daemon is asked: each target
// platform (its image has bytecode for it), then any other (no bytecode).
// With bytecode off every candidate gives the same plan: one is enough.
func HostCandidates(platforms []string, bytecode bool) []string {
	if !bytecode {
		return []string{NoHost}
	}
	return append(append([]string(nil), platforms...), NoHost)
}

// HostCandidate is the candidate whose plan is the one for a BuildKit
// running on host: the target platform host is, else NoHost. The two
// plans name the same image (env id, layers and their keys): the plan's
// only use of the host is whether bytecode is compiled and sdists built
// for each platform, and a host that is none of the platforms compiles and
// builds for none, as NoHost does. Only their notes and errors word the
// host differently.
func HostCandidate(platforms []string, host string) string {
	for _, p := range platforms {
		if pf.Same(p, host) {
			return p
		}
	}
	return NoHost
}

// groupLayers gives each package its own layer while the count fits the
// budget; past it, the smallest packages are put together, in name order,
// so that one changed pin still changes few layers.
func groupLayers(pkgs []lockfile.Package, budget int) []Layer {
	sorted := append([]lockfile.Package(nil), pkgs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	if len(sorted) <= budget {
		out := make([]Layer, len(sorted))
		for i, pk := range sorted {
			out[i] = Layer{Name: pk.Name + " " + pk.Version, Packages: []lockfile.Package{pk}}
		}
		return out
	}
	// The biggest budget/2 packages keep their own layers; the rest are
	// grouped into the remaining layers, consecutive in name order.
	bySize := append([]lockfile.Package(nil), sorted...)
	sort.SliceStable(bySize, func(i, j int) bool { return bySize[i].Size > bySize[j].Size })
	own := map[string]bool{}
	for _, pk := range bySize[:budget/2] {
		own[pk.Name] = true
	}
	var out []Layer
	var rest []lockfile.Package
	for _, pk := range sorted {
		if own[pk.Name] {
			out = append(out, Layer{Name: pk.Name + " " + pk.Version, Packages: []lockfile.Package{pk}})
		} else {
			rest = append(rest, pk)
		}
	}
	groups := budget - len(out)
	per := (len(rest) + groups - 1) / groups
	for i := 0; i < len(rest); i += per {
		j := min(i+per, len(rest))
		g := rest[i:j]
		out = append(out, Layer{Name: fmt.Sprintf("%s … %s (%d packages)", g[0].Name, g[len(g)-1].Name, len(g)), Packages: g})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Packages[0].Name < out[j].Packages[0].Name })
	return out
}

// SplitSize is the wheel file size above which a wheel is installed in
// several layers, one per SplitSize or part of it (at most installstep.MaxParts,
// and within the layer budget): BuildKit then compresses and pushes the
// parts of torch (900 MB) side by side instead of one long layer last.
const SplitSize = 256 << 20

// splitLayers splits each layer that holds one big wheel into parts, the
// biggest wheels first while the budget has room; the parts take the
// wheel's place, one after another.
func splitLayers(layers []Layer, budget int) []Layer {
	var big []int
	for i, l := range layers {
		if len(l.Packages) == 1 && l.Packages[0].Kind == lockfile.KindWheel && l.Packages[0].Size > SplitSize {
			big = append(big, i)
		}
	}
	sort.SliceStable(big, func(a, b int) bool { return layers[big[a]].Packages[0].Size > layers[big[b]].Packages[0].Size })
	room := budget - len(layers)
	parts := map[int]int{}
	for _, i := range big {
		n := min(int((layers[i].Packages[0].Size+SplitSize-1)/SplitSize), installstep.MaxParts, room+1)
		if n < 2 {
			continue
		}
		parts[i] = n
		room -= n - 1
	}
	if len(parts) == 0 {
		return layers
	}
	var out []Layer
	for i, l := range layers {
		n := parts[i]
		if n == 0 {
			out = append(out, l)
			continue
		}
		for k := 0; k < n; k++ {
			p := l
			p.Name = fmt.Sprintf("%s (part %d of %d)", l.Name, k+1, n)
			p.Part, p.Parts = k, n
			out = append(out, p)
		}
	}
	return out
}

// splitDoc names how the layers of pp's big wheels are split, for the env
// id: "" when none is, so the ids of every other environment stay as they
// were before wheels were split.
func splitDoc(pp PlatformPlan) string {
	for _, l := range pp.Layers {
		if l.Parts > 0 {
			return fmt.Sprintf("%d@%d", installstep.SplitFormat, SplitSize)
		}
	}
	return ""
}

// envID hashes the canonical document.
func envID(p *Plan) string {
	type pkg struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Sha256  string `json:"sha256"`
		Source  string `json:"source"`
		Kind    string `json:"kind"`
	}
	type plat struct {
		Platform string `json:"platform"`
		Base     string `json:"base"`
		Python   string `json:"python_source"`
		Bytecode bool   `json:"bytecode_compiled"`
		Split    string `json:"split,omitempty"`
		Packages []pkg  `json:"packages"`
	}
	doc := struct {
		Layout    string `json:"layout"`
		Bytecode  bool   `json:"bytecode"`
		Budget    int    `json:"layer_budget"`
		Platforms []plat `json:"platforms"`
	}{Layout: layout.Version, Bytecode: p.Options.Bytecode, Budget: p.Options.LayerBudget}
	for _, pp := range p.Platforms {
		pl := plat{Platform: pf.Canonical(pp.Platform), Base: pp.Base.ManifestDigest, Python: string(pp.Target.PythonSource), Bytecode: pp.Bytecode, Split: splitDoc(pp)}
		for _, pk := range pp.Target.Packages {
			pl.Packages = append(pl.Packages, pkg{pk.Name, pk.Version, pk.Sha256, string(pk.Source), string(pk.Kind)})
		}
		sort.Slice(pl.Packages, func(i, j int) bool {
			if pl.Packages[i].Name != pl.Packages[j].Name {
				return pl.Packages[i].Name < pl.Packages[j].Name
			}
			return pl.Packages[i].Source < pl.Packages[j].Source
		})
		doc.Platforms = append(doc.Platforms, pl)
	}
	sort.Slice(doc.Platforms, func(i, j int) bool { return doc.Platforms[i].Platform < doc.Platforms[j].Platform })
	b, _ := json.Marshal(doc)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Labels put on every image envbuild builds.
const (
	LabelEnvID      = "dev.envbuild.env-id"
	LabelLockDigest = "dev.envbuild.lock-digest"
	LabelEnvName    = "dev.envbuild.env-name"
	// LabelBaseEnvPrefix + NAME holds the value of a variable of the base's
	// config that the image leaves unset (isolatedVars).
	LabelBaseEnvPrefix = "dev.envbuild.base-env."
)

// isolatedVars are the variables of a base's config that point Python at
// the base's packages (PYTHONPATH, put before the environment's
// site-packages) or at another installation (PYTHONHOME, which replaces
// the environment's prefix and stdlib): an image keeps the rest of the
// base's config but not these, since the environment is isolated from the
// base's packages. Their values are kept as labels.
var isolatedVars = []string{"PYTHONHOME", "PYTHONPATH"}

func envValue(env []string, k string) (string, bool) {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, k+"="); ok {
			return v, true
		}
	}
	return "", false
}

func unsetEnv(env []string, k string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, k+"=") && kv != k {
			out = append(out, kv)
		}
	}
	return out
}

// Created is the fixed creation time of envbuild's history entries and
// images, so two builds of the same plan give the same config bytes.
var Created = time.Unix(layout.Epoch, 0).UTC()

// ImageConfig builds the image config of one platform from the base's own
// config: its env, entrypoint, cmd, user, working directory, labels and
// history are kept, except PYTHONPATH and PYTHONHOME (isolatedVars), which
// are removed from the env and kept as labels; the environment's bin
// directory goes first on PATH;
// envbuild's labels and one history entry per added layer are appended.
// diffIDs are the added layers' diff ids (package layers, then the
// metadata layer), appended to the base's.
func ImageConfig(p *Plan, pp PlatformPlan, diffIDs []string) ([]byte, error) {
	if pp.Base.Config == nil {
		return nil, fmt.Errorf("no config for the base image of %s", pp.Platform)
	}
	cfg := pp.Base.Config.DeepCopy()
	osName, arch, variant := pf.Split(pp.Platform)
	cfg.OS, cfg.Architecture, cfg.Variant = osName, arch, variant
	cfg.Created = v1.Time{Time: Created}
	cfg.Config.Env = withPath(cfg.Config.Env)
	if cfg.Config.Labels == nil {
		cfg.Config.Labels = map[string]string{}
	}
	for _, k := range isolatedVars {
		if v, ok := envValue(cfg.Config.Env, k); ok {
			cfg.Config.Env = unsetEnv(cfg.Config.Env, k)
			cfg.Config.Labels[LabelBaseEnvPrefix+k] = v
		}
	}
	if pp.Target.OnBase() {
		cfg.Config.Env = setEnv(cfg.Config.Env, "VIRTUAL_ENV", layout.Prefix)
	}
	cfg.Config.Labels[LabelEnvID] = p.EnvID
	cfg.Config.Labels[LabelLockDigest] = p.LockDigest
	cfg.Config.Labels[LabelEnvName] = p.EnvName
	for _, l := range pp.Layers {
		cfg.History = append(cfg.History, v1.History{Created: v1.Time{Time: Created}, CreatedBy: "envbuild: install " + l.Name, Comment: "envbuild"})
	}
	cfg.History = append(cfg.History, v1.History{Created: v1.Time{Time: Created}, CreatedBy: "envbuild: environment " + p.EnvName + " metadata", Comment: "envbuild"})
	rootfs := v1.RootFS{Type: "layers", DiffIDs: append([]v1.Hash(nil), cfg.RootFS.DiffIDs...)}
	for _, d := range diffIDs {
		h, err := v1.NewHash(d)
		if err != nil {
			return nil, fmt.Errorf("layer diff id %q: %w", d, err)
		}
		rootfs.DiffIDs = append(rootfs.DiffIDs, h)
	}
	cfg.RootFS = rootfs
	return json.Marshal(cfg)
}

func withPath(env []string) []string {
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			out := append([]string(nil), env...)
			out[i] = "PATH=" + layout.BinDir + ":" + v
			return out
		}
	}
	return append(append([]string(nil), env...), "PATH="+layout.BinDir+":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
}

func setEnv(env []string, k, v string) []string {
	for i, kv := range env {
		if strings.HasPrefix(kv, k+"=") {
			out := append([]string(nil), env...)
			out[i] = k + "=" + v
			return out
		}
	}
	return append(append([]string(nil), env...), k+"="+v)
}
