package solve

// A small CDCL SAT core: two watched literals, first-UIP learning,
// non-chronological backjumping. Decisions come from the caller, which is
// what makes the result follow candidate preference. Learned clauses keep
// their literals that are false at level 0 and remember the clauses they
// were resolved from, so an unsatisfiable run can name the input clauses
// of its refutation.

type lit int32

func posLit(v int32) lit { return lit(v << 1) }
func negLit(v int32) lit { return lit(v<<1 | 1) }
func (l lit) v() int32   { return int32(l >> 1) }
func (l lit) not() lit   { return l ^ 1 }

type clause struct {
	lits    []lit
	learned bool
	ante    []int32 // for learned clauses: the clauses resolved into it
	tag     int32   // for input clauses: the caller's note about it
}

type sat struct {
	clauses  []clause
	watches  [][]int32
	assign   []int8 // per var: 0 unassigned, 1 true, -1 false
	level    []int32
	reason   []int32
	trail    []lit
	trailLim []int
	qhead    int
	seen     []bool

	// expand, when set, is called once for each variable the first time it
	// is propagated true; it may add clauses (addDuring) and returns a
	// conflicting clause id or -1.
	expand   func(v int32) int32
	expanded []bool
	// units are input clauses of one literal added above level 0: facts
	// that must hold at level 0, applied by a restart.
	units []int32

	conflicts int
}

func newSAT(nvars int) *sat {
	s := &sat{
		watches:  make([][]int32, 2*(nvars+1)),
		assign:   make([]int8, nvars+1),
		level:    make([]int32, nvars+1),
		reason:   make([]int32, nvars+1),
		seen:     make([]bool, nvars+1),
		expanded: make([]bool, nvars+1),
	}
	for i := range s.reason {
		s.reason[i] = -1
	}
	return s
}

// grow makes room for variables up to nvars (records found lazily).
func (s *sat) grow(nvars int) {
	for len(s.assign) <= nvars {
		s.assign = append(s.assign, 0)
		s.level = append(s.level, 0)
		s.reason = append(s.reason, -1)
		s.seen = append(s.seen, false)
		s.expanded = append(s.expanded, false)
		s.watches = append(s.watches, nil, nil)
	}
}

func (s *sat) value(l lit) int8 {
	a := s.assign[l.v()]
	if l&1 == 1 {
		return -a
	}
	return a
}

// addDuring adds an input clause while solving: it watches its two best
// literals (true, then unassigned, then false of the highest level),
// propagates it when it is unit and returns its id when it is in conflict
// (else -1). A clause in conflict has a literal of the current level,
// since clauses are added when one of their variables is assigned.
func (s *sat) addDuring(lits []lit, tag int32) int32 {
	id := int32(len(s.clauses))
	s.clauses = append(s.clauses, clause{lits: lits, tag: tag})
	switch len(lits) {
	case 0:
		return id
	case 1:
		if s.decisionLevel() > 0 {
			s.units = append(s.units, id)
		}
		switch s.value(lits[0]) {
		case -1:
			return id
		case 0:
			s.enqueue(lits[0], id)
		}
		return -1
	}
	rank := func(l lit) int32 {
		switch s.value(l) {
		case 1:
			return -2
		case 0:
			return -1
		}
		return 1<<30 - s.level[l.v()]
	}
	for w := 0; w < 2; w++ {
		best := w
		for i := w + 1; i < len(lits); i++ {
			if rank(lits[i]) < rank(lits[best]) {
				best = i
			}
		}
		lits[w], lits[best] = lits[best], lits[w]
	}
	s.watches[lits[0]] = append(s.watches[lits[0]], id)
	s.watches[lits[1]] = append(s.watches[lits[1]], id)
	v0, v1 := s.value(lits[0]), s.value(lits[1])
	switch {
	case v0 == -1:
		return id
	case v0 == 0 && v1 == -1:
		s.enqueue(lits[0], id)
	}
	return -1
}

func (s *sat) decisionLevel() int { return len(s.trailLim) }

func (s *sat) enqueue(l lit, reason int32) {
	v := l.v()
	if l&1 == 1 {
		s.assign[v] = -1
	} else {
		s.assign[v] = 1
	}
	s.level[v] = int32(s.decisionLevel())
	s.reason[v] = reason
	s.trail = append(s.trail, l)
}

// start assigns the unit input clauses; it returns a conflicting clause id
// or -1.
func (s *sat) start() int32 {
	for id, c := range s.clauses {
		switch len(c.lits) {
		case 0:
			return int32(id)
		case 1:
			switch s.value(c.lits[0]) {
			case -1:
				return int32(id)
			case 0:
				s.enqueue(c.lits[0], int32(id))
			}
		}
	}
	return s.propagate()
}

func (s *sat) propagate() int32 {
	for s.qhead < len(s.trail) {
		p := s.trail[s.qhead]
		s.qhead++
		if p&1 == 0 && s.expand != nil && !s.expanded[p.v()] {
			s.expanded[p.v()] = true
			if confl := s.expand(p.v()); confl >= 0 {
				s.qhead = len(s.trail)
				return confl
			}
		}
		falseLit := p.not()
		ws := s.watches[falseLit]
		i, j := 0, 0
		for i < len(ws) {
			cid := ws[i]
			i++
			c := s.clauses[cid].lits
			if c[0] == falseLit {
				c[0], c[1] = c[1], c[0]
			}
			if s.value(c[0]) == 1 {
				ws[j] = cid
				j++
				continue
			}
			moved := false
			for k := 2; k < len(c); k++ {
				if s.value(c[k]) != -1 {
					c[1], c[k] = c[k], c[1]
					s.watches[c[1]] = append(s.watches[c[1]], cid)
					moved = true
					break
				}
			}
			if moved {
				continue
			}
			ws[j] = cid
			j++
			if s.value(c[0]) == -1 {
				for i < len(ws) {
					ws[j] = ws[i]
					i++
					j++
				}
				s.watches[falseLit] = ws[:j]
				s.qhead = len(s.trail)
				return cid
			}
			s.enqueue(c[0], cid)
		}
		s.watches[falseLit] = ws[:j]
	}
	return -1
}

