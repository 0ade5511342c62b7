package envlock

import (
	"context"
	"errors"
	"fmt"

	"regexp"
	"sort"
	"strings"

	"github.com/envbuild/envbuild/lock/conda/matchspec"
	"github.com/envbuild/envbuild/lock/conda/repodata"
	"github.com/envbuild/envbuild/lock/conda/solve"
	"github.com/envbuild/envbuild/lock/conda/virtual"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/target"
)

// Request is one conda lock for one target.
type Request struct {
	// Specs are MatchSpec strings as the spec gives them,
	// "python=3.13t" included (see PythonSpec).
	Specs []string
	// Channels are the spec's channels in priority order; empty means
	// CONDA_CHANNELS, else .condarc, else conda-forge.
	Channels []string
	// Target is the image the environment is for: its platform picks the
	// subdir, its C library the __glibc virtual package.
	Target target.Target
	// Cuda is the CUDA driver version for __cuda ("12.4"); empty means
	// CONDA_OVERRIDE_CUDA, and no __cuda when that is empty too.
	Cuda string
	// CacheDir holds cached repodata (with ETags). Default: no cache.
	CacheDir string
	// Offline refuses channels that would need the network (http and
	// https); file:// channels and local paths still work.
	Offline bool
	// Existing is the previous lock of this target; its conda records are
	// preferred while they still fit.
	Existing []lockfile.Package
	// Env is the process environment: CONDA_CHANNELS, CONDARC,
	// CONDA_CHANNEL_ALIAS, CONDA_OVERRIDE_*, HOME. Default: none.
	Env map[string]string
	// Fetch tunes the repodata fetcher (timeouts, retries). Default: none.
	Fetch []repodata.Option
}

// Lock solves req.Specs for req.Target and returns the locked packages,
// sorted by name. Virtual packages are not in the result.
func Lock(ctx context.Context, req Request) ([]lockfile.Package, error) {
	getenv := func(k string) string { return req.Env[k] }
	specs, requested, err := parseSpecs(req.Specs)
	if err != nil {
		return nil, failure.User(err)
	}
	if len(specs) == 0 {
		return nil, failure.User(errors.New("locking conda packages: no spec given"))
	}
	subdir, err := virtual.Subdir(req.Target.Platform)
	if err != nil {
		return nil, failure.User(err)
	}
	virt, err := virtual.Packages(req.Target, req.Cuda, getenv)
	if err != nil {
		return nil, failure.User(fmt.Errorf("locking conda packages for %s: %w", req.Target.Platform, err))
	}

	channels, err := resolveChannels(specs, req.Channels, req.Env)
	if err != nil {
		return nil, err
	}
	opts := append([]repodata.Option(nil), req.Fetch...)
	opts = append(opts, repodata.WithNetrc(req.Env["NETRC"]))
	fetcher := repodata.NewFetcher(req.CacheDir, opts...)
	var chans []solve.ChannelRepodata
	for _, ch := range channels {
		if req.Offline && !strings.HasPrefix(ch.URL, "file://") {
			return nil, failure.User(fmt.Errorf("locking conda packages offline: channel %q (%s) needs the network; drop --offline or use a local channel (file:// or a path)", ch.Name, ch.URL))
		}
		idx, err := fetcher.FetchIndexes(ctx, ch, "noarch", subdir)
		if err != nil {
			return nil, failure.Infra(fmt.Errorf("locking conda packages for %s: %w", req.Target.Platform, err))
		}
		cr := solve.ChannelRepodata{Channel: ch.Name}
		for _, x := range idx {
			cr.Sources = append(cr.Sources, x)
		}
		chans = append(chans, cr)
	}

	var locked []repodata.Record
	for _, p := range req.Existing {
		if p.Source == lockfile.SourceConda {
			locked = append(locked, repodata.Record{Name: p.Name, Version: p.Version, Build: p.Build})
		}
	}
	recs, err := solve.Solve(ctx, solve.Request{Specs: specs, Channels: chans, Virtual: virt, Locked: locked})
	if err != nil {
		var ue *solve.UnsatisfiableError
		var ce *repodata.ChannelError
		switch {
		case errors.As(err, &ce):
			return nil, failure.Infra(fmt.Errorf("locking conda packages for %s: %w", req.Target.Platform, err))
		case errors.As(err, &ue):
			return nil, failure.User(fmt.Errorf("locking conda packages %s for %s from %s: %w", strings.Join(req.Specs, ", "), req.Target.Platform, channelList(channels), err))
		case ctx.Err() != nil:
			return nil, failure.Infra(fmt.Errorf("locking conda packages for %s: %w", req.Target.Platform, err))
		}
		return nil, failure.User(fmt.Errorf("locking conda packages for %s: %w", req.Target.Platform, err))
	}
	return packages(recs, requested)
}

