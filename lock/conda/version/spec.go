package version

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/envbuild/envbuild/lock/failure"
)

// Op is the operator of one leaf of a version spec.
type Op uint8

// The leaf operators. OpStartsWith is "1.2.*", "1.2*" and "=1.2";
// OpNotStartsWith is "!=1.2.*"; OpCompatible is "~=1.2".
const (
	OpAny Op = iota
	OpEq
	OpNe
	OpLt
	OpLe
	OpGt
	OpGe
	OpStartsWith
	OpNotStartsWith
	OpCompatible
	OpRegex
)

// Spec is a parsed conda version spec. The zero value matches every
// version, as does "*".
type Spec struct {
	// For a leaf: op and its operand.
	op  Op
	ver Version
	// compat is the prefix a "~=" leaf must start with.
	compat Version
	re     *regexp.Regexp
	text   string // the regex or glob text of an OpRegex leaf

	// For a group: "," (all) or "|" (any) with its children.
	group byte
	kids  []Spec
}

// Any is the spec that matches every version.
var Any = Spec{}

// ParseSpec parses a version spec: leaves like "1.2", "==1.2", ">=1.2",
// "1.2.*", "1.2*", "=1.2", "!=1.2.*", "~=1.2.3", "*", "1.*.3", "^1\.2.*$",
// joined with "," (and) and "|" (or), "," binding tighter, with optional
// parentheses. Spaces are ignored except inside a leaf.
func ParseSpec(s string) (Spec, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return Spec{}, fmt.Errorf("parsing conda version spec %s: empty spec", failure.Quote(s))
	}
	if !strings.ContainsAny(in, "()|,") || (in[0] == '^' && in[len(in)-1] == '$' && !strings.ContainsAny(in, "|,")) {
		sp, err := parseLeaf(in)
		if err != nil {
			return Spec{}, fmt.Errorf("parsing conda version spec %s: %w", failure.Quote(s), err)
		}
		return sp, nil
	}
	p := &specParser{in: in}
	sp, err := p.parseOr()
	if err == nil && p.pos < len(p.in) {
		err = fmt.Errorf("unexpected %q at offset %d", p.in[p.pos:], p.pos)
	}
	if err != nil {
		return Spec{}, fmt.Errorf("parsing conda version spec %s: %w", failure.Quote(s), err)
	}
	return sp, nil
}

type specParser struct {
	in    string
	pos   int
	depth int
}

// MaxNesting bounds the parentheses of a version spec: parsing, matching
// and printing recurse once per level.
const MaxNesting = 100

func (p *specParser) skipSpace() {
	for p.pos < len(p.in) && (p.in[p.pos] == ' ' || p.in[p.pos] == '\t') {
		p.pos++
	}
}

func (p *specParser) parseOr() (Spec, error) {
	first, err := p.parseAnd()
	if err != nil {
		return Spec{}, err
	}
	kids := []Spec{first}
	for {
		p.skipSpace()
		if p.pos >= len(p.in) || p.in[p.pos] != '|' {
			break
		}
		p.pos++
		k, err := p.parseAnd()
		if err != nil {
			return Spec{}, err
		}
		kids = append(kids, k)
	}
	return group('|', kids), nil
}

func (p *specParser) parseAnd() (Spec, error) {
	first, err := p.parseAtom()
	if err != nil {
		return Spec{}, err
	}
	kids := []Spec{first}
	for {
		p.skipSpace()
		if p.pos >= len(p.in) || p.in[p.pos] != ',' {
			break
		}
		p.pos++
		k, err := p.parseAtom()
		if err != nil {
			return Spec{}, err
		}
		kids = append(kids, k)
	}
	return group(',', kids), nil
}

