package pep508

import (
	"maps"
	"slices"
	"strings"

	"github.com/envbuild/envbuild/lock/pypi/pep440"
)

// The marker variables of the standard.
const (
	VarOSName                       = "os_name"
	VarSysPlatform                  = "sys_platform"
	VarPlatformMachine              = "platform_machine"
	VarPlatformPythonImplementation = "platform_python_implementation"
	VarPlatformRelease              = "platform_release"
	VarPlatformSystem               = "platform_system"
	VarPlatformVersion              = "platform_version"
	VarPythonVersion                = "python_version"
	VarPythonFullVersion            = "python_full_version"
	VarImplementationName           = "implementation_name"
	VarImplementationVersion        = "implementation_version"
	VarExtra                        = "extra"
)

// variables lists every accepted spelling, the legacy dotted ones of PEP 345
// mapped to their standard names (as pip and packaging still accept them).
var variables = map[string]string{
	VarOSName:                        VarOSName,
	VarSysPlatform:                   VarSysPlatform,
	VarPlatformMachine:               VarPlatformMachine,
	VarPlatformPythonImplementation:  VarPlatformPythonImplementation,
	VarPlatformRelease:               VarPlatformRelease,
	VarPlatformSystem:                VarPlatformSystem,
	VarPlatformVersion:               VarPlatformVersion,
	VarPythonVersion:                 VarPythonVersion,
	VarPythonFullVersion:             VarPythonFullVersion,
	VarImplementationName:            VarImplementationName,
	VarImplementationVersion:         VarImplementationVersion,
	VarExtra:                         VarExtra,
	"os.name":                        VarOSName,
	"sys.platform":                   VarSysPlatform,
	"platform.version":               VarPlatformVersion,
	"platform.machine":               VarPlatformMachine,
	"platform.python_implementation": VarPlatformPythonImplementation,
	"python_implementation":          VarPlatformPythonImplementation,
}

// versionVariables are compared as PEP 440 versions when both sides parse.
var versionVariables = map[string]bool{
	VarPythonVersion:         true,
	VarPythonFullVersion:     true,
	VarImplementationVersion: true,
}

// markerOps in the order they are tried (longest first).
var markerOps = []string{"===", "==", "!=", "<=", ">=", "~=", "<", ">"}

// Marker is a parsed environment marker expression. A nil *Marker is the
// absent marker and evaluates to true.
type Marker struct {
	// kind is markerAnd, markerOr or markerCompare.
	kind markerKind
	// args are the operands of and/or (two or more).
	args []*Marker
	// A comparison: left op right, where a side is a variable when its
	// isVar flag is set and a string literal otherwise.
	left, right       string
	leftVar, rightVar bool
	op                string
}

type markerKind uint8

const (
	markerCompare markerKind = iota
	markerAnd
	markerOr
)

// ParseMarker reads an environment marker such as
// `python_version >= "3.8" and sys_platform == "linux"`.
func ParseMarker(s string) (*Marker, error) {
	sc := &scanner{in: s}
	m, err := sc.markerOr()
	if err != nil {
		return nil, err
	}
	sc.skipSpace()
	if !sc.eof() {
		return nil, sc.errorf(sc.pos, "expected \"and\", \"or\" or the end of the marker")
	}
	return m, nil
}

// MustParseMarker is ParseMarker for constants; it panics on error.
func MustParseMarker(s string) *Marker {
	m, err := ParseMarker(s)
	if err != nil {
		panic(err)
	}
	return m
}

func (sc *scanner) markerOr() (*Marker, error) {
	return sc.markerChain("or", markerOr, sc.markerAnd)
}

func (sc *scanner) markerAnd() (*Marker, error) {
	return sc.markerChain("and", markerAnd, sc.markerAtom)
}