// parseSpecs parses the spec strings (rewriting free-threaded python
// specs) and returns, by package name, the spec string the user wrote.
func parseSpecs(in []string) ([]matchspec.MatchSpec, map[string]string, error) {
	var out []matchspec.MatchSpec
	requested := map[string]string{}
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		parsed := s
		if ps, ok := freeThreadedSpec(s); ok {
			parsed = ps
		}
		m, err := matchspec.Parse(parsed)
		if err != nil {
			return nil, nil, fmt.Errorf("reading conda spec %s: %w", failure.Quote(s), err)
		}
		if !m.IsExactName() {
			return nil, nil, fmt.Errorf("reading conda spec %s: a requested package needs a plain name, not a pattern", failure.Quote(s))
		}
		if prev, dup := requested[m.Name]; dup {
			return nil, nil, fmt.Errorf("conda specs %q and %q name the same package; write one spec per package (versions joined with ',')", prev, s)
		}
		requested[m.Name] = s
		out = append(out, m)
	}
	return out, requested, nil
}

// pythonT matches a python spec whose version ends in "t" (Metaflow's
// python="3.13t"): [channel::]python[ =|==| ]X.Y[.Z]t.
var pythonT = regexp.MustCompile(`^((?:[^:\s]+::)?python)\s*(==|=|\s)\s*(\d+\.\d+(?:\.\d+)?)t$`)

// freeThreadedSpec rewrites "python=3.13t", "python==3.13.1t" and
// "python 3.13t" into a spec for conda-forge's free-threaded build, whose
// build strings end in _cp313t.
func freeThreadedSpec(s string) (string, bool) {
	m := pythonT.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return "", false
	}
	return m[1] + " " + versionGlob(m[3]) + " " + freeThreadedBuild(m[3]), true
}

// PythonSpec is the MatchSpec of the environment's Python for a spec's
// python value ("3.11", "3.11.4", "3.13t"): X.Y means any X.Y.Z, X.Y.Z that
// release, and a trailing "t" the free-threaded build.
func PythonSpec(python string) (string, error) {
	full, ft, err := target.NormalizePython(python)
	if err != nil {
		return "", err
	}
	v := strings.TrimSuffix(strings.TrimSpace(python), "t")
	if strings.Count(v, ".") == 2 {
		v = full
	}
	if ft {
		return "python " + versionGlob(v) + " " + freeThreadedBuild(v), nil
	}
	return "python " + versionGlob(v), nil
}

// versionGlob is "3.13.*" for "3.13" and "3.13.1" for "3.13.1".
func versionGlob(v string) string {
	if strings.Count(v, ".") == 1 {
		return v + ".*"
	}
	return v
}

func freeThreadedBuild(v string) string {
	parts := strings.SplitN(v, ".", 3)
	return "*_cp" + parts[0] + parts[1] + "t"
}

// IsFreeThreaded reports whether a python record's build string is a
// free-threaded build ("h1234_0_cp313t").
func IsFreeThreaded(build string) bool {
	i := strings.LastIndex(build, "_cp")
	return i >= 0 && strings.HasSuffix(build, "t")
}

