package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/envbuild/envbuild/builder/installstep"
	"github.com/envbuild/envbuild/builder/layout"
	"github.com/envbuild/envbuild/lock/lockfile"
	pf "github.com/envbuild/envbuild/lock/platform"
)

// InstallerDir is where the installer binary is mounted in every step.
const InstallerDir = "/.envbuild"

// InstallerLocal is the name of the session directory that holds the
// installer programs (engine.Job.LocalDirs).
const InstallerLocal = "envbuild-installer"

// InstallerSource is the state of that directory, as LowerOptions.Installer.
func InstallerSource() llb.State {
	return llb.Local(InstallerLocal, llb.SharedKeyHint(InstallerLocal), llb.LocalUniqueID(InstallerLocal), llb.WithCustomName("envbuild installer"))
}

// LowerOptions says how the installer reaches BuildKit.
type LowerOptions struct {
	// Installer is a state holding the static installer program (the
	// envbuild binary built for HostPlatform) at InstallerName.
	Installer     llb.State
	InstallerName string
	// HostPlatform is BuildKit's worker platform.
	HostPlatform string
	// Hits are the layers the team layer cache already holds, by index in
	// the platform plan's Layers, each as its record's one-layer image
	// ("repo@sha256:…"): they are not built. A hit is only read when a
	// built layer compiles its bytecode on it (a conda python layer).
	Hits map[int]string
	// CABundle, when set, is the PEM bundle the client's pip trusts
	// (PIP_CERT or pip.conf's cert): steps that reach an index from inside
	// the build (building an sdist) trust it too.
	CABundle []byte
	// CompileRoot, when set, is the record image ("repo@sha256:…") of the
	// base's compile root (CompileRootKey): the steps that compile
	// bytecode with the base's interpreter run on it instead of the whole
	// base, which BuildKit then never pulls unless an sdist is built.
	CompileRoot string
	// TokenChannels are the conda channels whose URLs carry a token
	// (/t/<token>/): their artifacts are fetched by the installer in a
	// step of their own, with the token as a session secret, instead of
	// by BuildKit's HTTP source (which cannot put a secret in a path).
	TokenChannels []TokenChannel
	// FetchCABundle is the PEM bundle those fetch steps trust (they run on
	// an empty root); nil: none, for plain-HTTP channels.
	FetchCABundle []byte
	// FetchProxy, when set, is the client's proxy configuration for those
	// fetch steps (BuildKit keeps it out of their cache keys).
	FetchProxy *llb.ProxyEnv
	// NoContentHash, for a daemon that allows it, turns off the
	// content-based cache keys of the artifact mounts: BuildKit otherwise
	// hashes every artifact again after its checksummed download. The
	// install step's cache key then comes from the artifact's source,
	// which names its sha256.
	NoContentHash bool
}

// recordImage is the one-layer image ref of a team layer cache record,
// for platform p.
func recordImage(ref, p, name string) llb.State {
	osName, arch, variant := pf.Split(p)
	return llb.Image(ref, llb.Platform(ocispecs.Platform{OS: osName, Architecture: arch, Variant: variant}), llb.WithCustomName(name))
}

// TokenChannel is a conda channel whose URL carries an anaconda-style
// token. Nothing of it depends on the token: the LLB of its fetch steps,
// and so a teammate's build with another token, are the same.
type TokenChannel struct {
	// URL is the channel's URL without the token ("https://host/org/chan"),
	// which the lock's package URLs start with.
	URL string
	// At is where "/t/<token>" goes in URL, and so in its package URLs
	// ("https://host/t/TOKEN/org/chan": len("https://host")).
	At int
	// SecretID is the session secret holding the token (TokenSecretID).
	SecretID string
}

// TokenSecretID names the session secret of the token of the channel at
// url (without its token): a hash of the URL, never the token.
func TokenSecretID(url string) string {
	sum := sha256.Sum256([]byte(url))
	return "envbuild-conda-token-" + hex.EncodeToString(sum[:8])
}

// tokenSecretPath is where a fetch step reads its channel's token.
const tokenSecretPath = "/run/secrets/envbuild-channel-token"

// tokenChannelOf returns the token channel pk's URL is under, if any.
func tokenChannelOf(pk lockfile.Package, tcs []TokenChannel) (TokenChannel, bool) {
	if pk.Source != lockfile.SourceConda {
		return TokenChannel{}, false
	}
	for _, tc := range tcs {
		if strings.HasPrefix(pk.URL, strings.TrimRight(tc.URL, "/")+"/") && tc.At > 0 && tc.At <= len(tc.URL) {
			return tc, true
		}
	}
	return TokenChannel{}, false
}

