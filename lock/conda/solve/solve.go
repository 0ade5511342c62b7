package solve

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/envbuild/envbuild/lock/conda/matchspec"
	"github.com/envbuild/envbuild/lock/conda/repodata"
)

// ChannelRepodata is the records of one channel (noarch and the target
// subdir together), named as the user named the channel.
type ChannelRepodata struct {
	Channel string
	Records []repodata.Record
}

// Request is what to solve.
type Request struct {
	// Specs are the requested packages; each must name one package (no
	// glob in the name).
	Specs []matchspec.MatchSpec
	// Channels in priority order, highest first.
	Channels []ChannelRepodata
	// Virtual holds the target's virtual packages (see package virtual).
	Virtual []repodata.Record
	// Locked records are preferred over every other candidate of their
	// name while they still satisfy the request (name, version and build
	// compared).
	Locked []repodata.Record
}

// UnsatisfiableError says why no set of records satisfies a request, one
// reason per line, each naming packages, versions and specs.
type UnsatisfiableError struct {
	Reasons []string
}

func (e *UnsatisfiableError) Error() string {
	return "cannot solve the conda environment:\n  - " + strings.Join(e.Reasons, "\n  - ")
}

type clauseKind uint8

const (
	kindRoot clauseKind = iota
	kindRequires
	kindOne
	kindConstrains
	kindBadDep
)

// info says what an input clause stands for, to explain a failure.
type info struct {
	kind   clauseKind
	parent int32 // solvable id (-1 for the request)
	other  int32 // kindOne / kindConstrains: the forbidden solvable
	spec   string
}

type requirement struct {
	parent int32 // solvable id, -1 for the request
	cands  []int32
}

type problem struct {
	p     *pool
	s     *sat
	infos []info
	reqs  []requirement
}

func (pr *problem) add(lits []lit, in info) {
	pr.s.addClause(lits)
	pr.infos = append(pr.infos, in)
}

