package pep440

import (
	"fmt"
	"strings"
)

// Parse reads a version in any spelling PEP 440 normalises: surrounding
// whitespace, a leading "v", any letter case, "-", "_" or "." (or nothing)
// between segments, "alpha"/"beta"/"c"/"pre"/"preview" for pre-releases,
// "rev"/"r" or a bare "-N" for post-releases, missing numbers meaning 0, and
// "-"/"_" in local labels.
//
// It is a hand-written reading of the standard's regular expression (the
// tests check the two agree on every input the fuzzer finds), several
// times faster than the expression, since an index page holds thousands of
// versions.
func Parse(s string) (Version, error) {
	p := versionParser{s: strings.TrimSpace(s)}
	v, ok := p.parse()
	if !ok {
		if p.err != nil {
			return Version{}, fmt.Errorf("parsing version %q: %w", s, p.err)
		}
		return Version{}, fmt.Errorf("parsing version %q: not a PEP 440 version (want something like 1.2.3, 2.0rc1, 1.0.post1, 1!2.0 or 1.0+local)", s)
	}
	return v, nil
}

type versionParser struct {
	s   string
	i   int
	err error // a number out of range
}

func (p *versionParser) parse() (Version, bool) {
	var v Version
	s := p.s
	if p.peekLower() == 'v' {
		p.i++
	}
	n, ok := p.number()
	if !ok {
		return v, false
	}
	if p.i < len(s) && s[p.i] == '!' {
		p.i++
		v.epoch = n
		if n, ok = p.number(); !ok {
			return v, false
		}
	}
	v.release = append(make([]int, 0, 4), n)
	for p.i+1 < len(s) && s[p.i] == '.' && isDigit(s[p.i+1]) {
		p.i++
		n, _ = p.number()
		v.release = append(v.release, n)
	}

	// Pre-release: [sep] word [sep] [N].
	save := p.i
	p.sep()
	if kind := p.preWord(); kind != preNone {
		v.preKind = kind
		p.sep()
		v.preNum, _ = p.optNumber()
	} else {
		p.i = save
	}

	// Post-release: "-N", or [sep] word [sep] [N].
	save = p.i
	if p.i+1 < len(s) && s[p.i] == '-' && isDigit(s[p.i+1]) {
		p.i++
		v.hasPost = true
		v.post, _ = p.number()
	} else {
		p.sep()
		if p.word("post") || p.word("rev") || p.word("r") {
			v.hasPost = true
			p.sep()
			v.post, _ = p.optNumber()
		} else {
			p.i = save
		}
	}

	// Dev release: [sep] "dev" [sep] [N].
	save = p.i
	p.sep()
	if p.word("dev") {
		v.hasDev = true
		p.sep()
		v.dev, _ = p.optNumber()
	} else {
		p.i = save
	}

	// Local label: "+" alnum+ ([sep] alnum+)*.
	if p.i < len(s) && s[p.i] == '+' {
		p.i++
		start := p.i
		for {
			segStart := p.i
			for p.i < len(s) && isAlnumASCII(s[p.i]) {
				p.i++
			}
			if p.i == segStart {
				return v, false
			}
			if p.i+1 < len(s) && isSep(s[p.i]) && isAlnumASCII(s[p.i+1]) {
				p.i++
				continue
			}
			break
		}
		v.local = parseLocal(s[start:p.i], &p.err)
	}
	if p.err != nil || p.i != len(s) {
		return v, false
	}
	return v, true
}

// parseLocal splits a validated local label into segments.
func parseLocal(label string, errp *error) []localPart {
	segs := strings.FieldsFunc(label, func(r rune) bool { return r == '-' || r == '_' || r == '.' })
	out := make([]localPart, len(segs))
	for i, seg := range segs {
		if isDigits(seg) {
			n, err := parseNumber(seg)
			if err != nil && *errp == nil {
				*errp = fmt.Errorf("local segment %w", err)
			}
			out[i] = localPart{num: n, isNum: true}
		} else {
			out[i] = localPart{str: strings.ToLower(seg)}
		}
	}
	return out
}

func (p *versionParser) peekLower() byte {
	if p.i >= len(p.s) {
		return 0
	}
	return lower(p.s[p.i])
}

// number reads one or more digits.
func (p *versionParser) number() (int, bool) {
	start := p.i
	for p.i < len(p.s) && isDigit(p.s[p.i]) {
		p.i++
	}
	if p.i == start {
		return 0, false
	}
	n, err := parseNumber(p.s[start:p.i])
	if err != nil && p.err == nil {
		p.err = err
	}
	return n, true
}

// optNumber reads digits if there are any; a missing number is 0.
func (p *versionParser) optNumber() (int, bool) {
	if p.i < len(p.s) && isDigit(p.s[p.i]) {
		return p.number()
	}
	return 0, false
}

// sep skips one optional separator.
func (p *versionParser) sep() {
	if p.i < len(p.s) && isSep(p.s[p.i]) {
		p.i++
	}
}

// word consumes w (lower case) if it comes next, in any case.
func (p *versionParser) word(w string) bool {
	if len(p.s)-p.i < len(w) {
		return false
	}
	for j := 0; j < len(w); j++ {
		if lower(p.s[p.i+j]) != w[j] {
			return false
		}
	}
	p.i += len(w)
	return true
}

// preWord reads a pre-release word, trying the longer spellings first as
// the standard's expression does.
func (p *versionParser) preWord() uint8 {
	switch {
	case p.word("alpha"), p.word("a"):
		return preAlpha
	case p.word("beta"), p.word("b"):
		return preBeta
	case p.word("preview"), p.word("pre"), p.word("c"), p.word("rc"):
		return preRC
	}
	return preNone
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isSep(c byte) bool { return c == '-' || c == '_' || c == '.' }

func isAlnumASCII(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
