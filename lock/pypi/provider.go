package pypi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/pypi/index"
	"github.com/envbuild/envbuild/lock/pypi/pep440"
	"github.com/envbuild/envbuild/lock/pypi/pep508"
	"github.com/envbuild/envbuild/lock/pypi/resolve"
	"github.com/envbuild/envbuild/lock/pypi/tags"
	"github.com/envbuild/envbuild/lock/target"
)

// source is what locking reads from the indexes; *index.Client is one.
type source interface {
	Project(ctx context.Context, name string) (*index.Project, error)
	Metadata(ctx context.Context, f index.File) (*index.Metadata, error)
	Download(ctx context.Context, rawURL string, w io.Writer) (sha256hex string, size int64, err error)
}

// Why a release of a project cannot be used on the target.
type unusable int

const (
	usable unusable = iota
	noWheel
	yanked
	needsPython
	prerelease
)

// release is one version of a project and the file that would be installed.
type release struct {
	version  pep440.Version
	file     index.File    // the best file, when why == usable
	kind     lockfile.Kind // lockfile.KindWheel or KindSdist
	why      unusable
	reason   string // a clause for explanations, when why != usable
	detail   string // the Requires-Python specifier, or the yank reason
	hasSdist bool
}

// project is what the provider knows of one project.
type project struct {
	name       string
	releases   []*release // newest first
	candidates []pep440.Version
	byVersion  map[string]*release
	missing    bool // no index has it
}

type projectEntry struct {
	done chan struct{}
	p    *project
	err  error
}

type metaEntry struct {
	done chan struct{}
	md   *index.Metadata
	err  error
}

// provider answers the solver for one target, caching everything it reads
// and fetching ahead in the background when the solver hints.
type provider struct {
	src        source
	target     target.Target
	tags       tags.Target
	env        pep508.Environment
	python     pep440.Version
	allowSdist bool
	prerelease string
	explicit   map[string]bool             // user requirements that name a pre-release
	pins       map[string][]pep440.Version // user == pins: yanked files allowed
	direct     map[string]*directRef
	preferred  map[string]pep440.Version
	// constraints limit a project's versions when it is in the
	// solution, without requiring it (pip's -c).
	constraints map[string]pep440.Set
	indexes     string // the names of the indexes asked, for messages

	bg         context.Context
	wg         sync.WaitGroup
	mu         sync.Mutex
	projects   map[string]*projectEntry
	metas      map[string]*metaEntry
	prefetched map[string]bool
	hints      map[string][]string // project → advice, for the explanation's end
	log        io.Writer
	logged     map[string]bool
}

// logOnce writes line to the lock's log the first time key is seen.
func (p *provider) logOnce(key, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.logged == nil {
		p.logged = map[string]bool{}
	}
	if p.logged[key] || p.log == nil {
		return
	}
	p.logged[key] = true
	fmt.Fprintln(p.log, line)
}

// hint attaches advice to a project; Lock prints it after an explanation
// that names the project.
func (p *provider) hint(reason, advice string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, h := range p.hints[reason] {
		if h == advice {
			return
		}
	}
	p.hints[reason] = append(p.hints[reason], advice)
}

// hintsFor returns the advice attached to the projects an explanation
// names.
func (p *provider) hintsFor(explanation string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var names []string
	for n := range p.hints {
		if mentions(explanation, n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		out = append(out, p.hints[n]...)
	}
	return out
}

// mentions reports whether text names the project as a word.
func mentions(text, name string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], name)
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || !isNameByte(text[j-1])
		k := j + len(name)
		after := k == len(text) || !isNameByte(text[k]) ||
			text[k] == '.' && (k+1 == len(text) || !isNameByte(text[k+1]))
		if before && after {
			return true
		}
		i = j + 1
	}
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

