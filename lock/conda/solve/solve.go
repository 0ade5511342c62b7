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
	// Sources add records of the channel lazily, by name (a
	// *repodata.Index per subdir, say): only the names the solve reaches
	// are decoded.
	Sources []RecordSource
}

// RecordSource supplies the records of one package name; nil when it has
// none. *repodata.Index is one.
type RecordSource interface {
	Records(name string) ([]repodata.Record, error)
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

	// core holds the clauses of the refutation, for tests.
	core [][]lit
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
	lits   []lit // the clause as made (the solver reorders its own copy)
}

// unsatisfiable builds the error of a refutation ending in clause confl.
func (pr *problem) unsatisfiable(confl int32, specs []matchspec.MatchSpec) *UnsatisfiableError {
	core := pr.s.core(confl)
	e := &UnsatisfiableError{Reasons: pr.explain(core, specs)}
	for _, tag := range core {
		e.core = append(e.core, pr.infos[tag].lits)
	}
	return e
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

func (pr *problem) add(lits []lit, in info) int32 {
	pr.s.grow(len(pr.p.solvables))
	in.lits = append([]lit(nil), lits...)
	pr.infos = append(pr.infos, in)
	return pr.s.addDuring(lits, int32(len(pr.infos)-1))
}

// expand adds the clauses of a record that has just become true; it
// returns a clause in conflict or -1.
func (pr *problem) expand(v int32) int32 {
	p := pr.p
	id := v - 1
	rec := p.solvables[id].rec
	conflict := int32(-1)
	note := func(c int32) {
		if c >= 0 && conflict < 0 {
			conflict = c
		}
	}
	for _, other := range p.candidatesOf(rec.Name) {
		if other != id {
			note(pr.add([]lit{negLit(v), negLit(other + 1)}, info{kind: kindOne, parent: id, other: other}))
		}
	}
	for _, dep := range rec.Depends {
		ps := p.spec(dep)
		if ps.err != nil {
			note(pr.add([]lit{negLit(v)}, info{kind: kindBadDep, parent: id, spec: dep}))
			continue
		}
		var cands []int32
		if ps.m.IsExactName() {
			cands = p.matching(dep, &ps.m)
		}
		lits := make([]lit, 0, len(cands)+1)
		lits = append(lits, negLit(v))
		for _, c := range cands {
			lits = append(lits, posLit(c+1))
		}
		note(pr.add(lits, info{kind: kindRequires, parent: id, spec: dep}))
		pr.reqs = append(pr.reqs, requirement{parent: id, cands: cands})
	}
	for _, con := range rec.Constrains {
		ps := p.spec(con)
		if ps.err != nil {
			note(pr.add([]lit{negLit(v)}, info{kind: kindBadDep, parent: id, spec: con}))
			continue
		}
		for _, other := range p.candidatesOf(ps.m.Name) {
			if other != id && !ps.m.Match(p.solvables[other].rec) {
				note(pr.add([]lit{negLit(v), negLit(other + 1)}, info{kind: kindConstrains, parent: id, other: other, spec: con}))
			}
		}
	}
	return conflict
}

// Solve returns one record per installed package name, sorted by name
// (virtual packages left out), or
// an *UnsatisfiableError. It stops early when ctx is done.
func Solve(ctx context.Context, req Request) ([]repodata.Record, error) {
	if len(req.Specs) == 0 {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("solving the conda environment: %w", err)
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
	if p.err != nil {
		return nil, fmt.Errorf("solving the conda environment: %w", p.err)
	}
	if len(reasons) > 0 {
		return nil, &UnsatisfiableError{Reasons: reasons}
	}

	pr := &problem{p: p, s: newSAT(len(p.solvables))}
	for i, ids := range rootCands {
		lits := make([]lit, len(ids))
		for j, id := range ids {
			lits[j] = posLit(id + 1)
		}
		pr.reqs = append(pr.reqs, requirement{parent: -1, cands: ids})
		if confl := pr.add(lits, info{kind: kindRoot, parent: -1, spec: req.Specs[i].String()}); confl >= 0 {
			return nil, pr.unsatisfiable(confl, req.Specs)
		}
	}
	// Clauses of a record are made the first time it is propagated true:
	// its requirements, one of its name at a time, its constrains.
	pr.s.expand = pr.expand
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
	if p.err != nil {
		return nil, fmt.Errorf("solving the conda environment: %w", p.err)
	}
	if confl >= 0 {
		return nil, pr.unsatisfiable(confl, req.Specs)
	}
	var out []repodata.Record
	for id := range p.solvables {
		if s.assign[id+1] == 1 && p.solvables[id].channel >= 0 {
			out = append(out, *p.solvables[id].rec)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// unknownName explains a requested name no channel has.
func (p *pool) unknownName(m *matchspec.MatchSpec) string {
	if pin, ok := p.pinned[m.Name]; ok && len(p.recordsOf(m.Name)) > 0 {
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
