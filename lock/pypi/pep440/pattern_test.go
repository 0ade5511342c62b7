package pep440

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// The standard's regular expression, kept as an oracle for the
// hand-written parser: FuzzParseAgainstPattern checks that both accept the
// same strings and read them the same way.

// versionPattern is the standard's regular expression for a version, as
// given in the "Version specifiers" specification (appendix "Parsing version
// strings with regular expressions"), anchored and case-insensitive.
var versionPattern = regexp.MustCompile(`(?i)^\s*v?` +
	`(?:(?P<epoch>[0-9]+)!)?` +
	`(?P<release>[0-9]+(?:\.[0-9]+)*)` +
	`(?P<pre>[-_\.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_\.]?(?P<pre_n>[0-9]+)?)?` +
	`(?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_\.]?(?P<post_l>post|rev|r)[-_\.]?(?P<post_n2>[0-9]+)?))?` +
	`(?P<dev>[-_\.]?(?P<dev_l>dev)[-_\.]?(?P<dev_n>[0-9]+)?)?` +
	`(?:\+(?P<local>[a-z0-9]+(?:[-_\.][a-z0-9]+)*))?` +
	`\s*$`)

var (
	gEpoch   = versionPattern.SubexpIndex("epoch")
	gRelease = versionPattern.SubexpIndex("release")
	gPre     = versionPattern.SubexpIndex("pre")
	gPreL    = versionPattern.SubexpIndex("pre_l")
	gPreN    = versionPattern.SubexpIndex("pre_n")
	gPost    = versionPattern.SubexpIndex("post")
	gPostN1  = versionPattern.SubexpIndex("post_n1")
	gPostN2  = versionPattern.SubexpIndex("post_n2")
	gDev     = versionPattern.SubexpIndex("dev")
	gDevN    = versionPattern.SubexpIndex("dev_n")
	gLocal   = versionPattern.SubexpIndex("local")
)

// Parse reads a version in any spelling PEP 440 normalises.
func parseWithPattern(s string) (Version, error) {
	in := s
	s = strings.TrimSpace(s)
	m := versionPattern.FindStringSubmatchIndex(s)
	if m == nil || !isASCII(s) {
		return Version{}, fmt.Errorf("parsing version %q: not a PEP 440 version (want something like 1.2.3, 2.0rc1, 1.0.post1, 1!2.0 or 1.0+local)", in)
	}
	group := func(i int) (string, bool) {
		if m[2*i] < 0 {
			return "", false
		}
		return s[m[2*i]:m[2*i+1]], true
	}
	var v Version
	var err error
	num := func(text, what string) int {
		if err != nil {
			return 0
		}
		var n int
		n, err = parseNumber(text)
		if err != nil {
			err = fmt.Errorf("parsing version %q: %s %w", in, what, err)
		}
		return n
	}
	if e, ok := group(gEpoch); ok {
		v.epoch = num(e, "epoch")
	}
	rel, _ := group(gRelease)
	parts := strings.Split(rel, ".")
	v.release = make([]int, len(parts))
	for i, p := range parts {
		v.release[i] = num(p, "release segment")
	}
	if _, ok := group(gPre); ok {
		l, _ := group(gPreL)
		switch strings.ToLower(l) {
		case "a", "alpha":
			v.preKind = preAlpha
		case "b", "beta":
			v.preKind = preBeta
		default: // c, rc, pre, preview
			v.preKind = preRC
		}
		if n, ok := group(gPreN); ok {
			v.preNum = num(n, "pre-release number")
		}
	}
	if _, ok := group(gPost); ok {
		v.hasPost = true
		if n, ok := group(gPostN1); ok {
			v.post = num(n, "post-release number")
		} else if n, ok := group(gPostN2); ok {
			v.post = num(n, "post-release number")
		}
	}
	if _, ok := group(gDev); ok {
		v.hasDev = true
		if n, ok := group(gDevN); ok {
			v.dev = num(n, "dev-release number")
		}
	}
	if l, ok := group(gLocal); ok {
		segs := strings.FieldsFunc(strings.ToLower(l), func(r rune) bool { return r == '-' || r == '_' || r == '.' })
		v.local = make([]localPart, len(segs))
		for i, seg := range segs {
			if isDigits(seg) {
				v.local[i] = localPart{num: num(seg, "local segment"), isNum: true}
			} else {
				v.local[i] = localPart{str: seg}
			}
		}
	}
	if err != nil {
		return Version{}, err
	}
	return v, nil
}

