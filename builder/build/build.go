// Package build is the pipeline of `envbuild build`: it resolves the base
// image per platform, reads its target from its files, makes sure the lock
// matches (locking first when there is none, and saying so), plans the
// layers and the env id, asks the registry for the env's tag, and only when
// it is missing builds and pushes with BuildKit.
//
// It wires the stages together and holds no format, resolution, LLB or
// registry logic of its own: those live in frontends, lock, builder/plan,
// builder/engine and builder/registry.
package build

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/moby/buildkit/client/llb"

	"github.com/envbuild/envbuild/builder/baseimage"
	"github.com/envbuild/envbuild/builder/engine"
	"github.com/envbuild/envbuild/builder/installer"
	"github.com/envbuild/envbuild/builder/plan"
	"github.com/envbuild/envbuild/builder/registry"
	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/lock"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/pypi/index"
	"github.com/envbuild/envbuild/lock/target"
)

// Options configure one build.
type Options struct {
	// Spec is the environment, with Base already resolved by the
	// configuration lookup (CONTRACT §5) and Repository set or "".
	Spec spec.Spec
	// LockPath is the lock file; a missing one is written by locking first.
	LockPath string
	// OCIDir is where an OCI layout goes when Spec.Repository is "".
	OCIDir string
	// Connect says which BuildKit to use (Log is filled in by Build).
	Connect     engine.ConnectOptions
	Progress    string
	ProgressOut io.Writer
	// Log receives one line per notable step (stderr).
	Log      func(string)
	Registry *registry.Client
	CacheDir string
	// Lock are the options used when the build has to lock first.
	Lock lock.Request
	// Compression of pushed layers: "gzip" (default) or "zstd".
	Compression string
	// DockerConfigDir overrides where registry credentials are read.
	DockerConfigDir string
	// LockMu, when set, is held while the lock file is read, made and
	// written, so concurrent builds of one flow share one lock file.
	LockMu *sync.Mutex
	// LockPolicy says whether the build may lock first (--locked,
	// --frozen).
	LockPolicy LockPolicy
}

// LockPolicy is what a build does with a missing or out-of-date lock, with
// the meanings uv and cargo give --locked and --frozen.
type LockPolicy int

const (
	// LockUpdate locks first when the lock is missing, its spec changed or
	// a platform is missing (the default).
	LockUpdate LockPolicy = iota
	// LockLocked (--locked) refuses, with exit 3 and the reason, a lock
	// that is missing or does not match the spec; it never writes one.
	LockLocked
	// LockFrozen (--frozen) uses the lock as it is, without comparing it
	// with the spec; a missing lock, environment or platform is exit 3.
	LockFrozen
)

// Result is the JSON of CONTRACT §6.
type Result struct {
	Image       string   `json:"image,omitempty"`
	OCILayout   string   `json:"oci_layout,omitempty"`
	Digest      string   `json:"digest"`
	EnvID       string   `json:"env_id"`
	Cached      bool     `json:"cached"`
	Platforms   []string `json:"platforms"`
	Layers      int      `json:"layers"`
	PushedBytes int64    `json:"pushed_bytes"`
	Locked      bool     `json:"locked,omitempty"`
	// Steps and StepsCached count BuildKit's build steps and how many came
	// from its cache.
	Steps       int      `json:"steps,omitempty"`
	StepsCached int      `json:"steps_cached,omitempty"`
	Notes       []string `json:"notes,omitempty"`
}