// fetchWithToken downloads an artifact of a token channel with the
// installer, on an empty root of BuildKit's platform: the token is a
// secret mounted for the step alone; the file is checked against the
// lock's sha256 before it is written to the step's output.
func fetchWithToken(pk lockfile.Package, tc TokenChannel, opt LowerOptions, host ocispecs.Platform) llb.State {
	st := installstep.Step{Kind: installstep.Fetch, Root: "/fetched", URL: pk.URL, Secret: tokenSecretPath, TokenAt: tc.At, SHA256: pk.Sha256, Filename: pk.Filename}
	opts := []llb.RunOption{
		llb.Args(append([]string{InstallerDir + "/" + opt.InstallerName, installstep.Command}, installstep.Encode([]installstep.Step{st})...)),
		llb.AddMount(InstallerDir, opt.Installer, llb.Readonly),
		llb.AddSecret(tokenSecretPath, llb.SecretID(tc.SecretID)),
		llb.WithCustomNamef("fetch %s", pk.Filename),
	}
	if len(opt.FetchCABundle) > 0 {
		ca := llb.Scratch().File(llb.Mkfile("/ca.pem", 0o644, opt.FetchCABundle), llb.WithCustomName("the CA bundle for conda channels"))
		opts = append(opts, llb.AddMount("/.envbuild-ca", ca, llb.Readonly), llb.AddEnv("SSL_CERT_FILE", "/.envbuild-ca/ca.pem"))
	}
	if opt.FetchProxy != nil {
		opts = append(opts, llb.WithProxy(*opt.FetchProxy))
	}
	return llb.Scratch().Platform(host).Run(opts...).AddMount("/fetched", llb.Scratch())
}

// metaDir is where each install step writes its layer's LayerMeta, an
// output of its own beside the layer.
const metaDir = "/.envbuild-meta"

// Lowered is the LLB of the layers one platform has to build.
type Lowered struct {
	// Built are the indexes (in PlatformPlan.Layers) of the built layers.
	Built []int
	// Each are the built layers, in the order of Built, and EachMeta the
	// state holding each one's LayerMeta JSON at MetaFiles[i]. Each layer
	// is exported on its own (engine.Build), as soon as it is built.
	Each, EachMeta []llb.State
	MetaFiles      []string
	// Layers merges the built layers in plan order: the whole graph as
	// one state, for looking at it (the builder exports Each).
	Layers llb.State
}