func TestParseAgreesWithPattern(t *testing.T) {
	for _, s := range parseCorpus() {
		checkAgainstPattern(t, s)
	}
}

func FuzzParseAgainstPattern(f *testing.F) {
	for _, s := range parseCorpus() {
		f.Add(s)
	}
	f.Fuzz(checkAgainstPattern)
}

func checkAgainstPattern(t *testing.T, s string) {
	got, gotErr := Parse(s)
	want, wantErr := parseWithPattern(s)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("Parse(%q) error %v, pattern error %v", s, gotErr, wantErr)
	}
	if gotErr == nil && (got.String() != want.String() || got.Compare(want) != 0) {
		t.Fatalf("Parse(%q) = %s, pattern gives %s", s, got, want)
	}
}

func parseCorpus() []string {
	out := append([]string(nil), orderedVersions...)
	for _, tc := range specifierCases {
		out = append(out, tc.v)
	}
	out = append(out, "1.0a-1", "1.0a.", "1.0a-", "1.0a.post1", "1.0a..post", "1.0post-", "1.0.post.dev1",
		"1.0.post.+x", "1.0r", "1.0rev", "1.0rc", "1.0prev", "1.0alph", "1.0-", "1.0--1", "1.0-_1", "v", "V1", "vv1",
		"1!", "!1", "1!2!3", "1.0+", "1.0+a..b", "1.0+-a", "1.0+a-", "1.0 ", " 1.0", "1. 0", "1.0\v", "1.0\u00a0",
		"01.02.03", "1.0dev", "1.0-dev-1", "1.0_dev_1", "1.0.dev.1", "1.0a1.post-1", "1.0-1-1", "1.0-1.dev1",
		"1.0-1+x", "1.0ALPHA1", "1.0PreView_2", "1.0.POST", "1.0.r-1", "1.0c", "1.0C.1", "1.0+ABC", "1.0+1_2-3.4",
		"999999999999999999.0", "9999999999999999999.0", "4611686018427387903", "4611686018427387904", "",
		"1.0.", ".1", "1..0", "1.0a1a", "1.0.post1.post2", "1.0dev1dev2", "1.0+x+y", "٠١", "1.0+\u212a")
	return out
}

// isASCII guards the case-insensitive pattern, which would otherwise let
// Unicode letters that fold to ASCII (the Kelvin sign, dotted capital I)
// through.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// TestParseAgreesWithPatternOnTokenSoup builds strings from the pieces of
// the grammar (numbers, separators, the pre/post/dev words in both cases)
// so that the tricky sequences come up far more often than from bytes.
func TestParseAgreesWithPatternOnTokenSoup(t *testing.T) {
	tokens := []string{"0", "1", "12", "007", ".", "-", "_", "!", "+", "v", "V", "a", "A", "alpha", "b", "beta", "BETA",
		"c", "rc", "RC", "pre", "preview", "post", "POST", "rev", "r", "dev", "DEV", "x", "local", " ", ".."}
	rng := rand.New(rand.NewPCG(7, 11))
	valid := 0
	for range 50000 {
		var b strings.Builder
		if rng.IntN(4) != 0 {
			b.WriteString(tokens[rng.IntN(3)])
		}
		for range 1 + rng.IntN(8) {
			b.WriteString(tokens[rng.IntN(len(tokens))])
		}
		s := b.String()
		checkAgainstPattern(t, s)
		if _, err := Parse(s); err == nil {
			valid++
		}
	}
	if valid < 1000 {
		t.Fatalf("only %d of the generated strings were versions; the generator is too weak", valid)
	}
}