func (p *specParser) parseAtom() (Spec, error) {
	p.skipSpace()
	if p.pos >= len(p.in) {
		return Spec{}, fmt.Errorf("missing version at the end")
	}
	switch c := p.in[p.pos]; c {
	case '(':
		if p.depth >= MaxNesting {
			return Spec{}, fmt.Errorf("parentheses nested more than %d levels deep", MaxNesting)
		}
		p.depth++
		defer func() { p.depth-- }()
		p.pos++
		sp, err := p.parseOr()
		if err != nil {
			return Spec{}, err
		}
		p.skipSpace()
		if p.pos >= len(p.in) || p.in[p.pos] != ')' {
			return Spec{}, fmt.Errorf("missing ')'")
		}
		p.pos++
		return sp, nil
	case ')', '|', ',':
		return Spec{}, fmt.Errorf("missing version before %q at offset %d", string(c), p.pos)
	case '^':
		end := strings.IndexByte(p.in[p.pos:], '$')
		if end < 0 {
			return Spec{}, fmt.Errorf("regex specs must start with '^' and end with '$'")
		}
		leaf := p.in[p.pos : p.pos+end+1]
		p.pos += end + 1
		return parseLeaf(leaf)
	}
	start := p.pos
	for p.pos < len(p.in) && !strings.ContainsRune("()|,", rune(p.in[p.pos])) {
		p.pos++
	}
	return parseLeaf(strings.TrimSpace(p.in[start:p.pos]))
}

// group flattens nested groups of the same kind, as conda's treeify does.
func group(g byte, kids []Spec) Spec {
	if len(kids) == 1 {
		return kids[0]
	}
	var flat []Spec
	for _, k := range kids {
		if k.group == g {
			flat = append(flat, k.kids...)
		} else {
			flat = append(flat, k)
		}
	}
	return Spec{group: g, kids: flat}
}

var operators = []struct {
	text string
	op   Op
}{
	// Longest first.
	{"==", OpEq}, {"!=", OpNe}, {"<=", OpLe}, {">=", OpGe}, {"~=", OpCompatible},
	{"<", OpLt}, {">", OpGt}, {"=", OpStartsWith},
}

func parseLeaf(s string) (Spec, error) {
	if s == "" {
		return Spec{}, fmt.Errorf("empty version")
	}
	if s[0] == '^' || s[len(s)-1] == '$' {
		if s[0] != '^' || s[len(s)-1] != '$' || len(s) < 2 {
			return Spec{}, fmt.Errorf("regex %q must start with '^' and end with '$'", s)
		}
		re, err := regexp.Compile(s)
		if err != nil {
			return Spec{}, fmt.Errorf("compiling regex %q: %w", s, err)
		}
		return Spec{op: OpRegex, re: re, text: s}, nil
	}
	if strings.ContainsRune("=<>!~", rune(s[0])) {
		var op Op
		var rest string
		found := false
		for _, o := range operators {
			if strings.HasPrefix(s, o.text) {
				op, rest, found = o.op, s[len(o.text):], true
				break
			}
		}
		if !found || rest == "" || strings.ContainsRune("=<>!~", rune(rest[0])) || strings.ContainsAny(rest, " \t") {
			return Spec{}, fmt.Errorf("invalid operator in %q; use one of == != < <= > >= = ~= followed directly by a version", s)
		}
		if strings.HasSuffix(rest, ".*") || (rest != "*" && strings.HasSuffix(rest, "*")) {
			switch op {
			case OpNe:
				op = OpNotStartsWith
			case OpCompatible:
				return Spec{}, fmt.Errorf("invalid operator with '.*' in %q", s)
			case OpEq:
				// "==1.2.*" is conda's "1.2.*" (rattler's lenient reading).
				op = OpStartsWith
			}
			for strings.HasSuffix(rest, ".*") {
				rest = strings.TrimSuffix(rest, ".*")
			}
			rest = strings.TrimSuffix(strings.TrimSuffix(rest, "*"), ".")
		}
		if rest == "*" || rest == "" {
			if op == OpStartsWith || op == OpGe {
				return Spec{}, nil
			}
			return Spec{}, fmt.Errorf("invalid version %q after operator", s)
		}
		if strings.Contains(rest, "*") {
			return Spec{}, fmt.Errorf("a '*' is only allowed at the end of %q", s)
		}
		v, err := Parse(rest)
		if err != nil {
			return Spec{}, err
		}
		sp := Spec{op: op, ver: v}
		if op == OpCompatible {
			c, ok := v.withoutLastComponent()
			if !ok {
				return Spec{}, fmt.Errorf("%q needs a version with at least two components, like ~=1.2", s)
			}
			sp.compat = c
		}
		return sp, nil
	}
	// Repeated trailing ".*" read as one ("2.7.*.*" is 2.7.*), as rattler does.
	for strings.HasSuffix(s, ".*.*") {
		s = strings.TrimSuffix(s, ".*")
	}
	if s == "*" || s == "*.*" {
		return Spec{}, nil
	}
	if strings.Contains(strings.TrimRight(s, "*"), "*") {
		// A glob holds version characters and '*' only (and, as conda
		// allows in versions, '-').
		if !validChars(strings.ReplaceAll(strings.ReplaceAll(strings.ToLower(s), "*", ""), "-", "_")) {
			return Spec{}, fmt.Errorf("parsing conda version glob %q: invalid character(s); a version may hold letters, digits and . _ + ! *", s)
		}
		rx := strings.NewReplacer(".", `\.`, "+", `\+`, "*", ".*").Replace(strings.ToLower(s))
		re, err := regexp.Compile("^(?:" + rx + ")$")
		if err != nil {
			return Spec{}, fmt.Errorf("compiling glob %q: %w", s, err)
		}
		return Spec{op: OpRegex, re: re, text: s}, nil
	}
	if strings.HasSuffix(s, "*") {
		base := strings.TrimSuffix(strings.TrimRight(s, "*"), ".")
		v, err := Parse(base)
		if err != nil {
			return Spec{}, err
		}
		return Spec{op: OpStartsWith, ver: v}, nil
	}
	v, err := Parse(s)
	if err != nil {
		return Spec{}, err
	}
	return Spec{op: OpEq, ver: v}, nil
}

