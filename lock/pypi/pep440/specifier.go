package pep440

import (
	"fmt"
	"strings"
)

// Operator is a version comparison operator.
type Operator string

// The operators of PEP 440.
const (
	OpCompatible Operator = "~="
	OpEqual      Operator = "=="
	OpNotEqual   Operator = "!="
	OpLessEq     Operator = "<="
	OpGreaterEq  Operator = ">="
	OpLess       Operator = "<"
	OpGreater    Operator = ">"
	OpArbitrary  Operator = "==="
)

// operators is ordered so that a longer operator is tried before its prefix.
var operators = []Operator{OpArbitrary, OpCompatible, OpEqual, OpNotEqual, OpLessEq, OpGreaterEq, OpLess, OpGreater}

// Specifier is one clause of a specifier set, such as ">=1.2" or "==1.4.*".
// Treat it as a value; build it with ParseSpecifier.
type Specifier struct {
	// Op is the operator.
	Op Operator
	// Version is the version compared against; unset for OpArbitrary when
	// Arbitrary does not parse as a version.
	Version Version
	// Wildcard is set for the prefix forms "==V.*" and "!=V.*".
	Wildcard bool
	// Arbitrary is the string after "===", as written.
	Arbitrary string
}

// Specifiers is a specifier set: every clause must match. The empty set
// matches every version.
type Specifiers []Specifier

// ParseSpecifier reads one clause such as ">= 1.2" or "==1.4.*".
func ParseSpecifier(s string) (Specifier, error) {
	s = strings.TrimSpace(s)
	t := s
	var op Operator
	for _, o := range operators {
		if strings.HasPrefix(t, string(o)) {
			op = o
			break
		}
	}
	if op == "" {
		return Specifier{}, fmt.Errorf("parsing version specifier %q: no operator (want one of ==, !=, <=, >=, <, >, ~=, ===, e.g. \">=1.2\")", s)
	}
	rest := strings.TrimSpace(t[len(op):])
	if rest == "" {
		return Specifier{}, fmt.Errorf("parsing version specifier %q: no version after %q", s, op)
	}
	sp := Specifier{Op: op}
	if op == OpArbitrary {
		if strings.ContainsAny(rest, " \t\r\n\f;,()") {
			return Specifier{}, fmt.Errorf("parsing version specifier %q: the string after === must not contain spaces, commas, semicolons or parentheses", s)
		}
		sp.Arbitrary = rest
		if v, err := Parse(rest); err == nil {
			sp.Version = v
		}
		return sp, nil
	}
	verText := rest
	if strings.HasSuffix(verText, ".*") {
		if op != OpEqual && op != OpNotEqual {
			return Specifier{}, fmt.Errorf("parsing version specifier %q: a wildcard \".*\" is only allowed with == and !=", s)
		}
		sp.Wildcard = true
		verText = verText[:len(verText)-2]
	}
	v, err := Parse(verText)
	if err != nil {
		return Specifier{}, fmt.Errorf("parsing version specifier %q: %w", s, err)
	}
	if strings.ContainsAny(verText, " \t\r\n\f") {
		return Specifier{}, fmt.Errorf("parsing version specifier %q: space inside the version", s)
	}
	sp.Version = v
	switch {
	case sp.Wildcard && (v.preKind != preNone || v.hasPost || v.hasDev || v.local != nil):
		return Specifier{}, fmt.Errorf("parsing version specifier %q: a wildcard may only follow release segments (like ==1.2.*), not a pre, post, dev or local part", s)
	case v.local != nil && op != OpEqual && op != OpNotEqual:
		return Specifier{}, fmt.Errorf("parsing version specifier %q: a local version label is only allowed with == and !=", s)
	case op == OpCompatible && len(v.release) < 2:
		return Specifier{}, fmt.Errorf("parsing version specifier %q: ~= needs at least two release segments (like ~=1.4 or ~=1.4.2)", s)
	}
	return sp, nil
}

// ParseSpecifiers reads a comma-separated specifier set such as
// ">=1.2, <2, !=1.5.*". Empty or blank input gives the empty set, which
// matches everything.
func ParseSpecifiers(s string) (Specifiers, error) {
	if strings.TrimSpace(s) == "" {
		return Specifiers{}, nil
	}
	parts := strings.Split(s, ",")
	out := make(Specifiers, 0, len(parts))
	for _, p := range parts {
		if strings.TrimSpace(p) == "" {
			return nil, fmt.Errorf("parsing version specifiers %q: empty clause between commas", s)
		}
		sp, err := ParseSpecifier(p)
		if err != nil {
			return nil, fmt.Errorf("parsing version specifiers %q: %w", s, err)
		}
		out = append(out, sp)
	}
	return out, nil
}

// MustParseSpecifiers is ParseSpecifiers for constants; it panics on error.
func MustParseSpecifiers(s string) Specifiers {
	sp, err := ParseSpecifiers(s)
	if err != nil {
		panic(err)
	}
	return sp
}

