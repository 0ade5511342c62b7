package solve

import (
	"fmt"
	"sort"
	"strings"

	"github.com/envbuild/envbuild/lock/conda/matchspec"
)

// group is the records of one package name that share one reason, e.g.
// every numpy 1.22 build that needs "python >=3.10,<3.11".
type group struct {
	parentName string
	spec       string
	ids        []int32
}

// explain turns the input clauses of a refutation into sentences.
func (pr *problem) explain(core []int32, specs []matchspec.MatchSpec) []string {
	p := pr.p
	sort.Slice(core, func(i, j int) bool { return core[i] < core[j] })
	var roots []string
	rootName := map[string][]string{}
	requires := map[[2]string]*group{}
	constrains := map[[2]string]*group{}
	bad := map[[2]string]*group{}
	var reqOrder, conOrder, badOrder [][2]string
	oneNames := map[string]bool{}
	addTo := func(m map[[2]string]*group, order *[][2]string, in info) {
		name := p.solvables[in.parent].rec.Name
		k := [2]string{name, in.spec}
		g, ok := m[k]
		if !ok {
			g = &group{parentName: name, spec: in.spec}
			m[k] = g
			*order = append(*order, k)
		}
		for _, id := range g.ids {
			if id == in.parent {
				return
			}
		}
		g.ids = append(g.ids, in.parent)
	}
	for _, cid := range core {
		in := pr.infos[cid]
		switch in.kind {
		case kindRoot:
			roots = append(roots, in.spec)
		case kindRequires:
			addTo(requires, &reqOrder, in)
		case kindConstrains:
			addTo(constrains, &conOrder, in)
		case kindBadDep:
			addTo(bad, &badOrder, in)
		case kindOne:
			oneNames[p.solvables[in.parent].rec.Name] = true
		}
	}
	// Keep the request's order for roots.
	var rootsOrdered []string
	for _, m := range specs {
		s := m.String()
		for _, r := range roots {
			if r == s {
				rootsOrdered = append(rootsOrdered, s)
				rootName[m.Name] = append(rootName[m.Name], s)
				break
			}
		}
	}
	depName := func(spec string) string {
		ps := p.spec(spec)
		if ps.err != nil {
			return ""
		}
		return ps.m.Name
	}
	conflictNames := map[string]bool{}
	for n := range oneNames {
		conflictNames[n] = true
	}
	for _, k := range conOrder {
		conflictNames[depName(k[1])] = true
	}

	var lines []string
	// What the request asks for, where it is not part of a conflict below.
	var plainRoots []string
	for _, m := range specs {
		if conflictNames[m.Name] {
			continue
		}
		for _, r := range rootsOrdered {
			if r == m.String() {
				plainRoots = append(plainRoots, r)
				break
			}
		}
	}
	if len(plainRoots) > 0 {
		lines = append(lines, "the request asks for "+joinAnd(plainRoots))
	}
	// The links of the chain: who needs what, from the request down (by
	// distance from a requested name), then by name.
	depth := map[string]int{}
	var queue []string
	for _, m := range specs {
		if _, ok := depth[m.Name]; !ok {
			depth[m.Name] = 0
			queue = append(queue, m.Name)
		}
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, k := range reqOrder {
			if k[0] != n {
				continue
			}
			if d := depName(k[1]); d != "" {
				if _, ok := depth[d]; !ok {
					depth[d] = depth[n] + 1
					queue = append(queue, d)
				}
			}
		}
	}
	level := func(n string) int {
		if d, ok := depth[n]; ok {
			return d
		}
		return len(depth) + 1
	}
	sort.SliceStable(reqOrder, func(i, j int) bool {
		a, b := reqOrder[i], reqOrder[j]
		if level(a[0]) != level(b[0]) {
			return level(a[0]) < level(b[0])
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		return a[1] < b[1]
	})
	var chain []*group
	for _, k := range reqOrder {
		if g := requires[k]; !conflictNames[depName(g.spec)] {
			chain = append(chain, g)
		}
	}
	lines = append(lines, pr.needs(chain, depName, true)...)
	for _, k := range badOrder {
		g := bad[k]
		what := "a dependency"
		for _, c := range p.solvables[g.ids[0]].rec.Constrains {
			if c == g.spec {
				what = "a constraint"
			}
		}
		lines = append(lines, fmt.Sprintf("%s %s %s that cannot be parsed: %q", pr.describe(g.ids), pr.verb(g.ids, "has", "have"), what, g.spec))
	}
	// The conflicts: several demands on one name that cannot hold together.
	var cn []string
	for n := range conflictNames {
		cn = append(cn, n)
	}
	sort.Strings(cn)
	for _, n := range cn {
		var parts []string
		if rs := rootName[n]; len(rs) > 0 {
			parts = append(parts, "the request asks for "+joinAnd(rs))
		}
		var on []*group
		for _, k := range reqOrder {
			if g := requires[k]; depName(g.spec) == n {
				on = append(on, g)
			}
		}
		parts = append(parts, pr.needs(on, depName, false)...)
		for _, k := range conOrder {
			if g := constrains[k]; depName(g.spec) == n {
				parts = append(parts, pr.describe(g.ids)+" "+pr.verb(g.ids, "allows", "allow")+" only "+g.spec)
			}
		}
		if len(parts) == 0 {
			continue
		}
		s := parts[0]
		if len(parts) > 1 {
			s += ", but " + joinAnd(parts[1:])
		}
		if oneNames[n] {
			s += "; only one version of " + n + " can be installed"
		}
		lines = append(lines, s)
	}
	if len(lines) == 0 {
		lines = append(lines, "the requested specs "+joinAnd(rootsOrdered)+" cannot be installed together")
	}
	return lines
}

// needs phrases requirement groups, merging those of records described
// alike that need the same name ("ext 1.0 needs python >=3.10,<3.11.0a0 or
// python >=3.11,<3.12.0a0", one spec per build), and, with withMissing,
// folding every record of one name whose requirement on another name
// nothing satisfies into one line.
func (pr *problem) needs(groups []*group, depName func(string) string, withMissing bool) []string {
	type merged struct {
		desc, verb string
		specs      []string
		missing    string
	}
	var out []*merged
	index := map[[2]string]*merged{}
	// Requirements nothing satisfies, by (parent name, dependency name).
	unmet := map[[2]string][]int32{}
	var unmetOrder [][2]string
	for _, g := range groups {
		n := depName(g.spec)
		if c, ok := pr.p.cands[g.spec]; withMissing && (!ok || len(c) == 0) {
			k := [2]string{g.parentName, n}
			if _, seen := unmet[k]; !seen {
				unmetOrder = append(unmetOrder, k)
			}
			unmet[k] = append(unmet[k], g.ids...)
			continue
		}
		desc := pr.describe(g.ids)
		k := [2]string{desc, n}
		m, ok := index[k]
		if !ok {
			m = &merged{desc: desc, verb: pr.verb(g.ids, "needs", "need")}
			index[k] = m
			out = append(out, m)
		}
		m.specs = append(m.specs, g.spec)
	}
	var lines []string
	for _, m := range out {
		specs := m.specs
		text := strings.Join(specs, " or ")
		if len(specs) > 3 {
			text = fmt.Sprintf("%s, %s, … or %s (%d variants, one per build)", specs[0], specs[1], specs[len(specs)-1], len(specs))
		}
		lines = append(lines, m.desc+" "+m.verb+" "+text+m.missing)
	}
	for _, k := range unmetOrder {
		ids := unmet[k]
		specs := map[string]bool{}
		for _, g := range groups {
			if g.parentName == k[0] && depName(g.spec) == k[1] {
				specs[g.spec] = true
			}
		}
		var list []string
		for spec := range specs {
			list = append(list, spec)
		}
		sort.Strings(list)
		text := strings.Join(list, " or ")
		if len(list) > 3 {
			text = fmt.Sprintf("one of %d specs on %s (%s, … %s)", len(list), k[1], list[0], list[len(list)-1])
		}
		lines = append(lines, pr.describe(ids)+" "+pr.verb(ids, "needs", "need")+" "+text+", "+pr.p.missing(k[1], len(list) > 1))
	}
	return lines
}

// missing says that no allowed record of a name matches (one spec, or
// several), and what there is.
func (p *pool) missing(name string, several bool) string {
	all := p.candidatesOf(name)
	if len(all) == 0 {
		if strings.HasPrefix(name, "__") {
			return "but the target has no virtual package " + name
		}
		return "but no channel has a package named " + name
	}
	var vers []string
	seen := map[string]bool{}
	for _, id := range all {
		v := p.solvables[id].rec.Version
		if !seen[v] {
			seen[v] = true
			vers = append(vers, v)
		}
	}
	if len(vers) > 6 {
		vers = append(vers[:6], "…")
	}
	it := "it"
	if several {
		it = "any of them"
	}
	return "but no " + name + " matches " + it + " (there are " + strings.Join(vers, ", ") + ")"
}

// describe names a set of records of one package: "numpy 1.21.0 and
// 1.22.1", or "numpy 1.19.0, 1.20.0, … 1.22.1 (6 versions)".
func (pr *problem) describe(ids []int32) string {
	p := pr.p
	sorted := append([]int32(nil), ids...)
	sort.SliceStable(sorted, func(i, j int) bool {
		return p.solvables[sorted[i]].rec.ParsedVersion.Less(p.solvables[sorted[j]].rec.ParsedVersion)
	})
	var vers []string
	seen := map[string]bool{}
	for _, id := range sorted {
		v := p.solvables[id].rec.Version
		if !seen[v] {
			seen[v] = true
			vers = append(vers, v)
		}
	}
	name := p.solvables[ids[0]].rec.Name
	if len(vers) > 4 {
		return fmt.Sprintf("%s %s, %s, … %s (%d versions)", name, vers[0], vers[1], vers[len(vers)-1], len(vers))
	}
	return name + " " + joinAnd(vers)
}

// verb agrees with the number of versions describe names.
func (pr *problem) verb(ids []int32, one, many string) string {
	seen := map[string]bool{}
	for _, id := range ids {
		seen[pr.p.solvables[id].rec.Version] = true
	}
	if len(seen) == 1 {
		return one
	}
	return many
}

func joinAnd(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}
