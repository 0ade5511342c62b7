// Package build is the pipeline of `envbuild build`: it resolves the base
// image per platform, reads its target from its files, makes sure the lock
// matches (locking first when there is none, and saying so), plans the
// layers, their cache keys and the env id, asks the registry for the env's
// tag, then the team layer cache for every layer, has BuildKit build only
// the layers no record names (recording them), and writes the image.
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
	"github.com/envbuild/envbuild/builder/metalayer"
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
	// configuration lookup and Repository set or "".
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
	// CompressionLevel of the package layers (gzip 1-9, zstd 1-22); 0 is
	// the compressor's default (gzip 6, zstd 3).
	CompressionLevel int
	// DockerConfigDir overrides where registry credentials are read.
	DockerConfigDir string
	// LockMu, when set, is held while the lock file is read, made and
	// written, so concurrent builds of one flow share one lock file.
	LockMu *sync.Mutex
	// LayerCache is the team layer cache's mode: "write" (the default:
	// read records and record the layers built), "read" or "off".
	LayerCache string
	// LayerCacheRepo is the repository holding the layer records; ""
	// means the image's repository.
	LayerCacheRepo string
	// CacheSalt enters every layer key: a new salt starts the layer cache
	// afresh.
	CacheSalt string

	// PushTimeout stops a push (BuildKit's, or envbuild's own) that makes
	// no progress for this long; 0 means none.
	PushTimeout time.Duration

	// recordTo is the repository the layers built are recorded in ("" for
	// none), set by Build from the mode.
	recordTo string
	logf     func(string, ...any)
	// LockPolicy says whether the build may lock first (--locked,
	// --frozen).
	LockPolicy LockPolicy
}

// Layer cache modes.
const (
	LayerCacheWrite = "write"
	LayerCacheRead  = "read"
	LayerCacheOff   = "off"
)

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