// Lower builds the LLB of one platform's missing layers: each installed by
// its own exec step from artifacts BuildKit fetches and checks against the
// lock's sha256, on an empty root or, where bytecode is compiled, on the
// base image. The layers written from their wheel (Layer.FromWheel) are
// left out: the client makes them. The result is a pure function of the
// plan and options.
func Lower(p *Plan, pp PlatformPlan, opt LowerOptions) (*Lowered, error) {
	host, err := platforms.Parse(opt.HostPlatform)
	if err != nil {
		return nil, fmt.Errorf("parsing BuildKit's platform %q: %w", opt.HostPlatform, err)
	}
	target, err := platforms.Parse(pp.Platform)
	if err != nil {
		return nil, fmt.Errorf("parsing platform %q: %w", pp.Platform, err)
	}
	base := llb.Image(pp.Base.Ref, llb.Platform(target), llb.WithCustomNamef("base image %s (%s)", pp.Base.Ref, pp.Platform))
	installer := InstallerDir + "/" + opt.InstallerName
	short := pp.Target.PythonShort()

	// The installer runs on the build host. Where bytecode is compiled it
	// runs inside the base image with the target's interpreter: the
	// base's own, or, for a conda Python, the environment's python
	// (layout.Python) from the layers of the python package and its
	// dependencies merged onto the base. Elsewhere it runs on an empty
	// root, so nothing of the base is needed.
	pyexe := pp.Base.Interpreter
	compileRoot := base
	if pp.Target.PythonSource == lockfile.PythonFromConda {
		pyexe = layout.Python
	} else if opt.CompileRoot != "" {
		compileRoot = recordImage(opt.CompileRoot, pp.Platform, fmt.Sprintf("the base's interpreter and standard library (%s)", pp.Platform))
	}
	outs := make([]llb.State, len(pp.Layers))
	metas := make([]llb.State, len(pp.Layers))
	lowerLayer := func(i int) error {
		l := pp.Layers[i]
		if hit, ok := opt.Hits[i]; ok {
			outs[i] = recordImage(hit, pp.Platform, fmt.Sprintf("cached layer %s (%s)", l.Name, pp.Platform))
			return nil
		}
		root := llb.Scratch().Platform(host)
		if l.Compile {
			root = compileRoot
		}
		var steps []installstep.Step
		var mounts []llb.RunOption
		for j, pk := range l.Packages {
			if pk.Sha256 == "" {
				return fmt.Errorf("%s %s has no sha256 in the lock", pk.Name, pk.Version)
			}
			src := fmt.Sprintf("/in/%d", j)
			artifact := fetch(pk)
			if tc, ok := tokenChannelOf(pk, opt.TokenChannels); ok {
				artifact = fetchWithToken(pk, tc, opt, host)
			}
			if pk.Kind == lockfile.KindSdist {
				artifact = buildWheel(base, artifact, pk, pp.Base.Interpreter, pp.Platform, opt.CABundle)
			}
			mopts := []llb.MountOption{llb.Readonly}
			if opt.NoContentHash {
				mopts = append(mopts, llb.ContentCache(llb.MountContentCacheOff))
			}
			mounts = append(mounts, llb.AddMount(src, artifact, mopts...))
			st := installStep(pk, path.Join(src, pk.Filename), short, pp.Target)
			st.Part, st.Parts = l.Part, l.Parts
			steps = append(steps, st)
		}
		if l.Compile {
			steps = append(steps, installstep.Step{Kind: installstep.Compile, Root: "/out", PythonExe: pyexe})
		}
		steps = append(steps,
			installstep.Step{Kind: installstep.Normalize, Root: "/out"},
			installstep.Step{Kind: installstep.LayerMeta, Root: "/out", Out: metaDir + "/" + l.Key + ".json"})
		runOpts := append([]llb.RunOption{
			llb.Args(append([]string{installer, installstep.Command}, installstep.Encode(steps)...)),
			llb.AddMount(InstallerDir, opt.Installer, llb.Readonly),
			llb.AddEnv("PYTHONHASHSEED", "0"),
			llb.AddEnv(installstep.SourceDateEpochVar, installstep.SourceDateEpoch),
			llb.Network(pb.NetMode_NONE),
			llb.WithCustomNamef("install %s (%s)", l.Name, pp.Platform),
		}, mounts...)
		run := root.Run(runOpts...)
		outs[i] = run.AddMount("/out", llb.Scratch())
		metas[i] = run.AddMount(metaDir, llb.Scratch())
		return nil
	}
	var pythonStates []llb.State
	for i, l := range pp.Layers {
		if l.Python {
			if err := lowerLayer(i); err != nil {
				return nil, err
			}
			pythonStates = append(pythonStates, outs[i])
		}
	}
	if len(pythonStates) > 0 {
		// The others compile on top of the python layers.
		compileRoot = llb.Merge(append([]llb.State{base}, pythonStates...), llb.WithCustomNamef("the environment's python on %s (%s)", pp.Base.Ref, pp.Platform))
	}
	lw := &Lowered{}
	var built, builtMeta []llb.State
	for i, l := range pp.Layers {
		if _, hit := opt.Hits[i]; l.FromWheel && !hit {
			// Written by the client from the wheel (builder/wheellayer):
			// nothing for BuildKit to do, and no other layer reads it.
			continue
		}
		if !l.Python {
			if err := lowerLayer(i); err != nil {
				return nil, err
			}
		}
		if _, hit := opt.Hits[i]; hit {
			continue
		}
		lw.Built = append(lw.Built, i)
		built = append(built, outs[i])
		builtMeta = append(builtMeta, metas[i])
		lw.MetaFiles = append(lw.MetaFiles, "/"+l.Key+".json")
	}
	lw.Each, lw.EachMeta = built, builtMeta
	switch len(built) {
	case 0:
		return nil, fmt.Errorf("nothing to build for %s", pp.Platform)
	case 1:
		lw.Layers = built[0]
	default:
		lw.Layers = llb.Merge(built, llb.WithCustomNamef("%d layers of %s (%s)", len(built), p.EnvName, pp.Platform))
	}
	return lw, nil
}

