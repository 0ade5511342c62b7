package pep508

import (
	"slices"
	"strings"

	"github.com/envbuild/envbuild/lock/pypi/pep440"
)

// Requirement is a parsed dependency specifier.
type Requirement struct {
	// Name is the project name as written; use NormalizeName to compare.
	Name string
	// Extras are the requested extras, normalised (PEP 685), sorted and
	// without duplicates.
	Extras []string
	// Specifiers constrain the version; empty means any version. Empty
	// when URL is set.
	Specifiers pep440.Specifiers
	// URL is the direct reference of "name @ url", or "".
	URL string
	// Marker is the environment marker after ";", or nil.
	Marker *Marker
}

// ParseRequirement reads a dependency specifier such as
// `requests[socks, security] >= 2.8.1, == 2.8.* ; python_version < "3.12"`,
// `name (>=1.0)` or `pip @ https://example.com/pip-24.0.whl ; os_name == "posix"`.
func ParseRequirement(s string) (Requirement, error) {
	r, _, err := parseRequirement(s, false)
	return r, err
}

// ParseRequirementLenient is ParseRequirement that also accepts the broken
// version specifiers pep440.ParseSpecifiersLenient repairs (">=1.9.*",
// "!=3.0*", ">=7.2.0<8.0.0"), as found in the Requires-Dist of old uploads;
// repaired reports that a repair was needed. Use it for metadata read from
// an index, never for what the user wrote.
func ParseRequirementLenient(s string) (r Requirement, repaired bool, err error) {
	return parseRequirement(s, true)
}

func parseRequirement(s string, lenient bool) (Requirement, bool, error) {
	r, sc, err := parseRequirementWith(&scanner{in: s, lenient: lenient})
	return r, sc.repaired, err
}

func parseRequirementWith(sc *scanner) (Requirement, *scanner, error) {
	var r Requirement
	sc.skipSpace()
	name, err := sc.name("a project name")
	if err != nil {
		return Requirement{}, sc, err
	}
	r.Name = name
	sc.skipSpace()
	if sc.peek() == '[' {
		if r.Extras, err = sc.extras(); err != nil {
			return Requirement{}, sc, err
		}
		sc.skipSpace()
	}
	switch c := sc.peek(); {
	case c == '@':
		sc.pos++
		sc.skipSpace()
		start := sc.pos
		for !sc.eof() && !isSpace(sc.in[sc.pos]) {
			sc.pos++
		}
		if start == sc.pos {
			return Requirement{}, sc, sc.errorf(start, "expected a URL after \"@\"")
		}
		r.URL = sc.in[start:sc.pos]
		if !strings.Contains(r.URL, ":") {
			return Requirement{}, sc, sc.errorf(start, "expected a URL with a scheme (like https://…/x.whl or file:///…) after \"@\", got %q", r.URL)
		}
		// A marker after a URL must be separated by whitespace, otherwise
		// the ";" would belong to the URL.
		if !sc.skipSpace() && !sc.eof() {
			return Requirement{}, sc, sc.errorf(sc.pos, "expected whitespace after the URL")
		}
		if !sc.eof() && sc.peek() != ';' {
			return Requirement{}, sc, sc.errorf(sc.pos, "expected \";\" and a marker, or the end, after the URL")
		}
	case c == '(':
		open := sc.pos
		sc.pos++
		end := strings.IndexByte(sc.in[sc.pos:], ')')
		if end < 0 {
			return Requirement{}, sc, sc.errorf(open, "expected \")\" to close the version specifier")
		}
		if r.Specifiers, err = sc.specifiers(sc.pos, sc.pos+end); err != nil {
			return Requirement{}, sc, err
		}
		sc.pos += end + 1
		sc.skipSpace()
	case c != 0 && c != ';':
		end := strings.IndexByte(sc.in[sc.pos:], ';')
		if end < 0 {
			end = len(sc.in) - sc.pos
		}
		if r.Specifiers, err = sc.specifiers(sc.pos, sc.pos+end); err != nil {
			return Requirement{}, sc, err
		}
		sc.pos += end
	}
	if sc.peek() == ';' {
		semi := sc.pos
		sc.pos++
		sc.skipSpace()
		if sc.eof() {
			return Requirement{}, sc, sc.errorf(semi+1, "expected a marker after \";\"")
		}
		m, err := sc.markerOr()
		if err != nil {
			return Requirement{}, sc, err
		}
		sc.skipSpace()
		if !sc.eof() {
			return Requirement{}, sc, sc.errorf(sc.pos, "expected \"and\", \"or\" or the end of the marker")
		}
		r.Marker = m
	}
	sc.skipSpace()
	if !sc.eof() {
		return Requirement{}, sc, sc.errorf(sc.pos, "expected \";\" and a marker, or the end")
	}
	return r, sc, nil
}