// Result is the JSON.
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
	// LayersReused and LayersBuilt count package layers (over every
	// platform) taken from the team layer cache and installed by BuildKit.
	LayersReused int `json:"layers_reused"`
	LayersBuilt  int `json:"layers_built"`
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
	mode := o.LayerCache
	switch mode {
	case "":
		mode = LayerCacheWrite
	case LayerCacheWrite, LayerCacheRead, LayerCacheOff:
	default:
		return nil, failure.Usage(fmt.Errorf("--layer-cache %q: want read, write or off", o.LayerCache))
	}

	// 1. The base, per platform, and the target read from its files:
	// under --locked or --frozen, the per-platform digests the lock
	// recorded, whatever the tag points at now.
	pinned, err := lockedBases(o, s, platforms)
	if err != nil {
		return nil, err
	}
	var bases map[string]plan.Base
	var targets []lock.Target
	br := baseRecords(o)
	if pinned != nil {
		logf("building on the base image digests recorded in %s", o.LockPath)
		bases, targets, err = pinnedTargets(ctx, o, pinned, platforms, br)
	} else {
		bases, targets, err = Targets(ctx, o.Registry, s.Base, platforms, o.CacheDir, br)
	}
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

	// 3. The plans and their env ids. Whether bytecode is compiled depends
	// on BuildKit's platform, which is not known before a daemon is asked,
	// and the cache checks must not need one: each possible BuildKit
	// platform gives a plan, in the order their images are preferred.
	input := plan.Input{
		EnvName:    s.Name,
		Env:        env,
		Platforms:  platforms,
		Bases:      bases,
		Options:    plan.Options{Bytecode: !s.Options.NoBytecode, Compression: o.Compression, CompressionLevel: o.CompressionLevel, CacheSalt: o.CacheSalt},
		LockDigest: envDigest(env),
	}
	var candidates []*plan.Plan
	var firstErr error
	for _, host := range plan.HostCandidates(platforms, input.Options.Bytecode) {
		in := input
		in.HostPlatform = host
		pl, err := plan.Make(in)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		candidates = append(candidates, pl)
	}
	if len(candidates) == 0 {
		return nil, firstErr
	}
	res := &Result{EnvID: candidates[0].EnvID, Platforms: platforms, Locked: locked}
	repo := strings.TrimSuffix(s.Repository, "/")
	imageRef := func(pl *plan.Plan) string { return repo + ":" + pl.Tag() }

	// 4. The environment's image, asked for first.
	if repo != "" {
		checked := map[string]bool{}
		for _, pl := range candidates {
			if checked[pl.EnvID] {
				continue
			}
			checked[pl.EnvID] = true
			chk, err := o.Registry.Check(ctx, imageRef(pl), platforms)
			if err != nil {
				return nil, err
			}
			if chk.Cached {
				res.Cached, res.EnvID = true, pl.EnvID
				res.Digest = chk.Digest
				res.Image = imageRef(pl) + "@" + chk.Digest
				res.Layers = countLayers(pl)
				logf("%s is already in the registry: nothing to build", imageRef(pl))
				return res, nil
			}
			if len(chk.Platforms) > 0 && len(chk.MissingPlatforms) > 0 {
				logf("%s exists but lacks %s: building", imageRef(pl), strings.Join(chk.MissingPlatforms, ", "))
			}
		}
	}

	// 5. The team layer cache: every key of every candidate, at once.
	cacheRepo := strings.TrimSuffix(o.LayerCacheRepo, "/")
	if cacheRepo == "" {
		cacheRepo = repo
	}
	if repo == "" && mode == LayerCacheWrite {
		// Without a repository nothing is pushed, so nothing is recorded.
		mode = LayerCacheRead
	}
	if mode == LayerCacheWrite {
		o.recordTo = cacheRepo
	}
	o.logf = logf
	records := map[string]*registry.LayerRecord{}
	if mode != LayerCacheOff && cacheRepo != "" {
		var keys []string
		for _, pl := range candidates {
			for _, pp := range pl.Platforms {
				for _, l := range pp.Layers {
					keys = append(keys, l.Key)
				}
			}
		}
		hits, warnings := o.Registry.LookupRecords(ctx, cacheRepo, keys)
		for _, w := range warnings {
			logf("%s", w)
		}
		records = hits
	}
	for _, pl := range candidates {
		if missing(pl, records) == 0 {
			logf("every layer of %s is in the layer cache %s: assembling the image without BuildKit", pl.Tag(), cacheRepo)
			return finish(ctx, o, res, pl, records, imageRef(pl), 0)
		}
	}

	// 6. BuildKit builds the missing layers.
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
	input.HostPlatform = host
	pl, err := plan.Make(input)
	if err != nil {
		return nil, err
	}
	if repo != "" && pl.EnvID != candidates[0].EnvID {
		// Another BuildKit platform than the preferred one: its image may
		// be there already (the candidates' checks asked for every id,
		// so only a plan none of them made is asked for here).
		known := false
		for _, c := range candidates {
			known = known || c.EnvID == pl.EnvID
		}
		if !known {
			chk, err := o.Registry.Check(ctx, imageRef(pl), platforms)
			if err != nil {
				return nil, err
			}
			if chk.Cached {
				res.Cached, res.EnvID, res.Digest = true, pl.EnvID, chk.Digest
				res.Image = imageRef(pl) + "@" + chk.Digest
				res.Layers = countLayers(pl)
				return res, nil
			}
		}
	}
	res.EnvID = pl.EnvID
	layoutTmp := ""
	if repo == "" {
		// BuildKit writes the built layers to an OCI layout of its own,
		// which the image's layout then takes them from.
		if layoutTmp, err = os.MkdirTemp("", "envbuild-layers-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(layoutTmp)
	}
	pushed, err := buildMissing(ctx, o, eng, pl, host, records, mode, repo, cacheRepo, layoutTmp, res, logf)
	if err != nil {
		return nil, diagnoseFetch(ctx, err, env, o)
	}
	return finish(ctx, o, res, pl, records, imageRef(pl), pushed)
}

