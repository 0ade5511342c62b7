package solve

import (
	"sort"
	"strings"

	"github.com/envbuild/envbuild/lock/conda/matchspec"
	"github.com/envbuild/envbuild/lock/conda/repodata"
	"github.com/envbuild/envbuild/lock/conda/version"
)

// solvable is one candidate record. Its SAT variable is its index + 1.
type solvable struct {
	rec     *repodata.Record
	channel int // index in Request.Channels; -1 for virtual packages
	locked  bool
	hasTF   bool
}

// pool indexes the records of a request by name and caches parsed specs
// and candidate lists.
type pool struct {
	solvables []solvable
	// byName holds, per name, every record of every channel and the
	// virtual ones, in input order.
	byName map[string][]int32
	// allowed holds, per name, the candidates strict channel priority (and
	// a channel pinned by a requested spec) allows, sorted by preference.
	allowed map[string][]int32
	// allowedRaw is allowed before sorting; versionOrder sorted by version
	// only.
	allowedRaw   map[string][]int32
	versionOrder map[string][]int32
	pinned       map[string]string
	chans        []string

	// Lazy sources per channel; loaded marks names already asked of them.
	sources [][]RecordSource
	loaded  map[string]bool
	locked  map[string]bool
	err     error

	specs    map[string]*parsedSpec
	cands    map[string][]int32
	highest  map[string]*highest
	depNames map[int32][]depHigh
}

type parsedSpec struct {
	m   matchspec.MatchSpec
	err error
}

type highest struct {
	v     version.Version
	hasTF bool
	ok    bool
}

type depHigh struct {
	name string
	h    highest
}

func newPool(req *Request) *pool {
	p := &pool{
		byName:       make(map[string][]int32),
		allowed:      make(map[string][]int32),
		allowedRaw:   make(map[string][]int32),
		versionOrder: make(map[string][]int32),
		pinned:       make(map[string]string),
		specs:        make(map[string]*parsedSpec),
		cands:        make(map[string][]int32),
		highest:      make(map[string]*highest),
		depNames:     make(map[int32][]depHigh),
	}
	n := len(req.Virtual)
	for _, ch := range req.Channels {
		n += len(ch.Records)
	}
	p.solvables = make([]solvable, 0, n)
	p.loaded = make(map[string]bool)
	p.locked = make(map[string]bool, len(req.Locked))
	for _, r := range req.Locked {
		p.locked[r.Name+"\x00"+r.Version+"\x00"+r.Build] = true
	}
	for i := range req.Virtual {
		p.add(&req.Virtual[i], -1)
	}
	for ci := range req.Channels {
		p.chans = append(p.chans, req.Channels[ci].Channel)
		p.sources = append(p.sources, req.Channels[ci].Sources)
		recs := req.Channels[ci].Records
		for i := range recs {
			if strings.HasPrefix(recs[i].Name, "__") {
				continue // virtual packages come from Request.Virtual only
			}
			p.add(&recs[i], ci)
		}
	}
	for _, m := range req.Specs {
		if m.Channel != "" {
			p.pinned[m.Name] = m.Channel
		}
	}
	return p
}

func (p *pool) add(r *repodata.Record, ch int) {
	id := int32(len(p.solvables))
	s := solvable{rec: r, channel: ch, hasTF: len(r.TrackFeatures) > 0}
	if len(p.locked) > 0 {
		s.locked = p.locked[r.Name+"\x00"+r.Version+"\x00"+r.Build]
	}
	p.solvables = append(p.solvables, s)
	p.byName[r.Name] = append(p.byName[r.Name], id)
}

// recordsOf returns every record of a name (all channels, virtual ones
// included), asking the lazy sources the first time.
func (p *pool) recordsOf(name string) []int32 {
	if !p.loaded[name] {
		p.loaded[name] = true
		if !strings.HasPrefix(name, "__") {
			for ci, srcs := range p.sources {
				for _, src := range srcs {
					recs, err := src.Records(name)
					if err != nil {
						if p.err == nil {
							p.err = err
						}
						continue
					}
					for i := range recs {
						p.add(&recs[i], ci)
					}
				}
			}
		}
	}
	return p.byName[name]
}

// candidatesOf returns the allowed records of a name, most preferred first.
func (p *pool) candidatesOf(name string) []int32 {
	if ids, ok := p.allowed[name]; ok {
		return ids
	}
	ids := append([]int32(nil), p.allowedUnsorted(name)...)
	p.sortCandidates(ids)
	p.allowed[name] = ids
	return ids
}

// allowedUnsorted applies strict channel priority (or the channel a
// requested spec pins) to the records of a name, in input order.
func (p *pool) allowedUnsorted(name string) []int32 {
	if ids, ok := p.allowedRaw[name]; ok {
		return ids
	}
	all := p.recordsOf(name)
	var ids []int32
	if pin, ok := p.pinned[name]; ok {
		for _, id := range all {
			s := &p.solvables[id]
			if s.channel >= 0 && (matchspec.ChannelMatches(pin, p.chans[s.channel]) || matchspec.ChannelMatches(pin, s.rec.Channel)) {
				ids = append(ids, id)
			}
		}
	} else if len(all) > 0 {
		best := p.solvables[all[0]].channel
		for _, id := range all {
			if c := p.solvables[id].channel; c < best {
				best = c
			}
		}
		for _, id := range all {
			if p.solvables[id].channel == best {
				ids = append(ids, id)
			}
		}
	}
	p.allowedRaw[name] = ids
	return ids
}

