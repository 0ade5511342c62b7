package version

import (
	"fmt"
	"strings"
)

// kind orders the three sorts of atom a component is made of: every string
// sorts below every number, and "post" above every number.
type kind uint8

const (
	kindString kind = iota
	kindNumber
	kindPost
)

// atom is one run of digits or non-digits inside a component.
type atom struct {
	kind kind
	// num holds the digits of a number without leading zeros ("" for 0), so
	// numbers of any length compare by length then bytes.
	num string
	// str holds a lower-case string; "dev" is stored as "DEV" so that it
	// sorts below every other string (but above "*"), as conda does.
	str string
}

var zeroAtom = atom{kind: kindNumber}

// Version is a parsed conda version. The zero value is not a valid version;
// use Parse.
type Version struct {
	raw  string
	norm string
	// parts[0] is the epoch component; the rest are the main version's.
	parts [][]atom
	local [][]atom
}

// Parse parses a conda version string such as "1.2.3", "1!2.0", "1.0rc1",
// "2.3.5.post2", "1.1.0+local.1" or "1.0.1_".
func Parse(s string) (Version, error) {
	raw := strings.TrimSpace(s)
	v := strings.ToLower(raw)
	if v == "" {
		return Version{}, fmt.Errorf("parsing conda version %q: empty version", s)
	}
	invalid := !validChars(v)
	if invalid && strings.Contains(v, "-") && !strings.Contains(v, "_") {
		// conda allows dashes when there are no underscores, as underscores.
		v = strings.ReplaceAll(v, "-", "_")
		invalid = !validChars(v)
	}
	if invalid {
		return Version{}, fmt.Errorf("parsing conda version %q: invalid character(s); a version may hold letters, digits and . _ + ! *", s)
	}
	out := Version{raw: raw, norm: v}

	epoch := "0"
	rest := v
	if i := strings.IndexByte(v, '!'); i >= 0 {
		epoch, rest = v[:i], v[i+1:]
		if strings.IndexByte(rest, '!') >= 0 {
			return Version{}, fmt.Errorf("parsing conda version %q: duplicated epoch separator '!'", s)
		}
		if epoch == "" || !allDigits(epoch) {
			return Version{}, fmt.Errorf("parsing conda version %q: epoch %q must be an integer", s, epoch)
		}
	}
	main := rest
	var localStr string
	hasLocal := false
	if i := strings.IndexByte(rest, '+'); i >= 0 {
		main, localStr = rest[:i], rest[i+1:]
		hasLocal = true
		if strings.IndexByte(localStr, '+') >= 0 {
			return Version{}, fmt.Errorf("parsing conda version %q: duplicated local version separator '+'", s)
		}
	}
	if main == "" {
		return Version{}, fmt.Errorf("parsing conda version %q: missing version before the local version separator '+'", s)
	}
	var comps []string
	if strings.HasSuffix(main, "_") {
		comps = strings.Split(strings.ReplaceAll(main[:len(main)-1], "_", "."), ".")
		comps[len(comps)-1] += "_"
	} else {
		comps = strings.Split(strings.ReplaceAll(main, "_", "."), ".")
	}
	out.parts = make([][]atom, 0, len(comps)+1)
	ep, _ := splitComponent(epoch)
	out.parts = append(out.parts, ep)
	for _, c := range comps {
		a, ok := splitComponent(c)
		if !ok {
			return Version{}, fmt.Errorf("parsing conda version %q: empty version component", s)
		}
		out.parts = append(out.parts, a)
	}
	if hasLocal {
		for _, c := range strings.Split(strings.ReplaceAll(localStr, "_", "."), ".") {
			a, ok := splitComponent(c)
			if !ok {
				return Version{}, fmt.Errorf("parsing conda version %q: empty local version component", s)
			}
			out.local = append(out.local, a)
		}
	}
	return out, nil
}

// MustParse is Parse for constants in tests and tables; it panics on error.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

func validChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z':
		case c == '*', c == '.', c == '+', c == '!', c == '_':
		default:
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// splitComponent splits one component into runs of digits, runs of '*' and
// runs of other characters. A component that does not start with a digit
// gets a leading 0 so numbers and strings stay in phase.
func splitComponent(c string) ([]atom, bool) {
	if c == "" {
		return nil, false
	}
	atoms := make([]atom, 0, 2)
	if c[0] < '0' || c[0] > '9' {
		atoms = append(atoms, zeroAtom)
	}
	for i := 0; i < len(c); {
		j := i + 1
		switch {
		case c[i] >= '0' && c[i] <= '9':
			for j < len(c) && c[j] >= '0' && c[j] <= '9' {
				j++
			}
			atoms = append(atoms, atom{kind: kindNumber, num: strings.TrimLeft(c[i:j], "0")})
		case c[i] == '*':
			for j < len(c) && c[j] == '*' {
				j++
			}
			atoms = append(atoms, atom{kind: kindString, str: c[i:j]})
		default:
			for j < len(c) && (c[j] < '0' || c[j] > '9') && c[j] != '*' {
				j++
			}
			switch s := c[i:j]; s {
			case "post":
				atoms = append(atoms, atom{kind: kindPost})
			case "dev":
				atoms = append(atoms, atom{kind: kindString, str: "DEV"})
			default:
				atoms = append(atoms, atom{kind: kindString, str: s})
			}
		}
		i = j
	}
	return atoms, true
}

// String returns the version as it was given (surrounding spaces removed).
func (v Version) String() string { return v.raw }

// Normalized returns the lower-cased version, with "-" turned into "_" when
// conda does so; it is the string globs and regular expressions match.
func (v Version) Normalized() string { return v.norm }

// IsZero reports whether v is the zero Version (not parsed).
func (v Version) IsZero() bool { return v.parts == nil }

func compareAtom(a, b atom) int {
	if a.kind == kindString || b.kind == kindString {
		switch {
		case a.kind == kindString && b.kind == kindString:
			return strings.Compare(a.str, b.str)
		case a.kind == kindString:
			return -1
		default:
			return 1
		}
	}
	if a.kind != b.kind {
		if a.kind == kindPost {
			return 1
		}
		return -1
	}
	if a.kind == kindPost {
		return 0
	}
	if len(a.num) != len(b.num) {
		if len(a.num) < len(b.num) {
			return -1
		}
		return 1
	}
	return strings.Compare(a.num, b.num)
}

func compareComponent(a, b []atom) int {
	n := max(len(a), len(b))
	for i := 0; i < n; i++ {
		x, y := zeroAtom, zeroAtom
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if c := compareAtom(x, y); c != 0 {
			return c
		}
	}
	return 0
}

func compareParts(a, b [][]atom) int {
	n := max(len(a), len(b))
	for i := 0; i < n; i++ {
		var x, y []atom
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if c := compareComponent(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// Compare returns -1, 0 or +1 as v sorts before, equal to or after w in
// conda's VersionOrder. Equal versions may have different strings
// ("1.1" and "1.1.0").
func (v Version) Compare(w Version) int {
	if c := compareParts(v.parts, w.parts); c != 0 {
		return c
	}
	return compareParts(v.local, w.local)
}

// Equal reports whether v and w are equal in VersionOrder terms.
func (v Version) Equal(w Version) bool { return v.Compare(w) == 0 }

// Less reports whether v sorts before w.
func (v Version) Less(w Version) bool { return v.Compare(w) < 0 }

// StartsWith reports whether v begins with prefix in conda's sense: every
// component of prefix but the last is equal, and the last is equal too, or
// for a string, a prefix of v's. It is what "1.2.*" and "=1.2" test: 1.2.3
// starts with 1.2, 1.20 does not, 1.1a starts with 1.1.
func (v Version) StartsWith(prefix Version) bool {
	t1, t2 := v.parts, prefix.parts
	if len(prefix.local) > 0 {
		if compareParts(v.parts, prefix.parts) != 0 {
			return false
		}
		t1, t2 = v.local, prefix.local
	}
	nt := len(t2) - 1
	if compareParts(headParts(t1, nt), t2[:nt]) != 0 {
		return false
	}
	var v1 []atom
	if len(t1) > nt {
		v1 = t1[nt]
	}
	v2 := t2[nt]
	na := len(v2) - 1
	if compareComponent(headAtoms(v1, na), v2[:na]) != 0 {
		return false
	}
	c1 := zeroAtom
	if len(v1) > na {
		c1 = v1[na]
	}
	c2 := v2[na]
	if c2.kind == kindString {
		return c1.kind == kindString && strings.HasPrefix(c1.str, c2.str)
	}
	return compareAtom(c1, c2) == 0
}

func headParts(p [][]atom, n int) [][]atom {
	if len(p) < n {
		return p
	}
	return p[:n]
}

func headAtoms(p []atom, n int) []atom {
	if len(p) < n {
		return p
	}
	return p[:n]
}

// withoutLastComponent returns v with its last main-version component
// removed (for "~="); ok is false when only one component is left.
func (v Version) withoutLastComponent() (Version, bool) {
	if len(v.parts) <= 2 {
		return Version{}, false
	}
	return Version{raw: v.raw, norm: v.norm, parts: v.parts[:len(v.parts)-1]}, true
}
