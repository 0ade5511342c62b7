package pep440

import (
	"fmt"
	"strconv"
	"strings"
)

// Pre-release kinds, in their normalised spelling.
const (
	preNone uint8 = iota
	preAlpha
	preBeta
	preRC
)

var preNames = [...]string{"", "a", "b", "rc"}

// Version is a parsed PEP 440 version. It is an immutable value: no method
// changes it and the slices it returns are copies.
//
// Versions are not comparable with ==: use Compare or Equal ("1.0" and
// "1.0.0" are the same version). The zero Version is "0".
type Version struct {
	epoch   int
	release []int
	preKind uint8
	preNum  int
	post    int
	dev     int
	hasPost bool
	hasDev  bool
	local   []localPart
}

// localPart is one dot-separated segment of a local version label.
type localPart struct {
	num   int
	str   string
	isNum bool
}

// MustParse is Parse for constants in code and tests; it panics on error.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

// maxNumber bounds every numeric component so that successor arithmetic
// (dev N+1, release segment +1) cannot overflow.
const maxNumber = 1<<62 - 1

func parseNumber(s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > maxNumber {
		return 0, fmt.Errorf("%q is too large (at most %d)", s, maxNumber)
	}
	return int(n), nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String returns the normalised form, e.g. "1!2.0rc1.post2.dev3+ubuntu.1".
func (v Version) String() string {
	var b strings.Builder
	if v.epoch != 0 {
		b.WriteString(strconv.Itoa(v.epoch))
		b.WriteByte('!')
	}
	rel := v.rel()
	for i, n := range rel {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
	if v.preKind != preNone {
		b.WriteString(preNames[v.preKind])
		b.WriteString(strconv.Itoa(v.preNum))
	}
	if v.hasPost {
		b.WriteString(".post")
		b.WriteString(strconv.Itoa(v.post))
	}
	if v.hasDev {
		b.WriteString(".dev")
		b.WriteString(strconv.Itoa(v.dev))
	}
	if v.local != nil {
		b.WriteByte('+')
		b.WriteString(v.Local())
	}
	return b.String()
}

// Key returns a string that two versions share exactly when they compare
// equal: the normalised form with trailing zero release segments removed
// ("1.0.0" and "1" both give "1"). Use it for map keys; use String for
// display.
func (v Version) Key() string {
	r := v.rel()
	n := len(r)
	for n > 1 && r[n-1] == 0 {
		n--
	}
	if n == len(r) {
		return v.String()
	}
	v.release = r[:n]
	return v.String()
}

// Major, Minor and Micro return the first three release segments, 0 when
// absent ("3.11" has Micro 0).
func (v Version) Major() int { return v.segment(0) }

// Minor returns the second release segment; see Major.
func (v Version) Minor() int { return v.segment(1) }

// Micro returns the third release segment; see Major.
func (v Version) Micro() int { return v.segment(2) }

func (v Version) segment(i int) int {
	if i < len(v.release) {
		return v.release[i]
	}
	return 0
}

// MarshalText writes the normalised form.
func (v Version) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText parses a version.
func (v *Version) UnmarshalText(b []byte) error {
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

var zeroRelease = []int{0}

func (v Version) rel() []int {
	if len(v.release) == 0 {
		return zeroRelease
	}
	return v.release
}

// Epoch returns the epoch, 0 when none was written.
func (v Version) Epoch() int { return v.epoch }

// Release returns a copy of the release segments, as written (trailing zeros
// are kept: "1.0.0" gives [1 0 0]).
func (v Version) Release() []int { return append([]int(nil), v.rel()...) }

// Pre returns the pre-release kind ("a", "b" or "rc") and number; ok is false
// when v has no pre-release segment.
func (v Version) Pre() (kind string, n int, ok bool) {
	if v.preKind == preNone {
		return "", 0, false
	}
	return preNames[v.preKind], v.preNum, true
}

// Post returns the post-release number; ok is false when there is none.
func (v Version) Post() (n int, ok bool) { return v.post, v.hasPost }

// Dev returns the dev-release number; ok is false when there is none.
func (v Version) Dev() (n int, ok bool) { return v.dev, v.hasDev }

// Local returns the normalised local label without the "+" ("ubuntu.1"), or
// "" when there is none.
func (v Version) Local() string {
	var b strings.Builder
	for i, p := range v.local {
		if i > 0 {
			b.WriteByte('.')
		}
		if p.isNum {
			b.WriteString(strconv.Itoa(p.num))
		} else {
			b.WriteString(p.str)
		}
	}
	return b.String()
}

// IsLocal reports whether v has a local label.
func (v Version) IsLocal() bool { return v.local != nil }

// IsPrerelease reports whether v is a pre-release or a dev release (the
// standard counts both as pre-releases for the selection rule).
func (v Version) IsPrerelease() bool { return v.preKind != preNone || v.hasDev }

// IsDevrelease reports whether v has a dev segment.
func (v Version) IsDevrelease() bool { return v.hasDev }

// IsPostrelease reports whether v has a post segment.
func (v Version) IsPostrelease() bool { return v.hasPost }

// Public returns v without its local label.
func (v Version) Public() Version {
	v.local = nil
	return v
}

// BaseVersion returns the epoch and release only ("1!2.0rc1.post3" gives
// "1!2.0").
func (v Version) BaseVersion() Version {
	return Version{epoch: v.epoch, release: v.release}
}

// Equal reports whether v and o are the same version (Compare == 0).
func (v Version) Equal(o Version) bool { return v.Compare(o) == 0 }

// Less reports whether v sorts before o.
func (v Version) Less(o Version) bool { return v.Compare(o) < 0 }

// Compare returns -1, 0 or +1 as v sorts before, equal to or after o in the
// PEP 440 order: epoch, then release (trailing zeros ignored), then
// dev-of-final < pre-releases < final < post-releases, dev releases before
// their non-dev counterpart, and a local version after its public version
// (local labels compared segment by segment, numbers above strings, a
// shorter label first when it is a prefix).
func (v Version) Compare(o Version) int {
	if c := cmpInt(v.epoch, o.epoch); c != 0 {
		return c
	}
	if c := compareRelease(v.rel(), o.rel()); c != 0 {
		return c
	}
	if c := v.comparePreOnward(o); c != 0 {
		return c
	}
	return compareLocal(v.local, o.local)
}

// comparePreOnward compares the pre, post and dev parts.
func (v Version) comparePreOnward(o Version) int {
	if c := cmpInt(v.preRank(), o.preRank()); c != 0 {
		return c
	}
	if v.preKind != preNone && o.preKind != preNone {
		if c := cmpInt(v.preNum, o.preNum); c != 0 {
			return c
		}
	}
	// post: none sorts first.
	if c := cmpBool(v.hasPost, o.hasPost); c != 0 {
		return c
	}
	if v.hasPost {
		if c := cmpInt(v.post, o.post); c != 0 {
			return c
		}
	}
	// dev: none sorts last.
	if c := cmpBool(!v.hasDev, !o.hasDev); c != 0 {
		return c
	}
	if v.hasDev {
		return cmpInt(v.dev, o.dev)
	}
	return 0
}

// preRank places a version's pre-release part: a dev release of a final
// (no pre, no post) sorts before every pre-release, a final after them.
func (v Version) preRank() int {
	switch {
	case v.preKind != preNone:
		return int(v.preKind)
	case !v.hasPost && v.hasDev:
		return 0
	default:
		return 10
	}
}

func compareRelease(a, b []int) int {
	n := max(len(a), len(b))
	for i := range n {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if c := cmpInt(x, y); c != 0 {
			return c
		}
	}
	return 0
}

func compareLocal(a, b []localPart) int {
	// No local sorts before any local.
	if c := cmpBool(a != nil, b != nil); c != 0 {
		return c
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		switch {
		case x.isNum && y.isNum:
			if c := cmpInt(x.num, y.num); c != 0 {
				return c
			}
		case x.isNum:
			return 1
		case y.isNum:
			return -1
		default:
			if c := strings.Compare(x.str, y.str); c != 0 {
				return c
			}
		}
	}
	return cmpInt(len(a), len(b))
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// successor returns the smallest public version above v and every local
// version of v: the next dev number for a dev release, otherwise the dev0 of
// the next post-release. Nothing but v's local versions lies between v and
// it.
func (v Version) successor() Version {
	s := v.Public()
	switch {
	case v.hasDev:
		s.dev = v.dev + 1
	case v.hasPost:
		s.post, s.hasDev, s.dev = v.post+1, true, 0
	default:
		s.hasPost, s.post, s.hasDev, s.dev = true, 0, true, 0
	}
	return s
}

// releaseDev0 returns epoch!release.dev0, the smallest version of that
// release.
func releaseDev0(epoch int, release []int) Version {
	return Version{epoch: epoch, release: release, hasDev: true}
}

// bumpLast returns a copy of release with its last segment incremented.
func bumpLast(release []int) []int {
	r := append([]int(nil), release...)
	r[len(r)-1]++
	return r
}
