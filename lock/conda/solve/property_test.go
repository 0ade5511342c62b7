package solve

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/lock/conda/matchspec"
	"github.com/envbuild/envbuild/lock/conda/repodata"
)

// randomRepo makes a small channel of names a..d, versions 1..3, with random
// depends and constrains among them.
func randomRepo(r *rand.Rand) []repodata.Record {
	names := []string{"a", "b", "c", "d"}
	specs := func(self string) string {
		n := names[r.Intn(len(names))]
		for n == self {
			n = names[r.Intn(len(names))]
		}
		return n + []string{"", " >=2", " <2", " 1", " >=3", " 2|3"}[r.Intn(6)]
	}
	var recs []repodata.Record
	for _, n := range names {
		for v := 1; v <= 1+r.Intn(3); v++ {
			rec := repodata.Record{Name: n, Version: fmt.Sprint(v), Build: "0", Fn: fmt.Sprintf("%s-%d-0.tar.bz2", n, v)}
			for k := r.Intn(3); k > 0; k-- {
				rec.Depends = append(rec.Depends, specs(n))
			}
			if r.Intn(4) == 0 {
				rec.Constrains = append(rec.Constrains, specs(n))
			}
			if err := rec.Parse(); err != nil {
				panic(err)
			}
			recs = append(recs, rec)
		}
	}
	return recs
}

// valid reports why a set of records does not satisfy the request, or "".
func valid(specs []matchspec.MatchSpec, set []repodata.Record) string {
	byName := map[string]*repodata.Record{}
	for i := range set {
		if byName[set[i].Name] != nil {
			return "two records of " + set[i].Name
		}
		byName[set[i].Name] = &set[i]
	}
	sat := func(s string) bool {
		m := matchspec.MustParse(s)
		r := byName[m.Name]
		return r != nil && m.Match(r)
	}
	for _, m := range specs {
		if !sat(m.String()) {
			return "request " + m.String() + " unmet"
		}
	}
	for _, r := range set {
		for _, d := range r.Depends {
			if !sat(d) {
				return r.String() + " needs " + d
			}
		}
		for _, c := range r.Constrains {
			m := matchspec.MustParse(c)
			if o := byName[m.Name]; o != nil && !m.Match(o) {
				return r.String() + " constrains " + c
			}
		}
	}
	return ""
}

// bruteForce looks for any valid set: each name absent or one of its
// records. It also returns the highest version of the first spec's package
// in any valid set ("" when none).
func bruteForce(specs []matchspec.MatchSpec, recs []repodata.Record) (bool, string) {
	byName := map[string][]repodata.Record{}
	var names []string
	for _, r := range recs {
		if byName[r.Name] == nil {
			names = append(names, r.Name)
		}
		byName[r.Name] = append(byName[r.Name], r)
	}
	found, best := false, ""
	var try func(i int, set []repodata.Record)
	try = func(i int, set []repodata.Record) {
		if i == len(names) {
			if valid(specs, set) == "" {
				found = true
				for _, r := range set {
					if r.Name == specs[0].Name && (best == "" || r.Version > best) {
						best = r.Version
					}
				}
			}
			return
		}
		try(i+1, set)
		for _, r := range byName[names[i]] {
			try(i+1, append(set, r))
		}
	}
	try(0, nil)
	return found, best
}

// TestSolveAgainstBruteForce checks on thousands of random small channels
// that every answer satisfies the request and that "unsatisfiable" is only
// said when no set of records works.
func TestSolveAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewSource(seedForTest))
	sat, unsat := 0, 0
	for i := 0; i < casesForTest; i++ {
		recs := randomRepo(r)
		var specs []matchspec.MatchSpec
		for k := 1 + r.Intn(2); k > 0; k-- {
			n := []string{"a", "b", "c", "d"}[r.Intn(4)]
			specs = append(specs, matchspec.MustParse(n+[]string{"", " >=2", " <3", " 1"}[r.Intn(4)]))
		}
		got, err := Solve(context.Background(), Request{Specs: specs, Channels: []ChannelRepodata{{Channel: "rand", Records: recs}}})
		want, best := bruteForce(specs, recs)
		var ue *UnsatisfiableError
		switch {
		case err != nil && !errors.As(err, &ue):
			t.Fatalf("case %d: %v", i, err)
		case err != nil && want:
			t.Fatalf("case %d: Solve says unsatisfiable but a solution exists\nspecs %v\nrepo %s\n%v", i, specs, dump(recs), err)
		case err == nil && !want:
			t.Fatalf("case %d: Solve found %v but brute force found nothing\nspecs %v\nrepo %s", i, dump(got), specs, dump(recs))
		case err == nil:
			if why := valid(specs, got); why != "" {
				t.Fatalf("case %d: Solve returned an invalid set (%s): %s\nrepo %s", i, why, dump(got), dump(recs))
			}
			// The first requested package gets the highest version any
			// valid set has (versions are single digits here).
			for _, r := range got {
				if r.Name == specs[0].Name && r.Version != best {
					t.Fatalf("case %d: Solve picked %s %s, but a valid set has %s\nspecs %v\nrepo %s", i, r.Name, r.Version, best, specs, dump(recs))
				}
			}
			sat++
		default:
			if len(ue.Reasons) == 0 {
				t.Fatalf("case %d: an unsatisfiable request without reasons", i)
			}
			if ue.core != nil && !coreUnsat(ue.core) {
				t.Fatalf("case %d: the clauses the explanation is built from can be satisfied: %v\nspecs %v\nrepo %s", i, ue.core, specs, dump(recs))
			}
			unsat++
		}
	}
	if sat < 300 || unsat < 300 {
		t.Errorf("the random cases are lopsided: %d satisfiable, %d not", sat, unsat)
	}
}

// coreUnsat checks by enumeration that no assignment satisfies the clauses.
func coreUnsat(core [][]lit) bool {
	var vars []int32
	index := map[int32]int{}
	for _, c := range core {
		for _, l := range c {
			if _, ok := index[l.v()]; !ok {
				index[l.v()] = len(vars)
				vars = append(vars, l.v())
			}
		}
	}
	if len(vars) > 20 {
		return true // too many to enumerate; not expected in small cases
	}
	for m := 0; m < 1<<len(vars); m++ {
		all := true
		for _, c := range core {
			ok := false
			for _, l := range c {
				val := m>>index[l.v()]&1 == 1
				if l&1 == 1 {
					val = !val
				}
				if val {
					ok = true
					break
				}
			}
			if !ok {
				all = false
				break
			}
		}
		if all {
			return false
		}
	}
	return true
}

func dump(recs []repodata.Record) string {
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "\n  %s-%s %v constrains %v", r.Name, r.Version, r.Depends, r.Constrains)
	}
	return b.String()
}

// Raise these locally to search harder.
var seedForTest, casesForTest = int64(4), 3000
