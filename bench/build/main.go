package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/envbuild/envbuild/integration/testbed"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command's flags.
type options struct {
	Runs        int
	Out         string
	Envbuild    string
	UV          string
	CABundle    string
	Work        string
	Spec        []string
	PinPackage  string
	PinVersions []string
	Scenarios   map[string]bool
}

func parseFlags(args []string, stderr io.Writer, root string) (*options, error) {
	fs := flag.NewFlagSet("bench/build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	fs.IntVar(&o.Runs, "n", 3, "runs per scenario and tool (the median is reported)")
	fs.StringVar(&o.Out, "out", filepath.Join(root, "docs", "BENCH-build.md"), "Markdown report to write (\"\" for stdout only)")
	fs.StringVar(&o.Envbuild, "envbuild", filepath.Join(root, "bin", "envbuild"), "the envbuild binary (make build)")
	fs.StringVar(&o.UV, "uv", "", "the uv binary copied into the uv peer's build context (default: uv on PATH)")
	fs.StringVar(&o.CABundle, "ca", "", "CA bundle bind-mounted into the peers' install steps (default: $SSL_CERT_FILE, else /etc/ssl/certs/ca-certificates.crt)")
	fs.StringVar(&o.Work, "work", filepath.Join(root, ".cache", "bench-build"), "working directory (locks, build contexts, logs); emptied first")
	spec := fs.String("spec", "pandas==2.2.2 requests==2.32.3 scikit-learn==1.5.0", "the package set, space-separated PEP 508 requirements")
	fs.StringVar(&o.PinPackage, "pin-package", "tzdata", "the small package whose pin changes (pinned in the spec too)")
	pins := fs.String("pin-versions", "2024.2 2024.1 2023.4 2023.3 2023.2 2023.1 2022.7 2025.1 2025.2 2025.3 2026.1 2026.2 2026.3", "versions of -pin-package: the first for the cold builds, then -n for each of pin, fresh-pin and new-binary (each builds versions no other scenario built); pandas 2.2.2 wants tzdata>=2022.7, hence the newer ones last")
	scen := fs.String("scenarios", "cold,pin,swap,unchanged,fresh-pin,fresh-other-repo,new-binary", "scenarios to run (always in the order cold, fresh-pin, fresh-other-repo, pin, swap, new-binary, unchanged)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.Runs < 1 {
		return nil, fmt.Errorf("-n %d: want at least 1 run", o.Runs)
	}
	o.Spec = strings.Fields(*spec)
	o.PinVersions = strings.Fields(*pins)
	o.Scenarios = map[string]bool{}
	for _, s := range strings.Split(*scen, ",") {
		known := false
		for _, k := range scenarios {
			known = known || k.Key == s
		}
		if !known {
			return nil, fmt.Errorf("-scenarios: unknown scenario %q (want %s)", s, scenarioKeys())
		}
		o.Scenarios[s] = true
	}
	if !o.Scenarios["cold"] {
		return nil, fmt.Errorf("-scenarios %q: every scenario starts from the first cold build's daemon and image; add cold", *scen)
	}
	if o.Scenarios["swap"] && !o.Scenarios["pin"] {
		return nil, fmt.Errorf("-scenarios %q: swap builds on the images of pin; add pin", *scen)
	}
	if need := 1 + o.Runs*len(variantSlots(o.Scenarios)); len(o.PinVersions) < need {
		return nil, fmt.Errorf("-pin-versions %q: want at least %d versions (one for cold, -n for each of %s)", *pins, need, strings.Join(variantSlots(o.Scenarios), ", "))
	}
	if o.UV == "" {
		p, err := exec.LookPath("uv")
		if err != nil {
			return nil, fmt.Errorf("finding uv for the uv peer: not on PATH; install it (pip install uv) or pass -uv")
		}
		o.UV = p
	}
	if o.CABundle == "" {
		o.CABundle = os.Getenv("SSL_CERT_FILE")
	}
	if o.CABundle == "" {
		o.CABundle = "/etc/ssl/certs/ca-certificates.crt"
	}
	for _, p := range []*string{&o.Envbuild, &o.UV, &o.Out, &o.Work} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return nil, err
		}
		*p = abs
	}
	for _, f := range []string{o.Envbuild, o.CABundle} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("checking %q: %w (run make build for bin/envbuild)", f, err)
		}
	}
	return o, nil
}