// markerChain reads operand (keyword operand)* and joins the operands into
// a node of kind op.
func (sc *scanner) markerChain(keyword string, op markerKind, operand func() (*Marker, error)) (*Marker, error) {
	first, err := operand()
	if err != nil {
		return nil, err
	}
	args := []*Marker{first}
	for {
		save := sc.pos
		sc.skipSpace()
		if !sc.keyword(keyword) {
			sc.pos = save
			break
		}
		next, err := operand()
		if err != nil {
			return nil, err
		}
		args = append(args, next)
	}
	return join(op, args), nil
}

// join builds an and/or node, flattening nested nodes of the same kind
// (and/or are associative, so the meaning is kept).
func join(kind markerKind, args []*Marker) *Marker {
	if len(args) == 1 {
		return args[0]
	}
	var flat []*Marker
	for _, a := range args {
		if a.kind == kind {
			flat = append(flat, a.args...)
		} else {
			flat = append(flat, a)
		}
	}
	return &Marker{kind: kind, args: flat}
}

// MaxNesting bounds the parentheses of a marker: the parser, printer and
// evaluator recurse once per level, and no real marker comes near it.
const MaxNesting = 100

func (sc *scanner) markerAtom() (*Marker, error) {
	sc.skipSpace()
	if sc.peek() == '(' {
		open := sc.pos
		if sc.depth >= MaxNesting {
			return nil, sc.errorf(open, "markers nested more than %d levels deep", MaxNesting)
		}
		sc.depth++
		defer func() { sc.depth-- }()
		sc.pos++
		m, err := sc.markerOr()
		if err != nil {
			return nil, err
		}
		sc.skipSpace()
		if sc.peek() != ')' {
			return nil, sc.errorf(sc.pos, "expected \")\" to close the \"(\" at column %d", open+1)
		}
		sc.pos++
		return m, nil
	}
	left, leftVar, err := sc.markerValue()
	if err != nil {
		return nil, err
	}
	sc.skipSpace()
	opPos := sc.pos
	op := ""
	switch {
	case sc.keyword("in"):
		op = "in"
	case sc.keyword("not"):
		if !sc.skipSpace() || !sc.keyword("in") {
			return nil, sc.errorf(opPos, "expected \"not in\"")
		}
		op = "not in"
	default:
		for _, o := range markerOps {
			if strings.HasPrefix(sc.in[sc.pos:], o) {
				op = o
				sc.pos += len(o)
				break
			}
		}
	}
	if op == "" {
		return nil, sc.errorf(opPos, "expected a comparison operator (==, !=, <, <=, >, >=, ~=, ===, in, not in)")
	}
	sc.skipSpace()
	right, rightVar, err := sc.markerValue()
	if err != nil {
		return nil, err
	}
	m := &Marker{kind: markerCompare, left: left, leftVar: leftVar, op: op, right: right, rightVar: rightVar}
	// Extra names are compared normalised (PEP 685), so store them so.
	if leftVar && left == VarExtra && !rightVar {
		m.right = NormalizeExtra(right)
	}
	if rightVar && right == VarExtra && !leftVar {
		m.left = NormalizeExtra(left)
	}
	return m, nil
}

// markerValue reads a variable name or a quoted string.
func (sc *scanner) markerValue() (value string, isVar bool, err error) {
	start := sc.pos
	switch c := sc.peek(); c {
	case '\'', '"':
		end := strings.IndexByte(sc.in[sc.pos+1:], c)
		if end < 0 {
			return "", false, sc.errorf(start, "unterminated string: no closing %c", c)
		}
		lit := sc.in[start+1 : start+1+end]
		if i := strings.IndexByte(lit, '\\'); i >= 0 {
			return "", false, sc.errorf(start+1+i, "backslash in a quoted string: the grammar has no escapes, and packaging rejects it")
		}
		sc.pos += end + 2
		return lit, false, nil
	}
	for !sc.eof() && (isAlnum(sc.in[sc.pos]) || sc.in[sc.pos] == '_' || sc.in[sc.pos] == '.') {
		sc.pos++
	}
	word := sc.in[start:sc.pos]
	if word == "" {
		return "", false, sc.errorf(start, "expected a marker variable (like python_version) or a quoted string")
	}
	name, ok := variables[word]
	if !ok && word[0] >= '0' && word[0] <= '9' {
		return "", false, sc.errorf(start, "expected a marker variable or a quoted string, got %s (write it quoted: \"%s\")", word, word)
	}
	if !ok {
		return "", false, sc.errorf(start, "unknown marker variable %q (known: %s)", word, strings.Join(standardVariables(), ", "))
	}
	return name, true, nil
}