// analyze derives the first-UIP clause of a conflict above level 0.
func (s *sat) analyze(confl int32) (learnt []lit, btLevel int, ante []int32) {
	cur := int32(s.decisionLevel())
	learnt = append(learnt, 0)
	var touched []int32
	pathC := 0
	p := lit(-1)
	idx := len(s.trail) - 1
	for {
		ante = append(ante, confl)
		for _, q := range s.clauses[confl].lits {
			if q == p {
				continue
			}
			v := q.v()
			if s.seen[v] {
				continue
			}
			s.seen[v] = true
			touched = append(touched, v)
			if s.level[v] == cur {
				pathC++
			} else {
				learnt = append(learnt, q)
			}
		}
		for !s.seen[s.trail[idx].v()] {
			idx--
		}
		p = s.trail[idx]
		idx--
		confl = s.reason[p.v()]
		s.seen[p.v()] = false
		pathC--
		if pathC <= 0 {
			break
		}
	}
	learnt[0] = p.not()
	for _, v := range touched {
		s.seen[v] = false
	}
	// The literal of the highest remaining level goes second (watched).
	maxI := -1
	for i := 1; i < len(learnt); i++ {
		if maxI < 0 || s.level[learnt[i].v()] > s.level[learnt[maxI].v()] {
			maxI = i
		}
	}
	if maxI > 0 {
		learnt[1], learnt[maxI] = learnt[maxI], learnt[1]
		btLevel = int(s.level[learnt[1].v()])
	}
	return learnt, btLevel, ante
}

func (s *sat) cancelUntil(level int) {
	if s.decisionLevel() <= level {
		return
	}
	for i := len(s.trail) - 1; i >= s.trailLim[level]; i-- {
		v := s.trail[i].v()
		s.assign[v] = 0
		s.reason[v] = -1
	}
	s.trail = s.trail[:s.trailLim[level]]
	s.trailLim = s.trailLim[:level]
	s.qhead = len(s.trail)
}

func (s *sat) learn(learnt []lit, ante []int32) {
	id := int32(len(s.clauses))
	s.clauses = append(s.clauses, clause{lits: learnt, learned: true, ante: ante})
	if len(learnt) >= 2 {
		s.watches[learnt[0]] = append(s.watches[learnt[0]], id)
		s.watches[learnt[1]] = append(s.watches[learnt[1]], id)
	}
	s.enqueue(learnt[0], id)
}

func (s *sat) decide(l lit) {
	s.trailLim = append(s.trailLim, len(s.trail))
	s.enqueue(l, -1)
}

// solve runs the CDCL loop. next returns the next decision, or false when
// every requirement is met. stop is polled between conflicts. It returns
// -1 when satisfiable, else the id of the clause in conflict at level 0.
func (s *sat) solve(next func() (lit, bool), stop func() bool) (int32, bool) {
	if confl := s.start(); confl >= 0 {
		return confl, true
	}
	for {
		confl := s.propagate()
		if len(s.units) > 0 {
			// A unit clause learned from the input above level 0 would be
			// forgotten on backtracking: restart and assert it at level 0.
			s.cancelUntil(0)
			units := s.units
			s.units = nil
			for _, id := range units {
				l := s.clauses[id].lits[0]
				switch s.value(l) {
				case -1:
					return id, true
				case 0:
					s.enqueue(l, id)
				}
			}
			continue
		}
		if confl >= 0 {
			if s.decisionLevel() == 0 {
				return confl, true
			}
			s.conflicts++
			if s.conflicts%256 == 0 && stop() {
				return -1, false
			}
			learnt, bt, ante := s.analyze(confl)
			s.cancelUntil(bt)
			s.learn(learnt, ante)
			continue
		}
		l, ok := next()
		if !ok {
			return -1, true
		}
		s.decide(l)
	}
}

// core returns the tags of the input clauses a level-0 conflict was
// derived from.
func (s *sat) core(confl int32) []int32 {
	type item struct {
		id     int32
		follow bool
	}
	visited := make(map[int32]bool)
	followed := make(map[int32]bool)
	varDone := make(map[int32]bool)
	stack := []item{{confl, true}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if it.follow {
			if followed[it.id] {
				continue
			}
			followed[it.id] = true
		} else if visited[it.id] {
			continue
		}
		visited[it.id] = true
		c := &s.clauses[it.id]
		if c.learned {
			for _, a := range c.ante {
				stack = append(stack, item{a, false})
			}
		}
		if !it.follow {
			continue
		}
		for _, l := range c.lits {
			v := l.v()
			if varDone[v] || s.assign[v] == 0 {
				continue
			}
			varDone[v] = true
			if r := s.reason[v]; r >= 0 {
				stack = append(stack, item{r, true})
			}
		}
	}
	var out []int32
	for id := range visited {
		if !s.clauses[id].learned {
			out = append(out, s.clauses[id].tag)
		}
	}
	return out
}