// variantSlots are the scenarios that build variants of their own, in
// the order their variants are numbered: slot k builds variants
// 1+k*n … (k+1)*n, so no scenario finds another's image of the same lock
// (which would be an environment cache hit, not the build measured).
func variantSlots(scen map[string]bool) []string {
	var out []string
	for _, k := range []string{"pin", "fresh-pin", "new-binary"} {
		if scen[k] {
			out = append(out, k)
		}
	}
	return out
}

// variantOf is the variant run (1-based) of a scenario builds.
func variantOf(scen map[string]bool, runs int, key string, run int) int {
	switch key {
	case "swap":
		key = "pin"
	case "cold", "unchanged", "fresh-other-repo":
		return 0
	}
	for k, s := range variantSlots(scen) {
		if s == key {
			return 1 + k*runs + run - 1
		}
	}
	return 0
}

func scenarioKeys() string {
	var ks []string
	for _, s := range scenarios {
		ks = append(ks, s.Key)
	}
	return strings.Join(ks, ", ")
}

func run(args []string, stdout, stderr io.Writer) int {
	root, err := testbed.ModuleRoot()
	if err != nil {
		fmt.Fprintln(stderr, "bench/build:", err)
		return 1
	}
	o, err := parseFlags(args, stderr, root)
	if err != nil {
		fmt.Fprintln(stderr, "bench/build:", err)
		return 2
	}
	if reason := testbed.CannotRun(); reason != "" {
		fmt.Fprintln(stderr, "bench/build:", reason)
		return 1
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := os.RemoveAll(o.Work); err != nil {
		fmt.Fprintln(stderr, "bench/build: emptying the working directory:", err)
		return 1
	}
	// A private copy: bin/envbuild is also the installer BuildKit runs, and
	// a `make build` elsewhere during the benchmark would change it between
	// runs and invalidate every install step.
	bin := filepath.Join(o.Work, "bin", "envbuild")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		fmt.Fprintln(stderr, "bench/build:", err)
		return 1
	}
	if err := copyFile(o.Envbuild, bin, 0o755); err != nil {
		fmt.Fprintln(stderr, "bench/build:", err)
		return 1
	}
	o.Envbuild = bin
	started := time.Now()
	bed, err := testbed.Start(ctx, testbed.Options{Log: stderr})
	if err != nil {
		fmt.Fprintln(stderr, "bench/build:", err)
		return 1
	}
	defer func() {
		if err := bed.Stop(); err != nil {
			fmt.Fprintln(stderr, "bench/build: stopping the test bed:", err)
		}
	}()
	b := &bench{
		o:      o,
		bed:    bed,
		cli:    &envbuildCLI{Bin: o.Envbuild, Env: envWithout("BUILDKIT_HOST")},
		res:    results{},
		log:    stderr,
		warm:   map[string]warmState{},
		regLog: registryLog{Path: filepath.Join(bed.StateDir, "registry", "registry.log")},
		root:   root,
	}
	if err := b.runAll(ctx); err != nil {
		fmt.Fprintln(stderr, "bench/build:", err)
		bed.DumpLogs(stderr)
		return 1
	}
	info := b.info(root, started)
	var buf bytes.Buffer
	writeReport(&buf, b.res, info)
	stdout.Write(buf.Bytes())
	if o.Out != "" {
		if err := os.WriteFile(o.Out, buf.Bytes(), 0o644); err != nil {
			fmt.Fprintln(stderr, "bench/build: writing the report:", err)
			return 1
		}
		fmt.Fprintf(stderr, "bench/build: wrote %s; build logs in %s\n", o.Out, o.Work)
	}
	return 0
}