// needsBytecode reports whether a layer has .py files to compile: every
// layer of an environment on the base's interpreter; for a conda Python,
// the layers holding PyPI or noarch: python packages (other conda packages
// ship their own bytecode).
func needsBytecode(t lockfile.Target, l Layer) bool {
	if t.PythonSource != lockfile.PythonFromConda {
		return true
	}
	for _, pk := range l.Packages {
		if pk.Source == lockfile.SourcePyPI || pk.Noarch == "python" {
			return true
		}
	}
	return false
}

// condaPythonLayers returns the indexes of the layers holding the conda
// python package or one of the conda packages it depends on (directly or
// not): what the environment's python needs to run.
func condaPythonLayers(pp PlatformPlan) map[int]bool {
	byName := map[string]lockfile.Package{}
	for _, pk := range pp.Target.Packages {
		if pk.Source == lockfile.SourceConda {
			byName[pk.Name] = pk
		}
	}
	need := map[string]bool{}
	var walk func(string)
	walk = func(name string) {
		pk, ok := byName[name]
		if !ok || need[name] {
			return
		}
		need[name] = true
		for _, d := range pk.Depends {
			walk(d)
		}
	}
	walk("python")
	out := map[int]bool{}
	for i, l := range pp.Layers {
		for _, pk := range l.Packages {
			if pk.Source == lockfile.SourceConda && need[pk.Name] {
				out[i] = true
			}
		}
	}
	return out
}

// buildWheel builds a wheel from a source distribution with the target's
// own interpreter, in a throw-away venv on the base image (so only the
// build host's platform can do it; plan.Make refuses the others). Its
// build dependencies come from the network, as pip's build isolation
// fetches them.
func buildWheel(base, sdist llb.State, pk lockfile.Package, interpreter, platform string, caBundle []byte) llb.State {
	const script = `set -e; "$0" -m venv /tmp/envbuild-sdist && /tmp/envbuild-sdist/bin/python -m pip wheel --quiet --use-pep517 --no-deps --no-cache-dir --wheel-dir /wheels "$1"`
	opts := []llb.RunOption{
		llb.Args([]string{"/bin/sh", "-c", script, interpreter, "/sdist/" + pk.Filename}),
		llb.AddMount("/sdist", sdist, llb.Readonly),
		llb.AddEnv(installstep.SourceDateEpochVar, installstep.SourceDateEpoch),
		llb.AddEnv("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
		llb.WithCustomNamef("build a wheel of %s %s from its sdist (%s)", pk.Name, pk.Version, platform),
	}
	if len(caBundle) > 0 {
		ca := llb.Scratch().File(llb.Mkfile("/ca.pem", 0o644, caBundle), llb.WithCustomName("the CA bundle pip trusts"))
		opts = append(opts, llb.AddMount("/.envbuild-ca", ca, llb.Readonly), llb.AddEnv("PIP_CERT", "/.envbuild-ca/ca.pem"))
	}
	return base.Run(opts...).AddMount("/wheels", llb.Scratch())
}

// fetch downloads an artifact inside BuildKit, checked against the lock's
// sha256. A private index's credentials reach BuildKit as the session
// secret HTTP_AUTH_HEADER_<host>, which its HTTP source looks up by itself.
func fetch(pk lockfile.Package) llb.State {
	opts := []llb.HTTPOption{
		llb.Checksum(digest.NewDigestFromEncoded(digest.SHA256, pk.Sha256)),
		llb.Filename(pk.Filename),
		llb.WithCustomNamef("fetch %s", pk.Filename),
	}
	return llb.HTTP(pk.URL, opts...)
}

// installStep is the installer step of one package whose artifact is
// mounted at src; short is the target's Python, MAJOR.MINOR with "t" when
// free-threaded.
func installStep(pk lockfile.Package, src, short string, t lockfile.Target) installstep.Step {
	switch pk.Kind {
	case lockfile.KindConda, lockfile.KindTarBz2:
		return installstep.Step{Kind: installstep.Conda, Src: src, Root: "/out", SHA256: pk.Sha256, Python: short}
	case lockfile.KindSdist:
		// The wheel built from the sdist (buildWheel) is the only file in
		// the mount; its name is known only after the build.
		return installstep.Step{Kind: installstep.WheelInDir, Dir: path.Dir(src), Root: "/out", Python: strings.TrimSuffix(short, "t"), FreeThreaded: t.FreeThreaded}
	}
	return installstep.Step{Kind: installstep.Wheel, Src: src, Root: "/out", SHA256: pk.Sha256, Python: strings.TrimSuffix(short, "t"), FreeThreaded: t.FreeThreaded}
}