// spec parses a dependency string once.
func (p *pool) spec(s string) *parsedSpec {
	if ps, ok := p.specs[s]; ok {
		return ps
	}
	m, err := matchspec.Parse(s)
	ps := &parsedSpec{m: m, err: err}
	p.specs[s] = ps
	return ps
}

// matching returns the allowed candidates of a dependency spec, in
// preference order. key caches the answer (the spec's text).
func (p *pool) matching(key string, m *matchspec.MatchSpec) []int32 {
	if ids, ok := p.cands[key]; ok {
		return ids
	}
	var out []int32
	for _, id := range p.candidatesOf(m.Name) {
		if m.Match(p.solvables[id].rec) {
			out = append(out, id)
		}
	}
	p.cands[key] = out
	return out
}

// highestOf is the highest version a dependency spec allows among the
// allowed records of its name, without the full preference sort (rattler's
// find_highest_version): the first match in version order.
func (p *pool) highestOf(dep string) highest {
	if h, ok := p.highest[dep]; ok {
		return *h
	}
	h := &highest{}
	if ps := p.spec(dep); ps.err == nil && ps.m.IsExactName() {
		for _, id := range p.byVersion(ps.m.Name) {
			s := &p.solvables[id]
			if ps.m.Match(s.rec) {
				h.v, h.hasTF, h.ok = s.rec.ParsedVersion, s.hasTF, true
				break
			}
		}
	}
	p.highest[dep] = h
	return *h
}

// byVersion returns the allowed records of a name, highest version first
// (ties in input order).
func (p *pool) byVersion(name string) []int32 {
	if ids, ok := p.versionOrder[name]; ok {
		return ids
	}
	allowed := p.allowedUnsorted(name)
	ids := append([]int32(nil), allowed...)
	sort.Slice(ids, func(i, j int) bool {
		if c := p.solvables[ids[j]].rec.ParsedVersion.Compare(p.solvables[ids[i]].rec.ParsedVersion); c != 0 {
			return c < 0
		}
		return ids[i] < ids[j]
	})
	p.versionOrder[name] = ids
	return ids
}

// depHighs lists, per dependency name of a record, the best version its
// specs on that name allow.
func (p *pool) depHighs(id int32) []depHigh {
	if d, ok := p.depNames[id]; ok {
		return d
	}
	var out []depHigh
	for _, dep := range p.solvables[id].rec.Depends {
		ps := p.spec(dep)
		if ps.err != nil {
			continue
		}
		h := p.highestOf(dep)
		if !h.ok {
			continue
		}
		found := false
		for i := range out {
			if out[i].name == ps.m.Name {
				found = true
				if compareHigh(h, out[i].h) < 0 {
					out[i].h = h
				}
			}
		}
		if !found {
			out = append(out, depHigh{ps.m.Name, h})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	p.depNames[id] = out
	return out
}

// compareHigh orders dependency versions best first: no track_features,
// then higher version.
func compareHigh(a, b highest) int {
	if a.hasTF != b.hasTF {
		if a.hasTF {
			return 1
		}
		return -1
	}
	return -a.v.Compare(b.v)
}

// simpleCompare is steps 1-4 of the preference order.
func (p *pool) simpleCompare(a, b int32) int {
	x, y := &p.solvables[a], &p.solvables[b]
	if x.locked != y.locked {
		if x.locked {
			return -1
		}
		return 1
	}
	if x.hasTF != y.hasTF {
		if x.hasTF {
			return 1
		}
		return -1
	}
	if c := y.rec.ParsedVersion.Compare(x.rec.ParsedVersion); c != 0 {
		return c
	}
	return y.rec.BuildNumber - x.rec.BuildNumber
}

func (p *pool) sortCandidates(ids []int32) {
	sort.Slice(ids, func(i, j int) bool {
		if c := p.simpleCompare(ids[i], ids[j]); c != 0 {
			return c < 0
		}
		return ids[i] < ids[j]
	})
	for start := 0; start < len(ids); {
		end := start + 1
		for end < len(ids) && p.simpleCompare(ids[start], ids[end]) == 0 {
			end++
		}
		if end-start > 1 {
			p.tieBreak(ids[start:end])
		}
		start = end
	}
}

// tieBreak orders records equal in steps 1-4 by the highest versions of the
// dependencies they all share (alphabetically by name), then by timestamp
// (newest first), then by file name.
func (p *pool) tieBreak(ids []int32) {
	count := make(map[string]int)
	for _, id := range ids {
		for _, d := range p.depHighs(id) {
			count[d.name]++
		}
	}
	var shared []string
	for n, c := range count {
		if c == len(ids) {
			shared = append(shared, n)
		}
	}
	sort.Strings(shared)
	find := func(id int32, name string) highest {
		for _, d := range p.depHighs(id) {
			if d.name == name {
				return d.h
			}
		}
		return highest{}
	}
	sort.SliceStable(ids, func(i, j int) bool {
		a, b := ids[i], ids[j]
		for _, n := range shared {
			if c := compareHigh(find(a, n), find(b, n)); c != 0 {
				return c < 0
			}
		}
		ra, rb := p.solvables[a].rec, p.solvables[b].rec
		if ra.Timestamp != rb.Timestamp {
			return ra.Timestamp > rb.Timestamp
		}
		return ra.Fn < rb.Fn
	})
}