// bench runs the scenarios on one test bed.
type bench struct {
	o     *options
	bed   *testbed.Bed
	cli   *envbuildCLI
	reg   registryReader
	res   results
	log   io.Writer
	notes []string

	// variants[i] is the spec with the pin package at PinVersions[i].
	variants []variant
	// warm is each tool's daemon and repository after its first cold
	// build, where change-one-pin and base swap run.
	warm map[string]warmState
	// regLog is the test bed registry's log, read for blob downloads.
	regLog registryLog
	root   string
	// baseBytes and baseLayers are the base image's compressed size.
	baseBytes  int64
	baseLayers int
	// teamUV is the repository of the uv teammate build, which exported
	// BuildKit's registry cache to teamUV:buildcache.
	teamUV string
	// noDaemon is the fresh-other-repo check with no BuildKit at all.
	noDaemon string
}

// warmState is a buildkitd and a repository holding one tool's build of
// variant 0.
type warmState struct {
	Addr, Repo string
}

// variant is one version of the spec, locked.
type variant struct {
	Requirements []string
	Lock         string
	// PipRequirements is requirements.txt for the peers.
	PipRequirements string
	Packages        []lockedPackage
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "bench/build: "+format+"\n", args...)
}

func (b *bench) note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	b.notes = append(b.notes, n)
	b.logf("%s", n)
}

func (b *bench) runAll(ctx context.Context) error {
	if err := b.lockVariants(ctx); err != nil {
		return err
	}
	if img, err := b.reg.Image(ctx, b.bed.Base); err == nil {
		for _, n := range img.Layers {
			b.baseBytes += n
		}
		b.baseLayers = img.LayerCount
	}
	steps := []struct {
		key string
		fn  func(context.Context) error
	}{
		{"cold", b.cold},
		{"fresh-pin", b.freshPin},
		{"fresh-other-repo", b.freshOtherRepo},
		{"pin", b.changeOnePin},
		{"swap", b.baseSwap},
		{"new-binary", b.newBinary},
		{"unchanged", b.unchanged},
	}
	for _, s := range steps {
		if !b.o.Scenarios[s.key] {
			continue
		}
		t := time.Now()
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("scenario %s: %w", s.key, err)
		}
		b.logf("scenario %s done in %s", s.key, time.Since(t).Round(time.Second))
	}
	return nil
}