// packages turns solved records into lock entries, sorted by name.
func packages(recs []repodata.Record, requested map[string]string) ([]lockfile.Package, error) {
	have := map[string]bool{}
	for _, r := range recs {
		have[r.Name] = true
	}
	var out []lockfile.Package
	for _, r := range recs {
		if r.Channel == virtual.Channel || strings.HasPrefix(r.Name, "__") {
			continue
		}
		var kind lockfile.Kind
		switch {
		case strings.HasSuffix(r.Fn, ".conda"):
			kind = lockfile.KindConda
		case strings.HasSuffix(r.Fn, ".tar.bz2"):
			kind = lockfile.KindTarBz2
		default:
			return nil, failure.Infra(fmt.Errorf("conda record %s %s %s of channel %q has file name %q, neither .conda nor .tar.bz2", r.Name, r.Version, r.Build, r.Channel, r.Fn))
		}
		if !lockfile.IsSha256(r.SHA256) {
			return nil, failure.Infra(fmt.Errorf("conda record %s of channel %q has no sha256 in repodata.json (or one that is not 64 hex digits); envbuild locks only artifacts with a sha256 (ask the channel's owner to re-index it)", r.Fn, r.Channel))
		}
		if r.URL == "" {
			return nil, failure.Infra(fmt.Errorf("conda record %s of channel %q has no URL", r.Fn, r.Channel))
		}
		deps := []string{}
		seen := map[string]bool{}
		for _, d := range r.Depends {
			name := depName(d)
			if name != "" && have[name] && !seen[name] && !strings.HasPrefix(name, "__") {
				seen[name] = true
				deps = append(deps, name)
			}
		}
		sort.Strings(deps)
		p := lockfile.Package{
			Name: r.Name, Version: r.Version, Source: lockfile.SourceConda, Kind: kind,
			URL: r.URL, Filename: r.Fn, Sha256: strings.ToLower(r.SHA256), Size: r.Size,
			Depends: deps, Index: r.Channel, Channel: r.Channel, Subdir: r.Subdir,
			Build: r.Build, BuildNumber: r.BuildNumber, Noarch: string(r.Noarch),
		}
		if s, ok := requested[r.Name]; ok {
			p.Requested, p.Spec = true, s
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// depName is the package name of a depends entry ("numpy >=1.20" → numpy).
func depName(d string) string {
	if m, err := matchspec.Parse(d); err == nil {
		return m.Name
	}
	f := strings.Fields(d)
	if len(f) == 0 {
		return ""
	}
	return strings.ToLower(f[0])
}

func hasChannel(names []string, c string) bool {
	for _, n := range names {
		if matchspec.ChannelMatches(c, strings.TrimRight(n, "/")) || n == c {
			return true
		}
	}
	return false
}

func channelList(chs []repodata.Channel) string {
	var s []string
	for _, c := range chs {
		s = append(s, c.Name)
	}
	return strings.Join(s, ", ")
}

// Channels are the conda channels a lock of specs reads, in priority
// order: channels, else CONDA_CHANNELS, else .condarc, else conda-forge
// (env holds CONDA_CHANNELS, CONDARC, CONDA_CHANNEL_ALIAS, HOME), then
// those only a spec names ("bioconda::samtools"). Each Channel's Auth is
// the user's URL when it carries credentials or a token: what the builder
// hands BuildKit as session secrets.
func Channels(specs, channels []string, env map[string]string) ([]repodata.Channel, error) {
	parsed, _, err := parseSpecs(specs)
	if err != nil {
		return nil, failure.User(err)
	}
	return resolveChannels(parsed, channels, env)
}

func resolveChannels(specs []matchspec.MatchSpec, channels []string, env map[string]string) ([]repodata.Channel, error) {
	getenv := func(k string) string { return env[k] }
	cfg, err := repodata.LoadConfig(channels, getenv, env["HOME"])
	if err != nil {
		return nil, failure.User(fmt.Errorf("reading the conda channel configuration: %w", err))
	}
	names := append([]string(nil), cfg.Channels...)
	// A channel named only by a spec ("bioconda::samtools") is read too,
	// after the configured ones: the solver takes that name from it alone.
	for _, m := range specs {
		if m.Channel != "" && !hasChannel(names, m.Channel) {
			names = append(names, m.Channel)
		}
	}
	resolved, err := repodata.ResolveChannels(names, cfg.ChannelAlias)
	if err != nil {
		return nil, failure.User(fmt.Errorf("reading the conda channels (from %s): %w", cfg.From, err))
	}
	return resolved, nil
}