// Solve returns one record per installed package name, sorted by name
// (virtual packages left out), or
// an *UnsatisfiableError. It stops early when ctx is done.
func Solve(ctx context.Context, req Request) ([]repodata.Record, error) {
	if len(req.Specs) == 0 {
		return nil, nil
	}
	p := newPool(&req)
	var reasons []string
	rootCands := make([][]int32, len(req.Specs))
	for i := range req.Specs {
		m := &req.Specs[i]
		if !m.IsExactName() {
			return nil, fmt.Errorf("solving %q: a requested spec must name one package, not a pattern", m.String())
		}
		all := p.candidatesOf(m.Name)
		if len(all) == 0 {
			reasons = append(reasons, p.unknownName(m))
			continue
		}
		rootCands[i] = p.matching("\x00root"+m.String(), m)
		if len(rootCands[i]) == 0 {
			reasons = append(reasons, p.noMatch(m, all))
		}
	}
	if len(reasons) > 0 {
		return nil, &UnsatisfiableError{Reasons: reasons}
	}

	pr := &problem{p: p, s: newSAT(len(p.solvables))}
	// Discover what the request can reach, breadth first.
	reach := make([]bool, len(p.solvables))
	var order []int32
	push := func(ids []int32) {
		for _, id := range ids {
			if !reach[id] {
				reach[id] = true
				order = append(order, id)
			}
		}
	}
	for i, ids := range rootCands {
		lits := make([]lit, len(ids))
		for j, id := range ids {
			lits[j] = posLit(id + 1)
		}
		pr.add(lits, info{kind: kindRoot, parent: -1, spec: req.Specs[i].String()})
		pr.reqs = append(pr.reqs, requirement{parent: -1, cands: ids})
		push(ids)
	}
	for k := 0; k < len(order); k++ {
		id := order[k]
		rec := p.solvables[id].rec
		for _, dep := range rec.Depends {
			ps := p.spec(dep)
			if ps.err != nil {
				pr.add([]lit{negLit(id + 1)}, info{kind: kindBadDep, parent: id, spec: dep})
				continue
			}
			var cands []int32
			if ps.m.IsExactName() {
				cands = p.matching(dep, &ps.m)
			}
			lits := make([]lit, 0, len(cands)+1)
			lits = append(lits, negLit(id+1))
			for _, c := range cands {
				lits = append(lits, posLit(c+1))
			}
			pr.add(lits, info{kind: kindRequires, parent: id, spec: dep})
			pr.reqs = append(pr.reqs, requirement{parent: id, cands: cands})
			push(cands)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("solving the conda environment: %w", ctx.Err())
		}
	}

	// At most one record per name, among those reachable.
	names := make(map[string][]int32)
	var nameOrder []string
	for _, id := range order {
		n := p.solvables[id].rec.Name
		if _, ok := names[n]; !ok {
			nameOrder = append(nameOrder, n)
		}
		names[n] = append(names[n], id)
	}
	for _, n := range nameOrder {
		ids := names[n]
		for i := 0; i < len(ids); i++ {
			for j := i + 1; j < len(ids); j++ {
				pr.add([]lit{negLit(ids[i] + 1), negLit(ids[j] + 1)}, info{kind: kindOne, parent: ids[i], other: ids[j]})
			}
		}
	}
	// Constrains: a reachable record forbids the reachable records of the
	// constrained name that do not match.
	for _, id := range order {
		for _, con := range p.solvables[id].rec.Constrains {
			ps := p.spec(con)
			if ps.err != nil {
				pr.add([]lit{negLit(id + 1)}, info{kind: kindBadDep, parent: id, spec: con})
				continue
			}
			for _, other := range names[ps.m.Name] {
				if other == id || ps.m.Match(p.solvables[other].rec) {
					continue
				}
				pr.add([]lit{negLit(id + 1), negLit(other + 1)}, info{kind: kindConstrains, parent: id, other: other, spec: con})
			}
		}
	}

	s := pr.s
	next := func() (lit, bool) {
		for _, r := range pr.reqs {
			if r.parent >= 0 && s.assign[r.parent+1] != 1 {
				continue
			}
			pick := int32(-1)
			done := false
			for _, c := range r.cands {
				a := s.assign[c+1]
				if a == 1 {
					done = true
					break
				}
				if a == 0 && pick < 0 {
					pick = c
				}
			}
			if !done && pick >= 0 {
				return posLit(pick + 1), true
			}
		}
		return 0, false
	}
	confl, finished := s.solve(next, func() bool { return ctx.Err() != nil })
	if !finished {
		return nil, fmt.Errorf("solving the conda environment: %w", ctx.Err())
	}
	if confl >= 0 {
		return nil, &UnsatisfiableError{Reasons: pr.explain(s.core(confl), req.Specs)}
	}
	var out []repodata.Record
	for _, id := range order {
		if s.assign[id+1] == 1 && p.solvables[id].channel >= 0 {
			out = append(out, *p.solvables[id].rec)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// unknownName explains a requested name no channel has.
func (p *pool) unknownName(m *matchspec.MatchSpec) string {
	if pin, ok := p.pinned[m.Name]; ok && len(p.byName[m.Name]) > 0 {
		return fmt.Sprintf("%s is requested from channel %s, which has no package named %s", m.String(), pin, m.Name)
	}
	where := "the channels " + strings.Join(p.chans, ", ")
	if len(p.chans) == 1 {
		where = "channel " + p.chans[0]
	}
	if strings.HasPrefix(m.Name, "__") {
		return fmt.Sprintf("%s is requested, but the target has no virtual package %s", m.String(), m.Name)
	}
	return fmt.Sprintf("no package named %s in %s", m.Name, where)
}

// noMatch explains a requested spec no record of its name satisfies.
func (p *pool) noMatch(m *matchspec.MatchSpec, all []int32) string {
	var vers []string
	seen := map[string]bool{}
	for _, id := range all {
		v := p.solvables[id].rec.Version
		if !seen[v] {
			seen[v] = true
			vers = append(vers, v)
		}
	}
	const max = 8
	more := ""
	if len(vers) > max {
		more = fmt.Sprintf(" and %d older", len(vers)-max)
		vers = vers[:max]
	}
	return fmt.Sprintf("no %s matches %s; the versions there are: %s%s", m.Name, m.String(), strings.Join(vers, ", "), more)
}