// lockVariants locks every variant of the spec against the base, before
// any timing, and derives the peers' requirements.txt from each lock.
func (b *bench) lockVariants(ctx context.Context) error {
	n := 1 + b.o.Runs*len(variantSlots(b.o.Scenarios))
	for i := 0; i < n; i++ {
		reqs := append(append([]string(nil), b.o.Spec...), b.o.PinPackage+"=="+b.o.PinVersions[i])
		dir := filepath.Join(b.o.Work, "locks", fmt.Sprintf("v%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		j := envbuildJob{Requirements: reqs, Base: b.bed.Base, Lock: filepath.Join(dir, "envbuild.lock"), CacheDir: filepath.Join(b.o.Work, "cache", "lock")}
		t := time.Now()
		if err := b.cli.Lock(ctx, j, b.logFile("lock", fmt.Sprintf("v%d", i))); err != nil {
			return fmt.Errorf("locking variant %d: %w", i, err)
		}
		pkgs, err := readLockPackages(j.Lock)
		if err != nil {
			return err
		}
		txt, err := requirementsTxt(pkgs)
		if err != nil {
			return err
		}
		b.variants = append(b.variants, variant{Requirements: reqs, Lock: j.Lock, PipRequirements: txt, Packages: pkgs})
		b.logf("locked variant %d (%s==%s): %d packages in %s", i, b.o.PinPackage, b.o.PinVersions[i], len(pkgs), time.Since(t).Round(time.Millisecond))
	}
	return nil
}

// logFile opens a log for one build under Work/logs; on failure the
// build's output is discarded.
func (b *bench) logFile(parts ...string) io.Writer {
	dir := filepath.Join(b.o.Work, "logs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return io.Discard
	}
	f, err := os.Create(filepath.Join(dir, strings.Join(parts, "-")+".log"))
	if err != nil {
		return io.Discard
	}
	// The file stays open until the process ends: a few dozen files.
	return f
}

// buildSpec is one build to measure.
type buildSpec struct {
	Scenario, Tool string
	Run            int // 1-based
	Addr           string
	Repo           string // registry/repository
	Tag            string // the peers' tag
	Base           string
	Variant        int
	CacheDir       string // envbuild's --cache-dir
	// CacheRepo is envbuild's --layer-cache-repo ("": the image's).
	CacheRepo string
	// BuildkitFlag is envbuild's --buildkit-addr (for a daemon that is
	// not there).
	BuildkitFlag string
	// CLI is the envbuild to run (nil: the benchmark's).
	CLI *envbuildCLI
	// PeerCache is the peers' registry cache export and import.
	PeerCache peerCache
	// AlsoKnown are repositories whose blobs count as held before (the
	// layer cache or registry cache another repository's build reads).
	AlsoKnown []string
}

// build runs one build and measures it against what the registry held
// before.
func (b *bench) build(ctx context.Context, s buildSpec) (sample, error) {
	known, err := b.reg.Repository(ctx, s.Repo)
	if err != nil {
		return sample{}, err
	}
	for _, r := range s.AlsoKnown {
		more, err := b.reg.Repository(ctx, r)
		if err != nil {
			return sample{}, err
		}
		known.addAll(more)
	}
	baseImg, err := b.reg.Image(ctx, s.Base)
	if err != nil {
		return sample{}, err
	}
	v := b.variants[s.Variant]
	log := b.logFile(s.Scenario, s.Tool, fmt.Sprint(s.Run), fmt.Sprintf("v%d", s.Variant))
	var out sample
	var ref string
	logAt := b.regLog.Offset()
	start := time.Now()
	switch s.Tool {
	case "envbuild":
		cli := s.CLI
		if cli == nil {
			cli = b.cli
		}
		res, err := cli.Build(ctx, envbuildJob{
			Requirements: v.Requirements, Base: s.Base, Lock: v.Lock, CacheDir: s.CacheDir,
			BuildkitAddr: s.Addr, Repository: s.Repo, LayerCacheRepo: s.CacheRepo, BuildkitFlag: s.BuildkitFlag,
		}, log)
		if err != nil {
			return sample{}, err
		}
		out.Cached, out.ReportedBytes, out.Digest = res.Cached, res.PushedBytes, res.Digest
		out.InstallSteps, out.InstallKnown, out.LayersReused = res.LayersBuilt, true, res.LayersReused
		out.Steps, out.StepsCached = res.Steps, res.StepsCached
		out.NoBuildKit = strings.Contains(res.Stderr, "assembling the image without BuildKit")
		ref = s.Repo + "@" + res.Digest
	default:
		dir := filepath.Join(b.o.Work, "contexts", fmt.Sprintf("%s-%s-%d-v%d", s.Scenario, s.Tool, s.Run, s.Variant))
		pc, err := writePeerContext(dir, s.Tool, s.Base, v.PipRequirements, b.o.CABundle, b.o.UV)
		if err != nil {
			return sample{}, err
		}
		logAt = b.regLog.Offset()
		start = time.Now()
		pr, err := solveDockerfile(ctx, s.Addr, pc, s.Repo+":"+s.Tag, s.PeerCache, log)
		if err != nil {
			return sample{}, err
		}
		ref = s.Repo + "@" + pr.Digest
		out.Digest = pr.Digest
		out.InstallSteps, out.InstallKnown, out.RunCached = pr.RunSteps, true, pr.RunCached
	}
	out.Seconds = time.Since(start).Seconds()
	logEnd := b.regLog.Offset()
	img, err := b.reg.Image(ctx, ref)
	if err != nil {
		return sample{}, err
	}
	out.Downloads = b.regLog.Between(logAt, logEnd, baseImg.all(), img.Layers)
	out.Pushed = newBlobs(img, baseImg.all(), known)
	return out, nil
}

// measure runs a timed build and records it; a failed build is a note,
// not the end of the benchmark. It reports whether the build succeeded.
func (b *bench) measure(ctx context.Context, s buildSpec) bool {
	smp, err := b.build(ctx, s)
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		b.note("%s run %d, %s failed: %v", s.Scenario, s.Run, toolTitle[s.Tool], err)
		return false
	}
	b.res.add(s.Scenario, s.Tool, smp)
	b.logf("%s run %d/%d: %-14s %6.1f s, pushed %s in %d new layers, %d install steps, downloaded %s (+%s of the base)", s.Scenario, s.Run, b.o.Runs, toolTitle[s.Tool], smp.Seconds, mb(smp.Pushed.Bytes), smp.Pushed.NewLayers, smp.InstallSteps, mb(smp.Downloads.Other), mb(smp.Downloads.Base))
	return true
}

// rotated returns tools starting at run's position, so no tool always
// goes first.
func rotated(ts []string, run int) []string {
	k := run % len(ts)
	return append(append([]string(nil), ts[k:]...), ts[:k]...)
}

func (b *bench) repo(name string) string { return b.bed.Registry + "/bench/" + name }

// warmCache is envbuild's --cache-dir on the warm daemon.
func (b *bench) warmCache() string { return filepath.Join(b.o.Work, "cache", "cold-envbuild-1") }

// cold: every build on its own new buildkitd, into a new repository, with
// an empty envbuild cache. The daemon and repository of each tool's first
// run stay as that tool's warm state for the other scenarios; the others
// are pruned afterwards to free disk.
func (b *bench) cold(ctx context.Context) error {
	for i := 1; i <= b.o.Runs; i++ {
		for _, t := range rotated(tools, i) {
			addr, err := b.bed.StartExtraBuildkitd(ctx)
			if err != nil {
				return err
			}
			repo := b.repo(fmt.Sprintf("cold-%s-%d", t, i))
			cache := filepath.Join(b.o.Work, "cache", fmt.Sprintf("cold-%s-%d", t, i))
			ok := b.measure(ctx, buildSpec{Scenario: "cold", Tool: t, Run: i, Addr: addr, Repo: repo, Tag: "v0", Base: b.bed.Base, Variant: 0, CacheDir: cache})
			if i == 1 && ok {
				b.warm[t] = warmState{Addr: addr, Repo: repo}
				continue
			}
			if err := pruneAll(ctx, addr); err != nil {
				b.logf("%v", err)
			}
		}
	}
	return ctx.Err()
}

// changeOnePin: on each tool's warm daemon (its first cold build, variant
// 0), run i builds variant i, one pin changed from the previous run's.
func (b *bench) changeOnePin(ctx context.Context) error {
	for i := 1; i <= b.o.Runs; i++ {
		for _, t := range rotated(tools, i) {
			w, ok := b.warm[t]
			if !ok {
				continue // its cold build failed: noted there
			}
			v := variantOf(b.o.Scenarios, b.o.Runs, "pin", i)
			b.measure(ctx, buildSpec{Scenario: "pin", Tool: t, Run: i, Addr: w.Addr, Repo: w.Repo, Tag: fmt.Sprintf("v%d", v), Base: b.bed.Base, Variant: v, CacheDir: b.warmCache()})
		}
	}
	return ctx.Err()
}

// baseSwap: run i builds variant i (built on Base by changeOnePin, into the
// same repository) on a base with Base's root file system and Python under
// another top layer: the bed's BaseSwap plus a marker layer new in every
// run, so no run finds the previous one's work on the same base.
func (b *bench) baseSwap(ctx context.Context) error {
	for i := 1; i <= b.o.Runs; i++ {
		base := b.repo("swap-base") + fmt.Sprintf(":run-%d", i)
		if err := deriveBase(ctx, b.bed.BaseSwap, base, fmt.Sprintf("run %d", i)); err != nil {
			return err
		}
		for _, t := range rotated(tools, i) {
			w, ok := b.warm[t]
			if !ok {
				continue
			}
			v := variantOf(b.o.Scenarios, b.o.Runs, "swap", i)
			b.measure(ctx, buildSpec{Scenario: "swap", Tool: t, Run: i, Addr: w.Addr, Repo: w.Repo, Tag: fmt.Sprintf("v%d-swap", v), Base: base, Variant: v, CacheDir: b.warmCache()})
		}
	}
	return ctx.Err()
}

// unchanged: variant 0 again (pushed by envbuild's first cold build), from
// a fresh buildkitd and an empty envbuild cache: a teammate's machine.
func (b *bench) unchanged(ctx context.Context) error {
	w, ok := b.warm["envbuild"]
	if !ok {
		return nil
	}
	addr, err := b.bed.StartExtraBuildkitd(ctx)
	if err != nil {
		return err
	}
	for i := 1; i <= b.o.Runs; i++ {
		cache := filepath.Join(b.o.Work, "cache", fmt.Sprintf("unchanged-%d", i))
		b.measure(ctx, buildSpec{Scenario: "unchanged", Tool: "envbuild", Run: i, Addr: addr, Repo: w.Repo, Base: b.bed.Base, Variant: 0, CacheDir: cache})
	}
	return ctx.Err()
}

// peerTools are the tools of the fresh-builder scenarios: envbuild and
// the uv Dockerfile with BuildKit's registry cache (the peers' nearest
// equivalent of a cache shared through the registry).
var peerTools = []string{"envbuild", "uv"}

// uvTeammate is the uv peer's teammate: an untimed cold build of variant
// 0 on its own fresh buildkitd that also exports BuildKit's registry
// cache (type=registry, mode=max) to REPO:buildcache, for the fresh
// builders to import. The timed cold builds export no cache, so their
// times stay comparable with envbuild's.
func (b *bench) uvTeammate(ctx context.Context) (string, error) {
	if b.teamUV != "" {
		return b.teamUV, nil
	}
	addr, err := b.bed.StartExtraBuildkitd(ctx)
	if err != nil {
		return "", err
	}
	repo := b.repo("team-uv")
	v := b.variants[0]
	dir := filepath.Join(b.o.Work, "contexts", "team-uv-v0")
	pc, err := writePeerContext(dir, "uv", b.bed.Base, v.PipRequirements, b.o.CABundle, b.o.UV)
	if err != nil {
		return "", err
	}
	t := time.Now()
	if _, err := solveDockerfile(ctx, addr, pc, repo+":v0", peerCache{Export: repo + ":buildcache"}, b.logFile("team", "uv", "v0")); err != nil {
		return "", fmt.Errorf("the uv teammate build (with the registry cache export): %w", err)
	}
	b.logf("uv teammate: built %s:v0 and exported %s:buildcache in %s (untimed)", repo, repo, time.Since(t).Round(100*time.Millisecond))
	if err := pruneAll(ctx, addr); err != nil {
		b.logf("%v", err)
	}
	b.teamUV = repo
	return repo, nil
}

// freshPin: a fresh buildkitd for every build, one pin changed from the
// environment a teammate pushed. envbuild builds into the repository of
// its first cold build (the teammate's image and layer records are
// there); the uv Dockerfile into the uv teammate's repository, importing
// its registry cache. Run i builds variant i of this scenario's slot.
func (b *bench) freshPin(ctx context.Context) error {
	w, ok := b.warm["envbuild"]
	if !ok {
		return nil
	}
	team, err := b.uvTeammate(ctx)
	if err != nil {
		b.note("fresh-pin: %v; the uv peer is left out", err)
	}
	for i := 1; i <= b.o.Runs; i++ {
		v := variantOf(b.o.Scenarios, b.o.Runs, "fresh-pin", i)
		for _, t := range rotated(peerTools, i) {
			if t == "uv" && team == "" {
				continue
			}
			addr, err := b.bed.StartExtraBuildkitd(ctx)
			if err != nil {
				return err
			}
			s := buildSpec{Scenario: "fresh-pin", Tool: t, Run: i, Addr: addr, Base: b.bed.Base, Variant: v,
				CacheDir: filepath.Join(b.o.Work, "cache", fmt.Sprintf("fresh-pin-%d", i))}
			if t == "envbuild" {
				s.Repo = w.Repo
			} else {
				s.Repo, s.Tag, s.PeerCache = team, fmt.Sprintf("v%d", v), peerCache{Import: team + ":buildcache"}
			}
			b.measure(ctx, s)
			if err := pruneAll(ctx, addr); err != nil {
				b.logf("%v", err)
			}
		}
	}
	return ctx.Err()
}

// freshOtherRepo: a fresh buildkitd for every build, the teammate's
// environment (variant 0) pushed to a new repository of the same
// registry. envbuild reads the layer cache of the teammate's repository
// (--layer-cache-repo); the uv Dockerfile imports the teammate's registry
// cache. Then envbuild once more with --buildkit-addr at a socket that
// does not exist: no daemon is needed when every layer hits.
func (b *bench) freshOtherRepo(ctx context.Context) error {
	w, ok := b.warm["envbuild"]
	if !ok {
		return nil
	}
	team, err := b.uvTeammate(ctx)
	if err != nil {
		b.note("fresh-other-repo: %v; the uv peer is left out", err)
	}
	for i := 1; i <= b.o.Runs; i++ {
		for _, t := range rotated(peerTools, i) {
			if t == "uv" && team == "" {
				continue
			}
			addr, err := b.bed.StartExtraBuildkitd(ctx)
			if err != nil {
				return err
			}
			s := buildSpec{Scenario: "fresh-other-repo", Tool: t, Run: i, Addr: addr, Base: b.bed.Base, Variant: 0,
				Repo:     b.repo(fmt.Sprintf("other-%s-%d", t, i)),
				CacheDir: filepath.Join(b.o.Work, "cache", fmt.Sprintf("fresh-other-repo-%d", i))}
			if t == "envbuild" {
				s.CacheRepo, s.AlsoKnown = w.Repo, []string{w.Repo}
			} else {
				s.Tag, s.PeerCache, s.AlsoKnown = "v0", peerCache{Import: team + ":buildcache"}, []string{team}
			}
			b.measure(ctx, s)
			if err := pruneAll(ctx, addr); err != nil {
				b.logf("%v", err)
			}
		}
	}
	// No daemon at all: untimed in the table, reported in the notes.
	s := buildSpec{Scenario: "fresh-other-repo", Tool: "envbuild", Run: 0, Addr: "unix:///nonexistent.sock", BuildkitFlag: "unix:///nonexistent.sock",
		Base: b.bed.Base, Variant: 0, Repo: b.repo("other-envbuild-nodaemon"), CacheRepo: w.Repo, AlsoKnown: []string{w.Repo},
		CacheDir: filepath.Join(b.o.Work, "cache", "fresh-other-repo-nodaemon")}
	smp, err := b.build(ctx, s)
	switch {
	case err != nil:
		b.noDaemon = fmt.Sprintf("failed: %v", truncate(err.Error(), 300))
	case !smp.NoBuildKit:
		b.noDaemon = fmt.Sprintf("succeeded in %.1f s but stderr does not say \"assembling the image without BuildKit\" (layers_built %d)", smp.Seconds, smp.InstallSteps)
	default:
		b.noDaemon = fmt.Sprintf("succeeded in %.1f s, stderr says \"assembling the image without BuildKit\"; layers_reused %d, layers_built %d, pushed_bytes %s, digest %s", smp.Seconds, smp.LayersReused, smp.InstallSteps, kb(smp.ReportedBytes), shortDigest(smp.Digest))
	}
	b.logf("fresh-other-repo with --buildkit-addr unix:///nonexistent.sock: %s", b.noDaemon)
	return ctx.Err()
}

// newBinary: a second envbuild binary, built from the same source with
// another version string (so its bytes differ, as after an upgrade that
// keeps the layer format), builds one-pin-changed variants on envbuild's
// warm builder and repository. BuildKit's own cache cannot help (the
// installer it runs is new); the layer cache should leave one install
// step. No peer has an equivalent (the uv Dockerfile does not depend on
// envbuild); its "change one pin" is the comparison.
func (b *bench) newBinary(ctx context.Context) error {
	w, ok := b.warm["envbuild"]
	if !ok {
		return nil
	}
	bin := filepath.Join(b.o.Work, "bin", "envbuild-new")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w -X github.com/envbuild/envbuild/cmd/envbuild/app.Version=bench-new", "-o", bin, "./cmd/envbuild")
	cmd.Dir = b.root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the new envbuild binary: %w\n%s", err, out)
	}
	cli := &envbuildCLI{Bin: bin, Env: b.cli.Env}
	for i := 1; i <= b.o.Runs; i++ {
		v := variantOf(b.o.Scenarios, b.o.Runs, "new-binary", i)
		b.measure(ctx, buildSpec{Scenario: "new-binary", Tool: "envbuild", Run: i, Addr: w.Addr, Repo: w.Repo, Base: b.bed.Base, Variant: v, CacheDir: b.warmCache(), CLI: cli})
	}
	return ctx.Err()
}