// missing counts the layers of pl without a record.
func missing(pl *plan.Plan, records map[string]*registry.LayerRecord) int {
	n := 0
	for _, pp := range pl.Platforms {
		for _, l := range pp.Layers {
			if records[l.Key] == nil {
				n++
			}
		}
	}
	return n
}

// buildMissing has BuildKit install every layer of pl without a record,
// pushes them by digest (to the layer cache's repository when it records,
// else to the image's), records them, and adds them to records. It returns
// the bytes BuildKit pushed.
func buildMissing(ctx context.Context, o Options, eng *engine.Engine, pl *plan.Plan, host string, records map[string]*registry.LayerRecord, mode, repo, cacheRepo, layoutTmp string, res *Result, logf func(string, ...any)) (int64, error) {
	instDir, err := installerDir(o.CacheDir, host)
	if err != nil {
		return 0, err
	}
	installerState := llb.Local("envbuild-installer", llb.SharedKeyHint("envbuild-installer"), llb.LocalUniqueID("envbuild-installer"), llb.WithCustomName("envbuild installer"))
	var jobs []engine.PlatformJob
	lowered := map[string]*plan.Lowered{}
	for _, pp := range pl.Platforms {
		hits := map[int]llb.State{}
		for i, l := range pp.Layers {
			if rec := records[l.Key]; rec != nil {
				p, _ := plan.HostPlatformSpec(pp.Platform)
				hits[i] = llb.Image(rec.Repository+"@"+rec.Manifest, llb.Platform(p), llb.WithCustomNamef("cached layer %s (%s)", l.Name, pp.Platform))
			}
		}
		if len(hits) == len(pp.Layers) {
			continue
		}
		lw, err := plan.Lower(pl, pp, plan.LowerOptions{Installer: installerState, InstallerName: InstallerName, HostPlatform: host, Hits: hits, CABundle: caBundle(o.Lock.Env)})
		if err != nil {
			return 0, err
		}
		lowered[pp.Platform] = lw
		def, err := lw.Layers.Marshal(ctx)
		if err != nil {
			return 0, fmt.Errorf("preparing the build of %s: %w", pp.Platform, err)
		}
		meta, err := lw.Meta.Marshal(ctx)
		if err != nil {
			return 0, fmt.Errorf("preparing the build of %s: %w", pp.Platform, err)
		}
		cfg, err := layersConfig(pp.Platform, len(lw.Built))
		if err != nil {
			return 0, err
		}
		jobs = append(jobs, engine.PlatformJob{Platform: pp.Platform, Def: def, Config: cfg, Meta: meta, MetaFiles: lw.MetaFiles})
	}
	job := engine.Job{
		Platforms:       jobs,
		LocalDirs:       map[string]string{"envbuild-installer": instDir},
		Progress:        o.Progress,
		ProgressOut:     o.ProgressOut,
		DockerConfigDir: o.DockerConfigDir,
		PushTimeout:     o.PushTimeout,
	}
	if job.Secrets, err = indexSecrets(o.Spec, o.Lock.Env); err != nil {
		return 0, err
	}
	job.Export.Compression = o.Compression
	job.Export.CompressionLevel = o.CompressionLevel
	// Built layers go where they will be read from: the layer cache's
	// repository when recording, else the image's.
	target := repo
	if mode == LayerCacheWrite {
		target = cacheRepo
	}
	if target != "" {
		job.Export.Image, job.Export.PushByDigest = target, true
		if r, err := o.Registry.Parse(target); err == nil {
			job.Export.Insecure = o.Registry.IsInsecure(r.Context().RegistryStr())
		}
		job.BlobsExist = func(ctx context.Context, digests []string) (map[string]bool, error) {
			return o.Registry.BlobsExist(ctx, target, digests)
		}
	} else {
		job.Export.OCIDir = layoutTmp
	}
	start := time.Now()
	br, err := eng.Build(ctx, job)
	if err != nil {
		return 0, err
	}
	res.Steps, res.StepsCached = br.Vertexes, br.Cached
	built := 0
	for _, pp := range pl.Platforms {
		lw := lowered[pp.Platform]
		if lw == nil {
			continue
		}
		layers := br.Images[canonical(pp.Platform)]
		metas := br.Meta[pp.Platform]
		if len(layers) != len(lw.Built) || len(metas) != len(lw.Built) {
			return 0, failure.Infra(fmt.Errorf("BuildKit exported %d layers (%d descriptions) for %s, but %d were built", len(layers), len(metas), pp.Platform, len(lw.Built)))
		}
		for k, i := range lw.Built {
			l, bl := pp.Layers[i], layers[k]
			rec := &registry.LayerRecord{Key: l.Key, Platform: canonical(pp.Platform), Digest: bl.Digest, Size: bl.Size, MediaType: bl.MediaType, DiffID: bl.DiffID, Meta: metas[k], Repository: target, Path: bl.Path, Built: true, Name: l.Name}
			records[l.Key] = rec
			built++
		}
	}
	logf("built %d layers of %s in %.1fs (%d of %d steps cached)", built, pl.Tag(), time.Since(start).Seconds(), br.Cached, br.Vertexes)
	return br.PushedBytes, nil
}