func standardVariables() []string {
	var out []string
	for k, v := range variables {
		if k == v {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// String returns the canonical form: variables bare, strings in double
// quotes (single quotes when the string holds a double quote), one space
// around operators, "and" binding tighter than "or", parentheses only where
// an "or" sits inside an "and", extra names normalised.
func (m *Marker) String() string {
	if m == nil {
		return ""
	}
	var b strings.Builder
	m.write(&b, false)
	return b.String()
}

func (m *Marker) write(b *strings.Builder, inAnd bool) {
	switch m.kind {
	case markerCompare:
		writeValue(b, m.left, m.leftVar)
		b.WriteByte(' ')
		b.WriteString(m.op)
		b.WriteByte(' ')
		writeValue(b, m.right, m.rightVar)
	case markerAnd, markerOr:
		word := " and "
		if m.kind == markerOr {
			word = " or "
		}
		paren := inAnd && m.kind == markerOr
		if paren {
			b.WriteByte('(')
		}
		for i, a := range m.args {
			if i > 0 {
				b.WriteString(word)
			}
			a.write(b, m.kind == markerAnd)
		}
		if paren {
			b.WriteByte(')')
		}
	}
}

func writeValue(b *strings.Builder, s string, isVar bool) {
	switch {
	case isVar:
		b.WriteString(s)
	case strings.Contains(s, `"`):
		b.WriteString("'" + s + "'")
	default:
		b.WriteString(`"` + s + `"`)
	}
}

// Extras returns the normalised extra names the marker compares "extra"
// with, sorted and without duplicates.
func (m *Marker) Extras() []string {
	var out []string
	var walk func(*Marker)
	walk = func(m *Marker) {
		if m == nil {
			return
		}
		for _, a := range m.args {
			walk(a)
		}
		if m.kind == markerCompare {
			if m.leftVar && m.left == VarExtra && !m.rightVar {
				out = append(out, m.right)
			}
			if m.rightVar && m.right == VarExtra && !m.leftVar {
				out = append(out, m.left)
			}
		}
	}
	walk(m)
	slices.Sort(out)
	return slices.Compact(out)
}

// Evaluate reports whether the marker holds in env with the given extras
// requested. A nil marker holds everywhere.
//
// "extra == X" holds when X (normalised) is one of extras and "extra != X"
// when it is not; other comparisons with "extra" hold when they hold for one
// of the extras (or for "" when there are none). When extras is nil, the
// environment's "extra" value, if set, is used as the only extra.
//
// A comparison uses PEP 440 version semantics when the variable is
// python_version, python_full_version or implementation_version and both
// sides parse (the literal as a specifier with the operator, so
// python_full_version > "3.6.2" holds for 3.11.0a5); `python_version in
// "3.8 3.9"` tests membership in that list of versions. Otherwise strings
// are compared: ==, != and the ordered operators lexicographically (as uv
// and the original PEP 508 text do), "in" and "not in" as substring tests,
// "===" as case-insensitive equality; "~=" between non-versions is false.
// A variable missing from env is the empty string.
func (m *Marker) Evaluate(env Environment, extras []string) bool {
	if m == nil {
		return true
	}
	if extras == nil && env[VarExtra] != "" {
		extras = []string{env[VarExtra]}
	}
	norm := make([]string, len(extras))
	for i, e := range extras {
		norm[i] = NormalizeExtra(e)
	}
	// An untagged CPython build reports "3.11.1+", which is no version;
	// read it as the local version "3.11.1+local", as packaging does.
	if full := env[VarPythonFullVersion]; strings.HasSuffix(full, "+") {
		env = maps.Clone(env)
		env[VarPythonFullVersion] = full + "local"
	}
	return m.eval(env, norm)
}

func (m *Marker) eval(env Environment, extras []string) bool {
	switch m.kind {
	case markerAnd:
		for _, a := range m.args {
			if !a.eval(env, extras) {
				return false
			}
		}
		return true
	case markerOr:
		for _, a := range m.args {
			if a.eval(env, extras) {
				return true
			}
		}
		return false
	}
	if (m.leftVar && m.left == VarExtra) || (m.rightVar && m.right == VarExtra) {
		return m.evalExtra(env, extras)
	}
	lhs, rhs := m.left, m.right
	if m.leftVar {
		lhs = env[m.left]
	}
	if m.rightVar {
		rhs = env[m.right]
	}
	versionish := (m.leftVar && versionVariables[m.left]) || (m.rightVar && versionVariables[m.right])
	if versionish && m.leftVar && !m.rightVar && (m.op == "in" || m.op == "not in") {
		if in, ok := versionIn(lhs, rhs); ok {
			return in == (m.op == "in")
		}
	}
	return compare(lhs, m.op, rhs, versionish)
}

// versionIn tests `python_version in "3.8 3.9"` as membership in a list of
// versions (so "3.1" is not in "3.10 3.11"), as uv does; ok is false when
// the value or a list item is not a version, leaving the substring test.
func versionIn(value, list string) (in, ok bool) {
	v, err := pep440.Parse(value)
	if err != nil {
		return false, false
	}
	items := strings.Fields(list)
	if len(items) == 0 {
		return false, false
	}
	for _, it := range items {
		w, err := pep440.Parse(it)
		if err != nil {
			return false, false
		}
		if w.Equal(v) {
			in = true
		}
	}
	return in, true
}

func (m *Marker) evalExtra(env Environment, extras []string) bool {
	if m.leftVar && m.rightVar {
		// Comparing extra with another variable: per extra.
		vals := extras
		if len(vals) == 0 {
			vals = []string{""}
		}
		for _, e := range vals {
			l, r := env[m.left], env[m.right]
			if m.left == VarExtra {
				l = e
			}
			if m.right == VarExtra {
				r = e
			}
			if compare(l, m.op, r, false) {
				return true
			}
		}
		return false
	}
	literal := m.right
	if m.rightVar {
		literal = m.left
	}
	switch m.op {
	case "==", "===":
		return slices.Contains(extras, literal)
	case "!=":
		return !slices.Contains(extras, literal)
	}
	vals := extras
	if len(vals) == 0 {
		vals = []string{""}
	}
	for _, e := range vals {
		l, r := e, literal
		if m.rightVar {
			l, r = literal, e
		}
		if compare(l, m.op, r, false) {
			return true
		}
	}
	return false
}

// compare evaluates lhs op rhs.
func compare(lhs, op, rhs string, versionish bool) bool {
	switch op {
	case "in":
		return strings.Contains(rhs, lhs)
	case "not in":
		return !strings.Contains(rhs, lhs)
	case "===":
		return strings.EqualFold(strings.TrimSpace(lhs), strings.TrimSpace(rhs))
	}
	if versionish {
		if spec, err := pep440.ParseSpecifier(op + rhs); err == nil {
			if v, err := pep440.Parse(lhs); err == nil {
				return spec.Contains(v, true)
			}
		}
	}
	switch op {
	case "==":
		return lhs == rhs
	case "!=":
		return lhs != rhs
	case "<":
		return lhs < rhs
	case "<=":
		return lhs <= rhs
	case ">":
		return lhs > rhs
	case ">=":
		return lhs >= rhs
	}
	return false
}