// Match reports whether v satisfies the spec.
func (s Spec) Match(v Version) bool {
	switch s.group {
	case ',':
		for _, k := range s.kids {
			if !k.Match(v) {
				return false
			}
		}
		return true
	case '|':
		for _, k := range s.kids {
			if k.Match(v) {
				return true
			}
		}
		return false
	}
	switch s.op {
	case OpAny:
		return true
	case OpEq:
		return v.Compare(s.ver) == 0
	case OpNe:
		return v.Compare(s.ver) != 0
	case OpLt:
		return v.Compare(s.ver) < 0
	case OpLe:
		return v.Compare(s.ver) <= 0
	case OpGt:
		return v.Compare(s.ver) > 0
	case OpGe:
		return v.Compare(s.ver) >= 0
	case OpStartsWith:
		return v.StartsWith(s.ver)
	case OpNotStartsWith:
		return !v.StartsWith(s.ver)
	case OpCompatible:
		return v.Compare(s.ver) >= 0 && v.StartsWith(s.compat)
	case OpRegex:
		return s.re.MatchString(v.Normalized())
	}
	return false
}

// IsAny reports whether the spec matches every version.
func (s Spec) IsAny() bool { return s.group == 0 && s.op == OpAny }

// Op returns the operator of a leaf spec; ok is false for a group.
func (s Spec) Op() (op Op, v Version, ok bool) {
	if s.group != 0 {
		return 0, Version{}, false
	}
	return s.op, s.ver, true
}

// String returns the canonical form: "==1.2" for an exact version, "1.2.*"
// for starts-with, "!=1.2.*", ">=1.2,<2", "(1.2|1.4),<2", "*" for any.
func (s Spec) String() string {
	var b strings.Builder
	s.write(&b, 0)
	return b.String()
}

func (s Spec) write(b *strings.Builder, parent byte) {
	if s.group != 0 {
		paren := parent == ',' && s.group == '|'
		if paren {
			b.WriteByte('(')
		}
		for i, k := range s.kids {
			if i > 0 {
				b.WriteByte(s.group)
			}
			k.write(b, s.group)
		}
		if paren {
			b.WriteByte(')')
		}
		return
	}
	switch s.op {
	case OpAny:
		b.WriteString("*")
	case OpEq:
		b.WriteString("==" + s.ver.String())
	case OpNe:
		b.WriteString("!=" + s.ver.String())
	case OpLt:
		b.WriteString("<" + s.ver.String())
	case OpLe:
		b.WriteString("<=" + s.ver.String())
	case OpGt:
		b.WriteString(">" + s.ver.String())
	case OpGe:
		b.WriteString(">=" + s.ver.String())
	case OpStartsWith:
		b.WriteString(s.ver.String() + ".*")
	case OpNotStartsWith:
		b.WriteString("!=" + s.ver.String() + ".*")
	case OpCompatible:
		b.WriteString("~=" + s.ver.String())
	case OpRegex:
		b.WriteString(s.text)
	}
}