// finish writes the image of pl from the base's layers, the package
// layers (records), and the metadata layer and config made here: one code
// path whether BuildKit built any layer or none, so the same lock and base
// give the same digest.
func finish(ctx context.Context, o Options, res *Result, pl *plan.Plan, records map[string]*registry.LayerRecord, imageRef string, pushed int64) (*Result, error) {
	var images []registry.NewImage
	for _, pp := range pl.Platforms {
		for _, n := range pp.Notes {
			if o.logf != nil {
				o.logf("%s", n)
			}
			res.Notes = append(res.Notes, n)
		}
		var metas []installer.LayerMeta
		var layers []registry.Blob
		var diffIDs []string
		baseRepo, _, _ := strings.Cut(pp.Base.Ref, "@")
		for _, b := range pp.Base.Layers {
			layers = append(layers, registry.Blob{Digest: b.Digest, Size: b.Size, MediaType: b.MediaType, From: baseRepo})
		}
		for _, l := range pp.Layers {
			rec := records[l.Key]
			if rec == nil {
				return nil, fmt.Errorf("layer %s of %s was neither built nor found in the layer cache", l.Name, pp.Platform)
			}
			var m installer.LayerMeta
			if err := json.Unmarshal(rec.Meta, &m); err != nil {
				return nil, failure.Infra(fmt.Errorf("reading the recorded metadata of layer %s: %w", l.Name, err))
			}
			metas = append(metas, m)
			if rec.Path != "" {
				layers = append(layers, registry.Blob{Digest: rec.Digest, Size: rec.Size, MediaType: rec.MediaType, Path: rec.Path})
			} else {
				layers = append(layers, registry.Blob{Digest: rec.Digest, Size: rec.Size, MediaType: rec.MediaType, From: rec.Repository})
			}
			diffIDs = append(diffIDs, rec.DiffID)
			if !rec.Built {
				res.LayersReused++
			} else {
				res.LayersBuilt++
			}
		}
		ml, err := metalayer.Build(envMeta(pl, pp), metas, o.Compression)
		if err != nil {
			return nil, failure.User(err)
		}
		layers = append(layers, registry.Blob{Digest: ml.Digest, Size: ml.Size(), MediaType: ml.MediaType, Data: ml.Compressed})
		diffIDs = append(diffIDs, ml.DiffID)
		cfg, err := plan.ImageConfig(pl, pp, diffIDs)
		if err != nil {
			return nil, err
		}
		images = append(images, registry.NewImage{Platform: canonical(pp.Platform), Config: cfg, Layers: layers})
	}
	res.Layers = countLayers(pl)
	if o.Spec.Repository == "" {
		dir := o.OCIDir
		if dir == "" {
			dir = filepath.Join("envbuild-out", o.Spec.Name+"-"+pl.Tag())
		}
		d, err := o.Registry.WriteLayout(ctx, dir, pl.Tag(), images)
		if err != nil {
			return nil, err
		}
		res.OCILayout, res.Digest = dir, d
		return res, nil
	}
	pr, err := o.Registry.PushImage(ctx, imageRef, images)
	if err != nil {
		return nil, err
	}
	// The layers built are recorded once the image that holds them is
	// pushed: a failed build leaves no record.
	if o.recordTo != "" {
		for _, pp := range pl.Platforms {
			for _, l := range pp.Layers {
				rec := records[l.Key]
				if rec == nil || !rec.Built || rec.Manifest != "" {
					continue
				}
				if err := o.Registry.WriteRecord(ctx, o.recordTo, rec); err != nil {
					o.logf("warning: recording layer %s in the layer cache %s: %v", l.Name, o.recordTo, err)
				}
			}
		}
	}
	attachReferrers(ctx, o, imageRef, pr.Digest)
	res.Digest = pr.Digest
	res.Image = imageRef + "@" + pr.Digest
	res.PushedBytes = pushed + pr.Uploaded
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
		// Re-read and write under the lock file's lock: another envbuild
		// may have locked another environment while this one resolved.
		if lf, err = lockfile.PutEnv(o.LockPath, *newEnv); err != nil {
			return nil, nil, false, err
		}
		logf("wrote %s", o.LockPath)
		env = lf.Env(s.Name)
		locked = true
	}
	return env, lf, locked, nil
}