// MustParseRequirement is ParseRequirement for constants; it panics on
// error.
func MustParseRequirement(s string) Requirement {
	r, err := ParseRequirement(s)
	if err != nil {
		panic(err)
	}
	return r
}

// extras reads "[a, b]" and returns the normalised, sorted, deduplicated
// names.
func (sc *scanner) extras() ([]string, error) {
	open := sc.pos
	sc.pos++ // [
	out := []string{}
	sc.skipSpace()
	if sc.peek() == ']' {
		sc.pos++
		return out, nil
	}
	for {
		sc.skipSpace()
		e, err := sc.name("an extra name")
		if err != nil {
			return nil, err
		}
		out = append(out, NormalizeExtra(e))
		sc.skipSpace()
		switch sc.peek() {
		case ',':
			sc.pos++
			continue
		case ']':
			sc.pos++
			slices.Sort(out)
			return slices.Compact(out), nil
		case 0:
			return nil, sc.errorf(open, "expected \"]\" to close the extras")
		}
		return nil, sc.errorf(sc.pos, "expected \",\" or \"]\" in the extras")
	}
}

// specifiers parses in[start:end] as a version specifier set, reporting an
// error at the clause that fails.
func (sc *scanner) specifiers(start, end int) (pep440.Specifiers, error) {
	text := sc.in[start:end]
	if strings.TrimSpace(text) == "" {
		return nil, sc.errorf(start, "expected a version specifier (like >=1.0)")
	}
	out := pep440.Specifiers{}
	off := start
	for _, clause := range strings.Split(text, ",") {
		lead := len(clause) - len(strings.TrimLeft(clause, " \t"))
		sp, err := pep440.ParseSpecifier(clause)
		if err != nil {
			if sc.lenient {
				if ss, repaired, lerr := pep440.ParseSpecifiersLenient(text); lerr == nil && repaired {
					sc.repaired = true
					return ss, nil
				}
			}
			return nil, sc.errorf(off+lead, "%s", err.Error())
		}
		out = append(out, sp)
		off += len(clause) + 1
	}
	return out, nil
}

// NormalizedName is the PEP 503 form of Name, the key to compare projects
// by.
func (r Requirement) NormalizedName() string { return NormalizeName(r.Name) }

// String returns the canonical form: the name as written, the sorted
// extras, the specifiers or " @ url", then "; marker"
// (`requests[socks]>=2.8.1,==2.8.*; python_version < "3.12"`).
func (r Requirement) String() string {
	var b strings.Builder
	b.WriteString(r.Name)
	if len(r.Extras) > 0 {
		b.WriteString("[" + strings.Join(r.Extras, ",") + "]")
	}
	if r.URL != "" {
		b.WriteString(" @ " + r.URL)
		if r.Marker != nil {
			b.WriteByte(' ')
		}
	} else {
		b.WriteString(r.Specifiers.String())
	}
	if r.Marker != nil {
		b.WriteString("; " + r.Marker.String())
	}
	return b.String()
}