// Build runs the pipeline.
func Build(ctx context.Context, o Options) (*Result, error) {
	logf := func(format string, a ...any) {
		if o.Log != nil {
			o.Log(fmt.Sprintf(format, a...))
		}
	}
	s := o.Spec
	platforms := s.PlatformsOrDefault()
	if s.Base == "" {
		return nil, failure.User(fmt.Errorf("no base image for environment %q: pass --base IMAGE, or set ENVBUILD_DEFAULT_CONTAINER_IMAGE or default_container_image in the config file", s.Name))
	}

	// 1. The base, per platform, and the target read from its files.
	bases, targets, err := Targets(ctx, o.Registry, s.Base, platforms, o.CacheDir)
	if err != nil {
		return nil, err
	}

	// 2. The lock: read it, or lock first; refuse a target mismatch.
	if o.LockMu != nil {
		o.LockMu.Lock()
	}
	env, _, locked, err := ensureLocked(ctx, o, s, platforms, targets)
	if o.LockMu != nil {
		o.LockMu.Unlock()
	}
	if err != nil {
		return nil, err
	}
	for _, t := range targets {
		lt := env.Target(t.Platform)
		got, err := lock.TargetOf(*lt)
		if err != nil {
			return nil, failure.User(fmt.Errorf("reading %s: %w", o.LockPath, err))
		}
		if !targetFits(*lt, got, t.Target) {
			return nil, failure.User(fmt.Errorf("the lock %s is for %s, but base image %q is %s; run `envbuild lock` against this base or use the base the lock was made for", o.LockPath, got, s.Base, t.Target))
		}
		if lt.Interpreter == "" && lt.PythonSource == "" {
			lt.Interpreter = t.Interpreter
			lt.PythonSource = "base"
		}
	}

	// 3. The plan and the env id; the registry is asked first.
	// BuildKit's platform is not known before a daemon is asked, and the
	// cache check must not need one: the env id does not depend on it.
	input := plan.Input{
		EnvName:    s.Name,
		Env:        env,
		Platforms:  platforms,
		Bases:      bases,
		Options:    plan.Options{Bytecode: !s.Options.NoBytecode},
		LockDigest: envDigest(env),
	}
	pl, err := plan.Make(input)
	if err != nil {
		return nil, err
	}
	res := &Result{EnvID: pl.EnvID, Platforms: platforms, Locked: locked}
	var imageRef string
	if s.Repository != "" {
		imageRef = strings.TrimSuffix(s.Repository, "/") + ":" + pl.Tag()
		chk, err := o.Registry.Check(ctx, imageRef, platforms)
		if err != nil {
			return nil, err
		}
		if chk.Cached {
			res.Cached = true
			res.Digest = chk.Digest
			res.Image = imageRef + "@" + chk.Digest
			res.Layers = countLayers(pl)
			logf("%s is already in the registry: nothing to build", imageRef)
			return res, nil
		}
		if len(chk.Platforms) > 0 && len(chk.MissingPlatforms) > 0 {
			logf("%s exists but lacks %s: building", imageRef, strings.Join(chk.MissingPlatforms, ", "))
		}
	}

	// 4. Build with BuildKit.
	co := o.Connect
	co.Log = func(l string) { logf("%s", l) }
	eng, err := engine.Connect(ctx, co)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	host, err := eng.HostPlatform(ctx)
	if err != nil {
		return nil, err
	}
	// Bytecode and sdist builds depend on BuildKit's platform.
	input.HostPlatform = host
	if pl, err = plan.Make(input); err != nil {
		return nil, err
	}
	instDir, err := installerDir(o.CacheDir, host)
	if err != nil {
		return nil, err
	}
	installerState := llb.Local("envbuild-installer", llb.SharedKeyHint("envbuild-installer"), llb.WithCustomName("envbuild installer"))
	var jobs []engine.PlatformJob
	for _, pp := range pl.Platforms {
		for _, n := range pp.Notes {
			logf("%s", n)
			res.Notes = append(res.Notes, n)
		}
		meta, err := envMeta(pl, pp)
		if err != nil {
			return nil, err
		}
		st, err := plan.Lower(pl, pp, plan.LowerOptions{Installer: installerState, InstallerName: InstallerName, HostPlatform: host, EnvMeta: meta, CABundle: caBundle(o.Lock.Env)})
		if err != nil {
			return nil, err
		}
		def, err := st.Marshal(ctx)
		if err != nil {
			return nil, fmt.Errorf("preparing the build of %s: %w", pp.Platform, err)
		}
		cfg, err := plan.ImageConfig(pl, pp)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, engine.PlatformJob{Platform: pp.Platform, Def: def, Config: cfg})
	}
	job := engine.Job{
		Platforms:       jobs,
		LocalDirs:       map[string]string{"envbuild-installer": instDir},
		Progress:        o.Progress,
		ProgressOut:     o.ProgressOut,
		DockerConfigDir: o.DockerConfigDir,
	}
	if job.Secrets, err = indexSecrets(s, o.Lock.Env); err != nil {
		return nil, err
	}
	job.Export.Compression = o.Compression
	if imageRef != "" {
		job.Export.Image = imageRef
		if r, err := o.Registry.Parse(imageRef); err == nil {
			job.Export.Insecure = o.Registry.IsInsecure(r.Context().RegistryStr())
		}
		repo := strings.TrimSuffix(s.Repository, "/")
		baseRepo := baseRepository(bases)
		job.BlobsExist = func(ctx context.Context, digests []string) (map[string]bool, error) {
			have, err := o.Registry.BlobsExist(ctx, repo, digests)
			if err != nil || baseRepo == "" || registryHost(baseRepo) != registryHost(repo) {
				return have, err
			}
			// Blobs of the base on the same registry are mounted across
			// repositories, not uploaded.
			var missing []string
			for _, d := range digests {
				if !have[d] {
					missing = append(missing, d)
				}
			}
			inBase, err := o.Registry.BlobsExist(ctx, baseRepo, missing)
			if err != nil {
				return have, nil
			}
			for d, ok := range inBase {
				if ok {
					have[d] = true
				}
			}
			return have, nil
		}
	} else {
		dir := o.OCIDir
		if dir == "" {
			dir = filepath.Join("envbuild-out", s.Name+"-"+pl.Tag())
		}
		job.Export.OCIDir = dir
		res.OCILayout = dir
	}
	start := time.Now()
	br, err := eng.Build(ctx, job)
	if err != nil {
		return nil, err
	}
	logf("built %s in %.1fs (%d of %d steps cached)", pl.Tag(), time.Since(start).Seconds(), br.Cached, br.Vertexes)
	res.Digest = br.Digest
	if imageRef != "" {
		res.Image = imageRef + "@" + br.Digest
	}
	res.PushedBytes = br.PushedBytes
	res.Steps, res.StepsCached = br.Vertexes, br.Cached
	res.Layers = countLayers(pl)
	return res, nil
}