// baseRecords is where a build shares what it read of its base: the team
// layer cache's repository, written in write mode.
func baseRecords(o Options) BaseRecords {
	repo := strings.TrimSuffix(o.LayerCacheRepo, "/")
	if repo == "" {
		repo = strings.TrimSuffix(o.Spec.Repository, "/")
	}
	switch o.LayerCache {
	case LayerCacheOff:
		return BaseRecords{}
	case LayerCacheRead:
		return BaseRecords{Repo: repo}
	}
	return BaseRecords{Repo: repo, Write: repo != ""}
}

// lockedBases returns, under --locked or --frozen, the base image digest
// the lock recorded for each platform ("repo@sha256:…"), or nil when the
// lock records none (a lock made from flags) or the build may relock. A
// lock made for another base repository than the one asked for is out of
// date (exit 3).
func lockedBases(o Options, s spec.Spec, platforms []string) (map[string]string, error) {
	if o.LockPolicy != LockLocked && o.LockPolicy != LockFrozen {
		return nil, nil
	}
	lf, err := lockfile.Read(o.LockPath)
	if err != nil || lf == nil || lf.Env(s.Name) == nil {
		return nil, err
	}
	env := lf.Env(s.Name)
	out := map[string]string{}
	for _, p := range platforms {
		t := env.Target(p)
		if t == nil || t.Base == "" {
			return nil, nil
		}
		out[p] = t.Base
	}
	want, err := o.Registry.Parse(s.Base)
	if err != nil {
		return nil, err
	}
	for p, b := range out {
		repo, _, _ := strings.Cut(b, "@")
		if repo != want.Context().Name() {
			flag := map[LockPolicy]string{LockLocked: "--locked", LockFrozen: "--frozen"}[o.LockPolicy]
			return nil, failure.Stale(fmt.Errorf("%s: %s was made for base image %s (%s), not %s; lock again (the same command without %s) and commit %s", flag, o.LockPath, repo, p, s.Base, flag, o.LockPath))
		}
	}
	return out, nil
}

// pinnedTargets resolves each platform's recorded base digest and reads
// its target.
func pinnedTargets(ctx context.Context, o Options, pinned map[string]string, platforms []string, br BaseRecords) (map[string]plan.Base, []lock.Target, error) {
	bases := map[string]plan.Base{}
	var targets []lock.Target
	for _, p := range platforms {
		b, t, err := Targets(ctx, o.Registry, pinned[p], []string{p}, o.CacheDir, br)
		if err != nil {
			return nil, nil, err
		}
		for k, v := range b {
			bases[k] = v
		}
		targets = append(targets, t...)
	}
	return bases, targets, nil
}

