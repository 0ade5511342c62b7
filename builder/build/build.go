// Package build is the pipeline of `envbuild build`: it resolves the base
// image per platform, reads its target from its files, makes sure the lock
// matches (locking first when there is none, and saying so), plans the
// layers, their cache keys and the env id, asks the registry for the env's
// tag, then the team layer cache for every layer, has BuildKit build only
// the layers no record names (recording them), meanwhile writing the
// layers of big wheels' parts from the wheels (builder/wheellayer), and
// writes the image.
//
// It wires the stages together and holds no format, resolution, LLB or
// registry logic of its own: those live in frontends, lock, builder/plan,
// builder/engine and builder/registry.
package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

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
	"github.com/envbuild/envbuild/lock/platform"
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
	// LayersFromWheels has envbuild write the layers of big wheels' parts
	// other than the first from the wheels' own DEFLATE data (see
	// plan.Options.LayersFromWheels); it fetches those wheels itself.
	LayersFromWheels bool
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

	// LockPolicy says whether the build may lock first: lock.Update (the
	// default), lock.Locked (--locked) or lock.Frozen (--frozen).
	LockPolicy lock.Policy
}

// Layer cache modes.
const (
	LayerCacheWrite = "write"
	LayerCacheRead  = "read"
	LayerCacheOff   = "off"
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

// Build runs the pipeline: each stage below is a function of its own, in
// this order, and a stage that finds the image (or every layer) already
// built ends the build there.
func Build(ctx context.Context, o Options) (*Result, error) {
	s := o.Spec
	platforms := s.PlatformsOrDefault()
	if s.Base == "" {
		return nil, failure.User(fmt.Errorf("no base image for environment %q: pass --base IMAGE, or set ENVBUILD_DEFAULT_CONTAINER_IMAGE or default_container_image in the config file", s.Name))
	}
	dest, err := destinationsOf(o)
	if err != nil {
		return nil, err
	}
	bases, targets, err := resolveBases(ctx, o, platforms)
	if err != nil {
		return nil, err
	}
	env, locked, err := ensureLock(ctx, o, targets)
	if err != nil {
		return nil, err
	}
	input := plan.Input{
		EnvName:    s.Name,
		Env:        env,
		Platforms:  platforms,
		Bases:      bases,
		Options:    plan.Options{Bytecode: !s.Options.NoBytecode, Compression: o.Compression, CompressionLevel: o.CompressionLevel, LayersFromWheels: o.LayersFromWheels, CacheSalt: o.CacheSalt},
		LockDigest: envDigest(env),
	}
	cands, err := planCandidates(input)
	if err != nil {
		return nil, err
	}
	plans := cands.plans()
	res := &Result{EnvID: plans[0].EnvID, Platforms: platforms, Locked: locked}
	found, err := findImage(ctx, o, dest, plans, res)
	if err != nil {
		return nil, err
	}
	if found {
		return res, nil
	}
	roots := newCompileRoots(ctx, o, dest)
	defer roots.stop()
	records := lookupLayers(ctx, o, dest, plans, roots)
	for _, pl := range plans {
		if missing(pl, records) == 0 {
			o.logf("every layer of %s is in the layer cache %s: assembling the image without BuildKit", pl.Tag(), dest.cacheRepo)
			return finish(ctx, o, res, pl, records, dest.imageRef(pl), 0, dest.recordTo)
		}
	}
	return buildWithBuildKit(ctx, o, dest, input, cands, records, res, roots)
}

// destinations are where a build's image and layers go.
type destinations struct {
	// repo is the image's repository ("" for an OCI layout).
	repo string
	// mode is the layer cache's mode, "write" made "read" where nothing
	// is pushed; cacheRepo its repository (default repo).
	mode, cacheRepo string
	// recordTo is where the layers built are recorded ("" for nowhere).
	recordTo string
}

func (d destinations) imageRef(pl *plan.Plan) string { return d.repo + ":" + pl.Tag() }

// destinationsOf checks the layer cache mode and says where things go.
func destinationsOf(o Options) (destinations, error) {
	d := destinations{repo: strings.TrimSuffix(o.Spec.Repository, "/"), mode: o.LayerCache}
	switch d.mode {
	case "":
		d.mode = LayerCacheWrite
	case LayerCacheWrite, LayerCacheRead, LayerCacheOff:
	default:
		return d, failure.Usage(fmt.Errorf("--layer-cache %q: want read, write or off", o.LayerCache))
	}
	d.cacheRepo = strings.TrimSuffix(o.LayerCacheRepo, "/")
	if d.cacheRepo == "" {
		d.cacheRepo = d.repo
	}
	if d.repo == "" && d.mode == LayerCacheWrite {
		// Without a repository nothing is pushed, so nothing is recorded.
		d.mode = LayerCacheRead
	}
	if d.mode == LayerCacheWrite {
		d.recordTo = d.cacheRepo
	}
	return d, nil
}

// resolveBases is stage 1: the base, per platform, and the target read
// from its files; under --locked or --frozen, the per-platform digests the
// lock recorded, whatever the tag points at now.
func resolveBases(ctx context.Context, o Options, platforms []string) (map[string]plan.Base, []target.Target, error) {
	pinned, err := lockedBases(o, o.Spec, platforms)
	if err != nil {
		return nil, nil, err
	}
	br := baseRecords(o)
	if pinned != nil {
		o.logf("building on the base image digests recorded in %s", o.LockPath)
		return pinnedTargets(ctx, o, pinned, platforms, br)
	}
	return Targets(ctx, o.Registry, o.Spec.Base, platforms, o.CacheDir, br)
}

// ensureLock is stage 2: the lock, read or made first (lock.Ensure, as
// o.LockPolicy allows), whose targets must fit the bases'. A target
// locked without a base gets the base's interpreter in the copy of the
// lock entry returned.
func ensureLock(ctx context.Context, o Options, targets []target.Target) (*lockfile.Env, bool, error) {
	if o.LockMu != nil {
		o.LockMu.Lock()
	}
	req := o.Lock
	req.Spec, req.Targets = o.Spec, targets
	ens, err := lock.Ensure(ctx, o.LockPath, o.LockPolicy, req, o.Log)
	if o.LockMu != nil {
		o.LockMu.Unlock()
	}
	if err != nil {
		return nil, false, err
	}
	// A copy: the targets are completed below for this build only, not in
	// the lock as read.
	env := &lockfile.Env{}
	*env = *ens.Env
	env.Targets = append([]lockfile.Target(nil), ens.Env.Targets...)
	for _, t := range targets {
		lt := env.Target(t.Platform)
		if !targetFits(*lt, t) {
			return nil, false, failure.User(fmt.Errorf("the lock %s is for %s, but base image %q is %s; run `envbuild lock` against this base or use the base the lock was made for", o.LockPath, lt.Target, o.Spec.Base, t))
		}
		if lt.Interpreter == "" && lt.PythonSource == "" {
			lt.Interpreter = t.Interpreter
			lt.PythonSource = lockfile.PythonFromBase
		}
	}
	return env, ens.Locked, nil
}

// planCandidates is stage 3: the plans and their env ids, made once,
// before any daemon is asked. Whether bytecode is compiled (and which
// platform's sdists are built) depends on BuildKit's platform, and the
// cache checks must not need a daemon: each possible BuildKit platform
// gives a plan, in the order their images are preferred, and once
// connected the build takes the one for BuildKit's platform
// (candidates.forHost). With bytecode off the candidates name one image,
// but each platform still gets its own, for a BuildKit of that platform to
// build its sdists.
func planCandidates(input plan.Input) (candidates, error) {
	hosts := plan.HostCandidates(input.Platforms, input.Options.Bytecode)
	for _, p := range input.Platforms {
		if !slices.Contains(hosts, p) {
			hosts = append(hosts, p)
		}
	}
	var cs candidates
	var firstErr error
	for _, host := range hosts {
		in := input
		in.HostPlatform = host
		pl, err := plan.Make(in)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		cs = append(cs, candidate{host: host, plan: pl, err: err})
	}
	if len(cs.plans()) == 0 {
		return nil, firstErr
	}
	return cs, nil
}

// candidate is the plan for one possible BuildKit platform (a target
// platform or plan.NoHost), or why there is none.
type candidate struct {
	host string
	plan *plan.Plan
	err  error
}

// candidates are in the order their images are preferred.
type candidates []candidate

// plans are the candidates' plans, failed ones left out.
func (cs candidates) plans() []*plan.Plan {
	var out []*plan.Plan
	for _, c := range cs {
		if c.plan != nil {
			out = append(out, c.plan)
		}
	}
	return out
}

// forHost is the plan for a BuildKit running on host (plan.HostCandidate),
// or why it cannot build there.
func (cs candidates) forHost(platforms []string, host string) (*plan.Plan, error) {
	want := plan.HostCandidate(platforms, host)
	for _, c := range cs {
		if c.host != want {
			continue
		}
		if c.err != nil && want == plan.NoHost {
			return nil, fmt.Errorf("BuildKit runs on %s: %w", host, c.err)
		}
		return c.plan, c.err
	}
	return nil, fmt.Errorf("no plan was made for BuildKit's platform %s", host)
}

// findImage is stage 4: the registry is asked for each candidate's image
// first. found reports a hit, with res filled in.
func findImage(ctx context.Context, o Options, dest destinations, candidates []*plan.Plan, res *Result) (found bool, err error) {
	if dest.repo == "" {
		return false, nil
	}
	checked := map[string]bool{}
	for _, pl := range candidates {
		if checked[pl.EnvID] {
			continue
		}
		checked[pl.EnvID] = true
		chk, err := o.Registry.Check(ctx, dest.imageRef(pl), res.Platforms)
		if err != nil {
			return false, err
		}
		if chk.Cached {
			res.Cached, res.EnvID = true, pl.EnvID
			res.Digest = chk.Digest
			res.Image = dest.imageRef(pl) + "@" + chk.Digest
			res.Layers = countLayers(pl)
			o.logf("%s is already in the registry: nothing to build", dest.imageRef(pl))
			return true, nil
		}
		if len(chk.Platforms) > 0 && len(chk.MissingPlatforms) > 0 {
			o.logf("%s exists but lacks %s: building", dest.imageRef(pl), strings.Join(chk.MissingPlatforms, ", "))
		}
	}
	return false, nil
}

// lookupLayers is stage 5: the team layer cache is asked for every key
// of every candidate, at once. A lookup that fails is a miss, with a
// warning.
func lookupLayers(ctx context.Context, o Options, dest destinations, candidates []*plan.Plan, roots *compileRoots) map[string]*registry.LayerRecord {
	if dest.mode == LayerCacheOff || dest.cacheRepo == "" {
		return map[string]*registry.LayerRecord{}
	}
	var keys []string
	for _, pl := range candidates {
		for _, pp := range pl.Platforms {
			for _, l := range pp.Layers {
				keys = append(keys, l.Key)
			}
			if k := roots.key(pp); k != "" {
				keys = append(keys, k)
			}
		}
	}
	hits, warnings := o.Registry.LookupRecords(ctx, dest.cacheRepo, keys)
	for _, w := range warnings {
		o.logf("%s", w)
	}
	return hits
}

// buildWithBuildKit is stage 6: BuildKit, now asked for its platform,
// builds the layers no record names with the candidate plan for that
// platform (its image was looked for in stage 4), lowered for it, and the
// image is written.
func buildWithBuildKit(ctx context.Context, o Options, dest destinations, input plan.Input, cands candidates, records map[string]*registry.LayerRecord, res *Result, roots *compileRoots) (*Result, error) {
	co := o.Connect
	co.Log = func(l string) { o.logf("%s", l) }
	eng, err := engine.Connect(ctx, co)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	host, err := eng.HostPlatform(ctx)
	if err != nil {
		return nil, err
	}
	pl, err := cands.forHost(input.Platforms, host)
	if err != nil {
		return nil, err
	}
	res.EnvID = pl.EnvID
	layoutTmp := ""
	if dest.repo == "" {
		// BuildKit writes the built layers to an OCI layout of its own,
		// which the image's layout then takes them from.
		if layoutTmp, err = cacheTemp(o.CacheDir, "layers-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(layoutTmp)
	}
	pushed, err := buildMissing(ctx, o, eng, pl, host, records, dest.mode, dest.repo, dest.cacheRepo, layoutTmp, res, roots)
	var fwe fromWheelError
	if err != nil && ctx.Err() == nil && roots.failed() && !errors.As(err, &fwe) {
		// A compile root is the base's own files, so this is not expected;
		// but a root that misses what some package's compiling needs must
		// not fail a build the base can do.
		o.logf("warning: building on the base's compile root failed (%v); building again on the base image", err)
		pushed, err = buildMissing(ctx, o, eng, pl, host, records, dest.mode, dest.repo, dest.cacheRepo, layoutTmp, res, roots)
	}
	if err != nil {
		return nil, diagnoseFetch(ctx, err, input.Env, o)
	}
	res, err = finish(ctx, o, res, pl, records, dest.imageRef(pl), pushed, dest.recordTo)
	if err == nil {
		roots.record(ctx, o.logf)
	}
	return res, err
}

// logf writes one line to o.Log, when set.
func (o Options) logf(format string, a ...any) {
	if o.Log != nil {
		o.Log(fmt.Sprintf(format, a...))
	}
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
func buildMissing(ctx context.Context, o Options, eng *engine.Engine, pl *plan.Plan, host string, records map[string]*registry.LayerRecord, mode, repo, cacheRepo, layoutTmp string, res *Result, roots *compileRoots) (int64, error) {
	instDir, err := installerDir(o.CacheDir, host)
	if err != nil {
		return 0, err
	}
	installerState := plan.InstallerSource()
	creds, err := buildCredentials(o.Spec, o.Lock.Env, hasConda(pl))
	if err != nil {
		return 0, err
	}
	var jobs []engine.PlatformJob
	lowered := map[string]*plan.Lowered{}
	fromWheels, perPlatform := wheelLayersToMake(pl, records)
	for _, pp := range pl.Platforms {
		hits := map[int]string{}
		for i, l := range pp.Layers {
			if rec := records[l.Key]; rec != nil {
				hits[i] = rec.Image()
			}
		}
		if len(hits)+perPlatform[pp.Platform] == len(pp.Layers) {
			continue
		}
		lw, err := plan.Lower(pl, pp, plan.LowerOptions{Installer: installerState, InstallerName: InstallerName, HostPlatform: host, Hits: hits, CABundle: caBundle(o.Lock.Env), CompileRoot: roots.root(pp, records), TokenChannels: creds.tokenChannels, FetchCABundle: creds.fetchCA, FetchProxy: creds.fetchProxy, NoContentHash: eng.Info.MountContentCache})
		if err != nil {
			return 0, err
		}
		lowered[pp.Platform] = lw
		// Each layer is its own export, so that it is compressed and
		// pushed as soon as it is built (engine.Build).
		cfg, err := engine.LayersConfig(pp.Platform, 1, plan.Created)
		if err != nil {
			return 0, err
		}
		pj := engine.PlatformJob{Platform: pp.Platform}
		for k := range lw.Each {
			def, err := lw.Each[k].Marshal(ctx)
			if err != nil {
				return 0, fmt.Errorf("preparing the build of %s: %w", pp.Platform, err)
			}
			meta, err := lw.EachMeta[k].Marshal(ctx)
			if err != nil {
				return 0, fmt.Errorf("preparing the build of %s: %w", pp.Platform, err)
			}
			pj.Layers = append(pj.Layers, engine.LayerJob{Def: def, Config: cfg, Meta: meta, MetaFile: lw.MetaFiles[k]})
		}
		jobs = append(jobs, pj)
	}
	job := engine.Job{
		Platforms:       jobs,
		LocalDirs:       map[string]string{plan.InstallerLocal: instDir},
		Progress:        o.Progress,
		ProgressOut:     o.ProgressOut,
		DockerConfigDir: o.DockerConfigDir,
		PushTimeout:     o.PushTimeout,
	}
	job.Secrets = creds.secrets
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
		job.Export.Insecure = o.Registry.IsInsecureRepository(target)
		job.BlobsExist = func(ctx context.Context, digests []string) (map[string]bool, error) {
			return o.Registry.BlobsExist(ctx, target, digests)
		}
	} else {
		job.Export.OCIDir = layoutTmp
	}
	// BuildKit builds its layers while the layers of big wheels are
	// written here from the wheels (wheellayers.go).
	start := time.Now()
	br := &engine.Result{}
	var made []*registry.LayerRecord
	var madePushed int64
	g, gctx := errgroup.WithContext(ctx)
	if len(jobs) > 0 {
		g.Go(func() (err error) {
			br, err = eng.Build(gctx, job)
			return err
		})
	}
	g.Go(func() (err error) {
		made, madePushed, err = makeWheelLayers(gctx, o, fromWheels, target, layoutTmp)
		return err
	})
	if err := g.Wait(); err != nil {
		return 0, err
	}
	res.Steps, res.StepsCached = br.Vertexes, br.Cached
	built := 0
	for _, rec := range made {
		records[rec.Key] = rec
		built++
	}
	for _, pp := range pl.Platforms {
		lw := lowered[pp.Platform]
		if lw == nil {
			continue
		}
		layers := br.Images[platform.Canonical(pp.Platform)]
		metas := br.Meta[pp.Platform]
		if len(layers) != len(lw.Built) || len(metas) != len(lw.Built) {
			return 0, failure.Infra(fmt.Errorf("BuildKit exported %d layers (%d descriptions) for %s, but %d were built", len(layers), len(metas), pp.Platform, len(lw.Built)))
		}
		for k, i := range lw.Built {
			l, bl := pp.Layers[i], layers[k]
			rec := &registry.LayerRecord{Key: l.Key, Platform: platform.Canonical(pp.Platform), Digest: bl.Digest, Size: bl.Size, MediaType: bl.MediaType, DiffID: bl.DiffID, Meta: metas[k], Repository: target, Path: bl.Path, Built: true, Name: l.Name}
			records[l.Key] = rec
			built++
		}
	}
	o.logf("built %d layers of %s in %.1fs (%d of %d steps cached)", built, pl.Tag(), time.Since(start).Seconds(), br.Cached, br.Vertexes)
	return br.PushedBytes + madePushed, nil
}

// finish writes the image of pl from the base's layers, the package
// layers (records), and the metadata layer and config made here: one code
// path whether BuildKit built any layer or none, so the same lock and base
// give the same digest. Once the image is pushed, the layers BuildKit
// built are recorded in the repository recordTo ("" records nothing).
func finish(ctx context.Context, o Options, res *Result, pl *plan.Plan, records map[string]*registry.LayerRecord, imageRef string, pushed int64, recordTo string) (*Result, error) {
	var images []registry.NewImage
	for _, pp := range pl.Platforms {
		for _, n := range pp.Notes {
			o.logf("%s", n)
			res.Notes = append(res.Notes, n)
		}
		var metas []installer.LayerMeta
		var layers []registry.Blob
		var diffIDs []string
		baseRepo := registry.RepositoryOf(pp.Base.Ref)
		for _, b := range pp.Base.Layers {
			layers = append(layers, registry.Blob{Digest: b.Digest, Size: b.Size, MediaType: b.MediaType, From: baseRepo})
		}
		for _, l := range pp.Layers {
			rec := records[l.Key]
			if rec == nil {
				return nil, fmt.Errorf("layer %s of %s was neither built nor found in the layer cache", l.Name, pp.Platform)
			}
			m, err := installer.ParseLayerMeta(rec.Meta)
			if err != nil {
				return nil, failure.Infra(fmt.Errorf("reading the recorded metadata of layer %s: %w", l.Name, err))
			}
			metas = append(metas, m)
			layers = append(layers, rec.Blob())
			diffIDs = append(diffIDs, rec.DiffID)
			if !rec.Built {
				res.LayersReused++
			} else {
				res.LayersBuilt++
			}
		}
		ml, err := metalayer.Build(metalayer.EnvMeta(pl, pp), metas, o.Compression)
		if err != nil {
			return nil, failure.User(err)
		}
		layers = append(layers, registry.Blob{Digest: ml.Digest, Size: ml.Size(), MediaType: ml.MediaType, Data: ml.Compressed})
		diffIDs = append(diffIDs, ml.DiffID)
		cfg, err := plan.ImageConfig(pl, pp, diffIDs)
		if err != nil {
			return nil, err
		}
		images = append(images, registry.NewImage{Platform: platform.Canonical(pp.Platform), Config: cfg, Layers: layers})
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
	if recordTo != "" {
		for _, pp := range pl.Platforms {
			for _, l := range pp.Layers {
				rec := records[l.Key]
				if rec == nil || !rec.Built || rec.Manifest != "" {
					continue
				}
				if err := o.Registry.WriteRecord(ctx, recordTo, rec); err != nil {
					o.logf("warning: recording layer %s in the layer cache %s: %v", l.Name, recordTo, err)
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
	if o.LockPolicy != lock.Locked && o.LockPolicy != lock.Frozen {
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
			flag := o.LockPolicy.Flag()
			return nil, failure.Stale(fmt.Errorf("%s: %s was made for base image %s (%s), not %s; lock again (the same command without %s) and commit %s", flag, o.LockPath, repo, p, s.Base, flag, o.LockPath))
		}
	}
	return out, nil
}

// pinnedTargets resolves each platform's recorded base digest and reads
// its target.
func pinnedTargets(ctx context.Context, o Options, pinned map[string]string, platforms []string, br BaseRecords) (map[string]plan.Base, []target.Target, error) {
	bases := map[string]plan.Base{}
	var targets []target.Target
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
func Targets(ctx context.Context, reg *registry.Client, base string, platforms []string, cacheDir string, records ...BaseRecords) (map[string]plan.Base, []target.Target, error) {
	resolved, err := reg.Resolve(ctx, base, platforms)
	if err != nil {
		return nil, nil, err
	}
	bases := map[string]plan.Base{}
	var targets []target.Target
	for _, p := range platforms {
		pi, ok := resolved.Platforms[platform.Canonical(p)]
		if !ok {
			return nil, nil, failure.User(fmt.Errorf("base image %q has no image for %s", base, p))
		}
		info, err := inspectBase(ctx, reg, pi, base, platform.Canonical(p), filepath.Join(cacheDir, "bases"), records)
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
		t := info.Target
		t.Base = ref
		targets = append(targets, t)
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

func countLayers(pl *plan.Plan) int {
	// Package layers plus the metadata layer of the first platform (every
	// platform has the same number of envbuild layers).
	if len(pl.Platforms) == 0 {
		return 0
	}
	return len(pl.Platforms[0].Layers) + 1
}

// targetFits reports whether a lock target suits the base's: the same
// target for an environment on the base's interpreter; the same platform
// and C library for one whose Python is a conda package (its Python is the
// conda package's, not the base's).
func targetFits(lt lockfile.Target, base target.Target) bool {
	if lt.PythonSource == lockfile.PythonFromConda {
		return platform.Same(lt.Platform, base.Platform) && lt.Libc == base.Libc && lt.LibcVersion == base.LibcVersion
	}
	return lt.Target.Equal(base)
}