// ensureLocked reads the lock, locking first when the environment has no
// entry, its spec changed or a platform is missing.
func ensureLocked(ctx context.Context, o Options, s spec.Spec, platforms []string, targets []lock.Target) (*lockfile.Env, *lockfile.File, bool, error) {
	logf := func(format string, a ...any) {
		if o.Log != nil {
			o.Log(fmt.Sprintf(format, a...))
		}
	}
	lf, err := lockfile.Read(o.LockPath)
	if err != nil {
		return nil, nil, false, err
	}
	var env *lockfile.Env
	if lf != nil {
		env = lf.Env(s.Name)
	}
	locked := false
	if env == nil || env.SpecDigest != s.Digest() || missingTarget(env, platforms) {
		why := "there is no lock"
		if env != nil {
			why = "the spec changed since " + o.LockPath + " was written"
			if env.SpecDigest == s.Digest() {
				why = "the lock has no target for every platform asked for"
			}
		}
		switch {
		case o.LockPolicy == LockFrozen && env != nil && !missingTarget(env, platforms):
			return env, lf, false, nil
		case o.LockPolicy == LockLocked || o.LockPolicy == LockFrozen:
			flag := map[LockPolicy]string{LockLocked: "--locked", LockFrozen: "--frozen"}[o.LockPolicy]
			if lf == nil {
				why = o.LockPath + " does not exist"
			} else if env == nil {
				why = fmt.Sprintf("%s has no environment %q", o.LockPath, s.Name)
			}
			return nil, nil, false, failure.Stale(fmt.Errorf("%s: %s; lock again (the same command without %s) and commit %s", flag, why, flag, o.LockPath))
		}
		logf("locking environment %q first: %s", s.Name, why)
		req := o.Lock
		req.Spec = s
		req.Targets = targets
		req.Existing = env
		newEnv, err := lock.Env(ctx, req)
		if err != nil {
			return nil, nil, false, err
		}
		if lf == nil {
			lf = &lockfile.File{LockVersion: lockfile.Version}
		}
		lf.Put(*newEnv)
		if err := lockfile.Write(o.LockPath, lf); err != nil {
			return nil, nil, false, err
		}
		logf("wrote %s", o.LockPath)
		env = lf.Env(s.Name)
		locked = true
	}
	return env, lf, locked, nil
}

// Targets resolves base for every platform and reads each one's lock
// target from its files (CONTRACT §2).
func Targets(ctx context.Context, reg *registry.Client, base string, platforms []string, cacheDir string) (map[string]plan.Base, []lock.Target, error) {
	resolved, err := reg.Resolve(ctx, base, platforms)
	if err != nil {
		return nil, nil, err
	}
	bases := map[string]plan.Base{}
	var targets []lock.Target
	for _, p := range platforms {
		pi, ok := resolved.Platforms[canonical(p)]
		if !ok {
			return nil, nil, failure.User(fmt.Errorf("base image %q has no image for %s", base, p))
		}
		info, err := baseimage.Inspect(ctx, pi.Image, canonical(p), filepath.Join(cacheDir, "bases"), baseimage.WithRef(base))
		if err != nil {
			return nil, nil, err
		}
		ref := resolved.DigestRef(p)
		bases[p] = plan.Base{Ref: ref, ManifestDigest: pi.ManifestDigest, Config: pi.Config, Interpreter: info.Target.Interpreter, PythonVersion: info.Target.Python}
		targets = append(targets, lock.Target{Target: info.Target, BaseRef: ref})
	}
	return bases, targets, nil
}