// Targets resolves base for every platform and reads each one's lock
// target from its files.
//
// With records, what was read of a base is shared through the registry:
// a record there (written by any machine that read that base) spares
// reading its files again, and a base read here is recorded when
// records.Write is set.
func Targets(ctx context.Context, reg *registry.Client, base string, platforms []string, cacheDir string, records ...BaseRecords) (map[string]plan.Base, []lock.Target, error) {
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
		info, err := inspectBase(ctx, reg, pi, base, canonical(p), filepath.Join(cacheDir, "bases"), records)
		if err != nil {
			return nil, nil, err
		}
		ref := resolved.DigestRef(p)
		m, err := pi.Image.Manifest()
		if err != nil {
			return nil, nil, failure.Infra(fmt.Errorf("reading the manifest of base image %q (%s): %w", base, p, err))
		}
		var layers []plan.BlobRef
		for _, l := range m.Layers {
			layers = append(layers, plan.BlobRef{Digest: l.Digest.String(), Size: l.Size, MediaType: string(l.MediaType)})
		}
		bases[p] = plan.Base{Ref: ref, ManifestDigest: pi.ManifestDigest, Config: pi.Config, Interpreter: info.Target.Interpreter, PythonVersion: info.Target.Python, InterpreterDigest: info.InterpreterDigest, Layers: layers}
		targets = append(targets, lock.Target{Target: info.Target, BaseRef: ref})
	}
	return bases, targets, nil
}

// BaseRecords says where what was read of a base image is shared: the
// team layer cache's repository.
type BaseRecords struct {
	Repo  string
	Write bool
}

// inspectBase reads a base's target: from this machine's cache, else from
// a base record in the registry, else from the image's files (and then
// records it).
func inspectBase(ctx context.Context, reg *registry.Client, pi registry.PlatformImage, ref, platform, cacheDir string, records []BaseRecords) (*baseimage.Info, error) {
	if info := baseimage.CachedInfo(cacheDir, pi.ManifestDigest, platform); info != nil {
		return info, nil
	}
	for _, r := range records {
		if r.Repo == "" {
			continue
		}
		if info := baseimage.DecodeInfo(reg.LookupBaseRecord(ctx, r.Repo, pi.ManifestDigest), platform, pi.ManifestDigest); info != nil {
			_ = baseimage.SaveInfo(cacheDir, info)
			return info, nil
		}
	}
	info, err := baseimage.Inspect(ctx, pi.Image, platform, cacheDir, baseimage.WithRef(ref))
	if err != nil {
		return nil, err
	}
	for _, r := range records {
		if r.Repo == "" || !r.Write {
			continue
		}
		if data, err := baseimage.EncodeInfo(info); err == nil {
			// A record that cannot be written costs the next machine time,
			// not correctness.
			_ = reg.WriteBaseRecord(ctx, r.Repo, pi.ManifestDigest, platform, data)
		}
	}
	return info, nil
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

// envMeta describes the per-environment files of the metadata layer.
func envMeta(pl *plan.Plan, pp plan.PlatformPlan) *installer.EnvMeta {
	m := &installer.EnvMeta{
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
	return m
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

// layersConfig is the image config of the image BuildKit exports holding
// only the built layers (pushed by digest; envbuild writes the real one).
// It carries a history entry per layer at the fixed time: without them
// the exporter adds entries dated now, and the two exports of one build
// (see engine.Build) could differ.
func layersConfig(platform string, layers int) ([]byte, error) {
	p, err := plan.HostPlatformSpec(platform)
	if err != nil {
		return nil, err
	}
	type history struct {
		Created   string `json:"created"`
		CreatedBy string `json:"created_by"`
	}
	created := plan.Created.Format(time.RFC3339)
	hist := make([]history, layers)
	for i := range hist {
		hist[i] = history{Created: created, CreatedBy: "envbuild: install"}
	}
	return json.Marshal(struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Variant      string `json:"variant,omitempty"`
		RootFS       struct {
			Type string `json:"type"`
		} `json:"rootfs"`
		Created string    `json:"created"`
		History []history `json:"history"`
	}{Architecture: p.Architecture, OS: p.OS, Variant: p.Variant, Created: created, History: hist})
}