// info gathers the report's header.
func (b *bench) info(root string, started time.Time) reportInfo {
	info := reportInfo{
		Date:        time.Now(),
		Machine:     machine(),
		Commit:      gitCommit(root),
		Version:     commandOutput(b.o.Envbuild, "--version"),
		Runs:        b.o.Runs,
		Spec:        b.variants[0].Requirements,
		PinPackage:  b.o.PinPackage,
		PinVersions: b.o.PinVersions[:len(b.variants)],
		Packages:    len(b.variants[0].Packages),
		Artifacts:   artifactBytes(b.variants[0].Packages),
		UVVersion:   commandOutput(b.o.UV, "--version"),
		Buildkit:    moduleVersion("github.com/moby/buildkit"),
		Wall:        time.Since(started),
		Notes:       b.notes,
		BaseBytes:   b.baseBytes,
		BaseLayers:  b.baseLayers,
		Sdists:      sdists(b.variants[0].Packages),
		NoDaemon:    b.noDaemon,
		NewVersion:  commandOutput(filepath.Join(b.o.Work, "bin", "envbuild-new"), "--version"),
	}
	return info
}

func machine() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "MemTotal:") {
				var kb int64
				fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "MemTotal:")), "%d", &kb)
				mem = fmt.Sprintf(", %.0f GB RAM", float64(kb)/1e6)
			}
		}
	}
	kernel := commandOutput("uname", "-r")
	return fmt.Sprintf("%d CPUs (%s)%s, Linux %s, shared with other work", runtime.NumCPU(), model, mem, kernel)
}

func gitCommit(root string) string {
	c := commandOutput("git", "-C", root, "rev-parse", "--short", "HEAD")
	if c == "" {
		return ""
	}
	if commandOutput("git", "-C", root, "status", "--porcelain", "--untracked-files=no") != "" {
		c += " (with uncommitted changes)"
	}
	return c
}

func commandOutput(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func moduleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	return "(unknown version)"
}