// envDigest is the digest of one environment's lock entry, the lock
// digest recorded in the image's label: other environments of the same
// lock file (a flow's other steps) do not change it.
func envDigest(env *lockfile.Env) string {
	f := lockfile.File{LockVersion: lockfile.Version, Envs: []lockfile.Env{*env}}
	return f.Digest()
}

// indexSecrets are the session secrets that let BuildKit fetch artifacts
// from a private index with the lock's own credentials: BuildKit's HTTP
// source asks the session for HTTP_AUTH_HEADER_<host> for every download.
// Nothing of them enters the LLB, the lock or the image.
func indexSecrets(s spec.Spec, env map[string]string) (map[string][]byte, error) {
	indexes, err := index.FromPipConfig(env, s.PyPI.IndexURL, s.PyPI.ExtraIndexURLs)
	if err != nil {
		return nil, failure.User(err)
	}
	headers, err := index.AuthHeaders(indexes, env["NETRC"])
	if err != nil {
		return nil, failure.User(err)
	}
	secrets := map[string][]byte{}
	for host, v := range headers {
		h := host
		if u, err := url.Parse("//" + host); err == nil && u.Hostname() != "" {
			h = u.Hostname()
		}
		secrets["HTTP_AUTH_HEADER_"+h] = []byte(v)
	}
	return secrets, nil
}

// caBundle is the CA bundle the user's pip trusts, for steps that reach an
// index from inside the build; nil when pip uses its own.
func caBundle(env map[string]string) []byte {
	path, err := index.PipCert(env)
	if err != nil || path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return data
}

// baseRepository is the repository of the bases ("host/path"), taken from
// the first platform's pinned reference.
func baseRepository(bases map[string]plan.Base) string {
	for _, b := range bases {
		repo, _, _ := strings.Cut(b.Ref, "@")
		return repo
	}
	return ""
}

func registryHost(repo string) string {
	host, _, _ := strings.Cut(repo, "/")
	return host
}

func canonical(p string) string { return strings.TrimSuffix(p, "/v8") }

func countLayers(pl *plan.Plan) int {
	// Package layers plus the metadata layer of the first platform (every
	// platform has the same number of envbuild layers).
	if len(pl.Platforms) == 0 {
		return 0
	}
	return len(pl.Platforms[0].Layers) + 1
}

func missingTarget(env *lockfile.Env, platforms []string) bool {
	for _, p := range platforms {
		if env.Target(p) == nil {
			return true
		}
	}
	return false
}

// envMeta describes the per-environment files for the installer's envmeta
// step.
func envMeta(pl *plan.Plan, pp plan.PlatformPlan) ([]byte, error) {
	m := installer.EnvMeta{
		EnvID:      pl.EnvID,
		LockDigest: pl.LockDigest,
		Python:     pythonShort(pp.Target),
	}
	if pp.Target.PythonSource == "base" || pp.Target.PythonSource == "" {
		m.Venv = &installer.Venv{Home: path.Dir(pp.Base.Interpreter), Executable: pp.Base.Interpreter, Version: pp.Base.PythonVersion}
	}
	for _, pk := range pp.Target.Packages {
		if pk.Requested && pk.Source == "pypi" {
			m.Requested = append(m.Requested, installer.RequestedDist{Name: pk.Name, Version: pk.Version})
		}
		if pk.Source == "conda" {
			cm := installer.CondaMeta{Name: pk.Name, Version: pk.Version, Build: pk.Build, URL: pk.URL, Channel: pk.Channel}
			if pk.Requested {
				cm.RequestedSpec = pk.Spec
			}
			m.Conda = append(m.Conda, cm)
		}
	}
	return json.Marshal(m)
}

// targetFits reports whether a lock target suits the base's: the same
// target for an environment on the base's interpreter; the same platform
// and C library for one whose Python is a conda package (its Python is the
// conda package's, not the base's).
func targetFits(lt lockfile.Target, locked, base target.Target) bool {
	if lt.PythonSource == "conda" {
		return canonical(locked.Platform) == canonical(base.Platform) && locked.Libc == base.Libc && locked.LibcVersion == base.LibcVersion
	}
	return locked.Equal(base)
}

func pythonShort(t lockfile.Target) string {
	parts := strings.SplitN(t.Python, ".", 3)
	s := t.Python
	if len(parts) >= 2 {
		s = parts[0] + "." + parts[1]
	}
	if t.FreeThreaded {
		s += "t"
	}
	return s
}