// String returns the clause in normalised form: the operator followed by
// the normalised version (">=1.2", "==1.4.*", "===foobar").
func (s Specifier) String() string {
	switch {
	case s.Op == OpArbitrary:
		return string(s.Op) + s.Arbitrary
	case s.Wildcard:
		return string(s.Op) + s.Version.String() + ".*"
	}
	return string(s.Op) + s.Version.String()
}

// String joins the clauses with "," in the order they were written.
func (ss Specifiers) String() string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = s.String()
	}
	return strings.Join(parts, ",")
}

// MentionsPrerelease reports whether the clause names a pre-release or dev
// release in a way that asks for one: any operator but != whose version is a
// pre-release (">=1.0b1", "==2.0rc1", "<3.0a1"). Such a clause lets
// Specifiers.Filter keep pre-releases.
func (s Specifier) MentionsPrerelease() bool {
	if s.Op == OpNotEqual {
		return false
	}
	if s.Op == OpArbitrary {
		v, err := Parse(s.Arbitrary)
		return err == nil && v.IsPrerelease()
	}
	return s.Version.IsPrerelease()
}

// MentionsPrerelease reports whether any clause names a pre-release.
func (ss Specifiers) MentionsPrerelease() bool {
	for _, s := range ss {
		if s.MentionsPrerelease() {
			return true
		}
	}
	return false
}

// Contains reports whether v satisfies the clause. When prereleases is false
// a pre-release or dev release never matches; pass true to test the version
// order alone (which is what Set represents).
func (s Specifier) Contains(v Version, prereleases bool) bool {
	if !prereleases && v.IsPrerelease() {
		return false
	}
	return s.matches(v)
}

// Contains reports whether v satisfies every clause; see Specifier.Contains
// for prereleases. To apply the standard's default ("pre-releases only when
// a clause names one") pass ss.MentionsPrerelease().
func (ss Specifiers) Contains(v Version, prereleases bool) bool {
	if !prereleases && v.IsPrerelease() {
		return false
	}
	for _, s := range ss {
		if !s.matches(v) {
			return false
		}
	}
	return true
}

// Filter returns the versions that satisfy ss, in their input order, under
// the default pre-release policy of pip and uv: final releases always;
// pre-releases too when a clause names a pre-release (MentionsPrerelease);
// otherwise pre-releases only when no final release satisfies ss.
func (ss Specifiers) Filter(vs []Version) []Version {
	explicit := ss.MentionsPrerelease()
	var finals, all []Version
	for _, v := range vs {
		if !ss.Contains(v, true) {
			continue
		}
		all = append(all, v)
		if !v.IsPrerelease() {
			finals = append(finals, v)
		}
	}
	if explicit || len(finals) == 0 {
		return all
	}
	return finals
}

// matches is the membership test of the version order, pre-releases
// included. It is written from the operator rules directly (not through
// Set), and the tests check that the two agree.
func (s Specifier) matches(v Version) bool {
	sv := s.Version
	switch s.Op {
	case OpArbitrary:
		return strings.EqualFold(v.String(), strings.TrimSpace(s.Arbitrary))
	case OpEqual:
		return s.equal(v)
	case OpNotEqual:
		return !s.equal(v)
	case OpGreaterEq:
		return v.Public().Compare(sv) >= 0
	case OpLessEq:
		return v.Public().Compare(sv) <= 0
	case OpCompatible:
		prefix := Specifier{Op: OpEqual, Wildcard: true, Version: Version{epoch: sv.epoch, release: sv.release[:len(sv.release)-1]}}
		return v.Public().Compare(sv) >= 0 && prefix.equal(v)
	case OpGreater:
		if v.Compare(sv) <= 0 {
			return false
		}
		// A local version of V never matches.
		if v.Public().Compare(sv) == 0 {
			return false
		}
		// Unless V is a post or dev release, neither does a post-release
		// of V (nor a local of one): same epoch, release and pre-release.
		if !sv.hasPost && !sv.hasDev && v.hasPost && v.epoch == sv.epoch &&
			compareRelease(v.rel(), sv.rel()) == 0 && v.preKind == sv.preKind && (v.preKind == preNone || v.preNum == sv.preNum) {
			return false
		}
		return true
	case OpLess:
		if v.Compare(sv) >= 0 {
			return false
		}
		// Unless V is a pre-release, a pre-release of V never matches: for
		// a final V the dev and pre releases of its release, for a
		// post-release V its dev releases.
		if !sv.IsPrerelease() && v.IsPrerelease() && v.epoch == sv.epoch && compareRelease(v.rel(), sv.rel()) == 0 {
			if !sv.hasPost {
				return false
			}
			if v.hasPost && v.post == sv.post && v.preKind == preNone {
				return false
			}
		}
		return true
	}
	return false
}

// equal is the test of == (and the negation of !=), wildcards and local
// labels included.
func (s Specifier) equal(v Version) bool {
	sv := s.Version
	if s.Wildcard {
		if v.epoch != sv.epoch {
			return false
		}
		r := v.rel()
		for i, n := range sv.rel() {
			x := 0
			if i < len(r) {
				x = r[i]
			}
			if x != n {
				return false
			}
		}
		return true
	}
	if sv.local == nil {
		v = v.Public()
	}
	return v.Compare(sv) == 0
}