// splitExtra turns "name[extra]" into its parts.
func splitExtra(pkg string) (string, string) {
	if i := strings.IndexByte(pkg, '['); i >= 0 && strings.HasSuffix(pkg, "]") {
		return pkg[:i], pkg[i+1 : len(pkg)-1]
	}
	return pkg, ""
}

func (p *provider) project(ctx context.Context, name string) (*project, error) {
	p.mu.Lock()
	e, ok := p.projects[name]
	if !ok {
		e = &projectEntry{done: make(chan struct{})}
		p.projects[name] = e
		p.mu.Unlock()
		e.p, e.err = p.load(ctx, name)
		close(e.done)
		return e.p, e.err
	}
	p.mu.Unlock()
	select {
	case <-e.done:
		return e.p, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *provider) load(ctx context.Context, name string) (*project, error) {
	proj, err := p.src.Project(ctx, name)
	if errors.Is(err, index.ErrNoSuchProject) {
		return &project{name: name, missing: true, byVersion: map[string]*release{}}, nil
	}
	if err != nil {
		return nil, err
	}
	return p.classify(proj), nil
}

type fileGroup struct {
	version pep440.Version
	wheels  []tags.WheelName
	wfiles  []index.File
	sdists  []index.File
}

// classify groups a project's files by version and picks, for each, the
// file the target would install, or says why there is none.
func (p *provider) classify(proj *index.Project) *project {
	groups := map[string]*fileGroup{}
	var keys []string
	group := func(v pep440.Version) *fileGroup {
		k := v.String()
		g := groups[k]
		if g == nil {
			g = &fileGroup{version: v}
			groups[k] = g
			keys = append(keys, k)
		}
		return g
	}
	for _, f := range proj.Files {
		switch {
		case strings.HasSuffix(f.Filename, ".whl"):
			wn, err := tags.ParseWheelFilename(f.Filename)
			if err != nil || wn.Name != proj.Name {
				continue
			}
			g := group(wn.Version)
			g.wheels = append(g.wheels, wn)
			g.wfiles = append(g.wfiles, f)
		default:
			sn, err := tags.ParseSdistFilenameFor(f.Filename, proj.Name)
			if err != nil {
				continue
			}
			g := group(sn.Version)
			g.sdists = append(g.sdists, f)
		}
	}
	out := &project{name: proj.Name, byVersion: map[string]*release{}}
	for _, k := range keys {
		r := p.choose(proj.Name, groups[k])
		out.releases = append(out.releases, r)
		out.byVersion[k] = r
	}
	sort.SliceStable(out.releases, func(i, j int) bool { return out.releases[j].version.Less(out.releases[i].version) })

	allPre := true
	for _, r := range out.releases {
		if r.why == usable && !r.version.IsPrerelease() {
			allPre = false
		}
	}
	allowPre := p.prerelease == "allow" || (p.prerelease != "disallow" && (p.explicit[proj.Name] || allPre))
	for _, r := range out.releases {
		if r.why == usable && r.version.IsPrerelease() && !allowPre {
			r.why = prerelease
			r.reason = fmt.Sprintf("%s %s is a pre-release", proj.Name, r.version)
		}
		if r.why == usable {
			out.candidates = append(out.candidates, r.version)
		}
	}
	return out
}

func (p *provider) pinned(name string, v pep440.Version) bool {
	for _, pin := range p.pins[name] {
		if pin.Equal(v) {
			return true
		}
	}
	return false
}

func (p *provider) pythonOK(spec string) (bool, string) {
	if strings.TrimSpace(spec) == "" {
		return true, ""
	}
	ss, err := pep440.ParseSpecifiers(spec)
	if err != nil {
		return true, "" // as pip and uv: an invalid Requires-Python is ignored
	}
	return ss.Contains(p.python, true), ss.String()
}

// choose picks the file of one version to install, as pip would: the
// compatible wheel of best tag rank (then build tag), skipping yanked files
// (unless the user pinned this version) and files whose Requires-Python
// excludes the target; else an sdist when allowed.
func (p *provider) choose(name string, g *fileGroup) *release {
	r := &release{version: g.version, hasSdist: len(g.sdists) > 0}
	pinned := p.pinned(name, g.version)
	var ws []tags.WheelName
	var fs []index.File
	compatible, notYanked := 0, 0
	pyReason := ""
	for i, wn := range g.wheels {
		if _, ok := p.tags.Rank(wn); !ok {
			continue
		}
		compatible++
		f := g.wfiles[i]
		if f.Yanked && !pinned {
			continue
		}
		notYanked++
		if ok, spec := p.pythonOK(f.RequiresPython); !ok {
			pyReason = spec
			continue
		}
		ws = append(ws, wn)
		fs = append(fs, f)
	}
	if best, ok := p.tags.Best(ws); ok {
		r.file, r.kind = fs[best], lockfile.KindWheel
		return r
	}
	if compatible == 0 && p.allowSdist {
		for _, f := range g.sdists {
			if f.Yanked && !pinned {
				continue
			}
			if ok, spec := p.pythonOK(f.RequiresPython); !ok {
				pyReason = spec
				continue
			}
			r.file, r.kind = f, lockfile.KindSdist
			return r
		}
	}
	switch {
	case pyReason != "":
		r.why, r.reason, r.detail = needsPython, fmt.Sprintf("%s %s requires Python %s", name, g.version, pyReason), pyReason
	case compatible > 0 && notYanked == 0, compatible == 0 && p.allowSdist && len(g.sdists) > 0:
		r.why, r.reason = yanked, fmt.Sprintf("%s %s was yanked", name, g.version)
		if why := yankReason(g); why != "" {
			r.reason += " (" + why + ")"
			r.detail = why
		}
	default:
		r.why, r.reason = noWheel, fmt.Sprintf("%s %s has no wheel for %s", name, g.version, p.target)
	}
	return r
}

func yankReason(g *fileGroup) string {
	for _, f := range append(append([]index.File(nil), g.wfiles...), g.sdists...) {
		if f.Yanked && f.YankedReason != "" {
			return f.YankedReason
		}
	}
	return ""
}

// Candidates implements resolve.Provider.
func (p *provider) Candidates(ctx context.Context, pkg string) ([]pep440.Version, error) {
	base, _ := splitExtra(pkg)
	if d, ok := p.direct[base]; ok {
		return []pep440.Version{d.version}, nil
	}
	proj, err := p.project(ctx, base)
	if err != nil {
		return nil, err
	}
	if c, ok := p.constraints[base]; ok {
		var kept []pep440.Version
		for _, v := range proj.candidates {
			if c.Contains(v) {
				kept = append(kept, v)
			}
		}
		return kept, nil
	}
	return proj.candidates, nil
}

func (p *provider) metadata(ctx context.Context, f index.File) (*index.Metadata, error) {
	p.mu.Lock()
	e, ok := p.metas[f.URL]
	if !ok {
		e = &metaEntry{done: make(chan struct{})}
		p.metas[f.URL] = e
		p.mu.Unlock()
		e.md, e.err = p.src.Metadata(ctx, f)
		close(e.done)
		return e.md, e.err
	}
	p.mu.Unlock()
	select {
	case <-e.done:
		return e.md, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// release returns the release of base at v.
func (p *provider) release(ctx context.Context, base string, v pep440.Version) (*release, error) {
	proj, err := p.project(ctx, base)
	if err != nil {
		return nil, err
	}
	r, ok := proj.byVersion[v.String()]
	if !ok || r.why != usable {
		return nil, fmt.Errorf("resolver asked for %s %s, which is not a candidate", base, v)
	}
	return r, nil
}

// Dependencies implements resolve.Provider: the Requires-Dist of the file
// that would be installed, with markers evaluated for the target and the
// extra of a virtual "name[extra]" package.
func (p *provider) Dependencies(ctx context.Context, pkg string, v pep440.Version) ([]resolve.Dependency, error) {
	base, extra := splitExtra(pkg)
	var md *index.Metadata
	if d, ok := p.direct[base]; ok {
		md = d.md
	} else {
		r, err := p.release(ctx, base, v)
		if err != nil {
			return nil, err
		}
		md, err = p.metadata(ctx, r.file)
		var dyn *index.DynamicMetadataError
		if errors.As(err, &dyn) && p.allowSdist && dyn.Declared != nil {
			// With --allow-sdist, what the sdist declares is taken as its
			// dependencies (a build could add more); say so.
			p.logOnce("sdist-meta:"+r.file.Filename, fmt.Sprintf("%s %s: dependencies taken from %s's PKG-INFO (%s); a build could add more — pin them with --pypi if an import fails", base, v, r.file.Filename, dyn.Why))
			md, err = dyn.Declared, nil
		}
		if errors.Is(err, index.ErrDynamicMetadata) {
			return nil, &resolve.UnavailableError{Reason: fmt.Sprintf("%s %s is a source distribution whose dependencies are only known after a build", base, v)}
		}
		if err != nil {
			return nil, fmt.Errorf("reading the metadata of %s %s (%s): %w", base, v, r.file.Filename, err)
		}
	}
	if ok, spec := p.pythonOK(md.RequiresPython); !ok {
		return nil, &resolve.UnavailableError{Reason: fmt.Sprintf("%s %s requires Python %s", base, v, spec)}
	}
	var deps []resolve.Dependency
	var extras []string
	if extra != "" {
		deps = append(deps, resolve.Dependency{Name: base, Set: pep440.Exact(v)})
		extras = []string{extra}
	}
	for _, s := range md.RequiresDist {
		req, err := pep508.ParseRequirement(s)
		if err != nil {
			return nil, &resolve.UnavailableError{Reason: fmt.Sprintf("%s %s has a requirement that cannot be read (%q)", base, v, s)}
		}
		if !req.Marker.Evaluate(p.env, extras) {
			continue
		}
		name := pep508.NormalizeName(req.Name)
		if req.URL != "" {
			return nil, &resolve.UnavailableError{Reason: fmt.Sprintf("%s %s depends on %s through a direct reference (%s), which a package from an index may not use", base, v, name, req.URL)}
		}
		set, err := req.Specifiers.Set()
		if err != nil {
			return nil, &resolve.UnavailableError{Reason: fmt.Sprintf("%s %s requires %s, which cannot be compared", base, v, s)}
		}
		deps = append(deps, resolve.Dependency{Name: name, Set: set})
		for _, e := range req.Extras {
			deps = append(deps, resolve.Dependency{Name: name + "[" + e + "]", Set: set})
		}
	}
	return deps, nil
}

// Unavailable implements resolve.Explainer: why no candidate of pkg lies
// in set, when versions exist there that the target cannot use.
func (p *provider) Unavailable(ctx context.Context, pkg string, set pep440.Set) string {
	base, _ := splitExtra(pkg)
	if _, ok := p.direct[base]; ok {
		return ""
	}
	proj, err := p.project(ctx, base)
	if err != nil {
		return ""
	}
	if proj.missing {
		return fmt.Sprintf("no index (%s) has a project named %s", p.indexes, base)
	}
	var in []*release
	for _, r := range proj.releases {
		if set.Contains(r.version) && r.why != usable {
			in = append(in, r)
		}
	}
	if len(in) == 0 {
		return ""
	}
	newest := in[0]
	if newest.why == noWheel {
		if r := newestWithWheel(proj); r != nil {
			p.hint(base, fmt.Sprintf("the newest version of %s with a wheel for %s is %s", base, p.target, r.version))
		}
		if newest.hasSdist && !p.allowSdist {
			p.hint(base, fmt.Sprintf("%s %s has a source distribution: --allow-sdist locks it for the build to compile", base, newest.version))
		}
	}
	// One clause per kind of reason, newest kind first.
	var kinds []unusable
	byKind := map[unusable][]*release{}
	for _, r := range in {
		if byKind[r.why] == nil {
			kinds = append(kinds, r.why)
		}
		byKind[r.why] = append(byKind[r.why], r)
		if r.why == prerelease {
			p.hint(base, "pre-releases are used when a requirement names one, or with --prerelease allow")
		}
	}
	var clauses []string
	for _, k := range kinds {
		clauses = append(clauses, p.clause(base, byKind[k]))
	}
	return joinClauses(clauses)
}

// newestWithWheel is the newest release with a wheel for the target,
// preferring a final release to a pre-release.
func newestWithWheel(proj *project) *release {
	var pre *release
	for _, r := range proj.releases {
		if r.kind != lockfile.KindWheel {
			continue
		}
		if r.why == usable {
			return r
		}
		if r.why == prerelease && pre == nil {
			pre = r
		}
	}
	return pre
}

// clause says why the releases rs (newest first, all unusable for the
// same kind of reason) cannot be used.
func (p *provider) clause(name string, rs []*release) string {
	if len(rs) == 1 {
		return rs[0].reason
	}
	var who string
	switch len(rs) {
	case 2:
		who = fmt.Sprintf("%s %s and %s", name, rs[0].version, rs[1].version)
	case 3:
		who = fmt.Sprintf("%s %s, %s and %s", name, rs[0].version, rs[1].version, rs[2].version)
	default:
		who = fmt.Sprintf("%s %s, %s and %d older versions", name, rs[0].version, rs[1].version, len(rs)-2)
	}
	switch rs[0].why {
	case noWheel:
		return who + " have no wheel for " + p.target.String()
	case yanked:
		return who + " were yanked"
	case prerelease:
		return who + " are pre-releases"
	default:
		same := true
		for _, r := range rs {
			same = same && r.detail == rs[0].detail
		}
		if same {
			return who + " require Python " + rs[0].detail
		}
		return who + " do not support Python " + p.python.String()
	}
}

func joinClauses(cs []string) string {
	if len(cs) <= 1 {
		return strings.Join(cs, "")
	}
	return strings.Join(cs[:len(cs)-1], ", ") + " and " + cs[len(cs)-1]
}

// PrefetchCandidates implements resolve.Prefetcher: it reads the project
// page, the metadata of the version the solver will most likely pick, and
// goes on with that version's dependencies, in the background.
func (p *provider) PrefetchCandidates(_ context.Context, pkg string) {
	base, _ := splitExtra(pkg)
	p.mu.Lock()
	if p.prefetched[base] || p.direct[base] != nil {
		p.mu.Unlock()
		return
	}
	p.prefetched[base] = true
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		ctx := p.bg
		proj, err := p.project(ctx, base)
		if err != nil || len(proj.candidates) == 0 {
			return
		}
		v := proj.candidates[0]
		if pv, ok := p.preferred[base]; ok {
			if _, ok := proj.byVersion[pv.String()]; ok {
				v = pv
			}
		}
		r := proj.byVersion[v.String()]
		if r == nil || r.why != usable {
			return
		}
		md, err := p.metadata(ctx, r.file)
		if err != nil {
			return
		}
		for _, s := range md.RequiresDist {
			req, err := pep508.ParseRequirement(s)
			if err != nil || req.URL != "" || !req.Marker.Evaluate(p.env, nil) {
				continue
			}
			p.PrefetchCandidates(ctx, pep508.NormalizeName(req.Name))
		}
	}()
}

// PrefetchDependencies implements resolve.Prefetcher.
func (p *provider) PrefetchDependencies(_ context.Context, pkg string, v pep440.Version) {
	base, _ := splitExtra(pkg)
	if p.direct[base] != nil {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if r, err := p.release(p.bg, base, v); err == nil {
			_, _ = p.metadata(p.bg, r.file)
		}
	}()
}
