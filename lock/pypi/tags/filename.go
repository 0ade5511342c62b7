package tags

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

	"github.com/envbuild/envbuild/lock/pypi/pep440"
	"github.com/envbuild/envbuild/lock/pypi/pep508"
)

// Tag is one compatibility tag, lower case: "cp311", "abi3",
// "manylinux_2_17_x86_64".
type Tag struct {
	Interpreter, ABI, Platform string
}

// String joins the parts with "-": "cp311-cp311-manylinux_2_17_x86_64".
func (t Tag) String() string { return t.Interpreter + "-" + t.ABI + "-" + t.Platform }

// ParseTag expands a possibly compressed tag set ("py2.py3-none-any") into
// its tags, in the order interpreter × ABI × platform.
func ParseTag(s string) ([]Tag, error) {
	parts := strings.Split(strings.ToLower(s), "-")
	if len(parts) != 3 {
		return nil, fmt.Errorf("parsing compatibility tag %q: want INTERPRETER-ABI-PLATFORM, like py3-none-any", s)
	}
	var out []Tag
	for _, i := range strings.Split(parts[0], ".") {
		for _, a := range strings.Split(parts[1], ".") {
			for _, p := range strings.Split(parts[2], ".") {
				if i == "" || a == "" || p == "" {
					return nil, fmt.Errorf("parsing compatibility tag %q: empty part", s)
				}
				out = append(out, Tag{i, a, p})
			}
		}
	}
	return out, nil
}

// WheelName is what a wheel's file name says.
type WheelName struct {
	// Filename is the file name parsed.
	Filename string
	// Name is the project name, normalised (PEP 503).
	Name string
	// Version is the project version.
	Version pep440.Version
	// Build is the optional build tag ("1", "2b"), "" when absent. It
	// starts with digits; see CompareBuildTags.
	Build string
	// Tags are the expanded compatibility tags. The slice is shared with
	// other WheelNames of the same tag set: do not modify it.
	Tags []Tag
}

// ParseWheelFilename reads
// "{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl", for example
// "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl".
func ParseWheelFilename(fn string) (WheelName, error) {
	stem, ok := strings.CutSuffix(fn, ".whl")
	if !ok {
		return WheelName{}, fmt.Errorf("parsing wheel file name %q: it does not end in .whl", fn)
	}
	parts := strings.Split(stem, "-")
	if len(parts) != 5 && len(parts) != 6 {
		return WheelName{}, fmt.Errorf("parsing wheel file name %q: want NAME-VERSION[-BUILD]-PYTHON-ABI-PLATFORM.whl (5 or 6 dash-separated parts), got %d", fn, len(parts))
	}
	name := parts[0]
	if name == "" || strings.Contains(name, "__") || !validWheelNamePart(name) {
		return WheelName{}, fmt.Errorf("parsing wheel file name %q: invalid project name part %q", fn, name)
	}
	v, err := pep440.Parse(parts[1])
	if err != nil {
		return WheelName{}, fmt.Errorf("parsing wheel file name %q: %w", fn, err)
	}
	w := WheelName{Filename: fn, Name: pep508.NormalizeName(name), Version: v}
	if len(parts) == 6 {
		w.Build = parts[2]
		if w.Build == "" || w.Build[0] < '0' || w.Build[0] > '9' {
			return WheelName{}, fmt.Errorf("parsing wheel file name %q: build tag %q must start with a digit", fn, w.Build)
		}
	}
	n := len(parts)
	tagSet := stem[len(stem)-len(parts[n-3])-len(parts[n-2])-len(parts[n-1])-2:]
	if w.Tags, err = parseTagCached(tagSet); err != nil {
		return WheelName{}, fmt.Errorf("parsing wheel file name %q: %w", fn, err)
	}
	return w, nil
}

// Parsed tag sets by their text: a project page names the same few sets on
// hundreds of files. Bounded, since a process may read many indexes.
var (
	tagSets     sync.Map // string -> []Tag
	tagSetCount atomic.Int32
)

const maxTagSets = 4096

// parseTagCached is ParseTag with the result shared between callers.
func parseTagCached(s string) ([]Tag, error) {
	if ts, ok := tagSets.Load(s); ok {
		return ts.([]Tag), nil
	}
	ts, err := ParseTag(s)
	if err == nil && tagSetCount.Load() < maxTagSets {
		if _, loaded := tagSets.LoadOrStore(strings.Clone(s), ts); !loaded {
			tagSetCount.Add(1)
		}
	}
	return ts, err
}

// validWheelNamePart accepts the escaped name of PEP 427: word characters
// (Unicode letters and digits, "_") and ".", as packaging does.
func validWheelNamePart(s string) bool {
	for _, r := range s {
		ok := unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '.'
		if !ok {
			return false
		}
	}
	return true
}

// CompareBuildTags orders two build tags as pip does: absent first, then by
// the leading number, then by the rest as a string. It returns -1, 0 or +1.
func CompareBuildTags(a, b string) int {
	if a == "" || b == "" {
		switch {
		case a == b:
			return 0
		case a == "":
			return -1
		}
		return 1
	}
	an, ar := splitBuild(a)
	bn, br := splitBuild(b)
	if c := an.Cmp(bn); c != 0 {
		return c
	}
	return strings.Compare(ar, br)
}

// buildNumber compares arbitrarily long digit strings.
type buildNumber string

func (x buildNumber) Cmp(y buildNumber) int {
	xs := strings.TrimLeft(string(x), "0")
	ys := strings.TrimLeft(string(y), "0")
	if len(xs) != len(ys) {
		if len(xs) < len(ys) {
			return -1
		}
		return 1
	}
	return strings.Compare(xs, ys)
}

func splitBuild(s string) (buildNumber, string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return buildNumber(s[:i]), s[i:]
}

// SdistName is what a source distribution's file name says.
type SdistName struct {
	// Filename is the file name parsed.
	Filename string
	// Name is the project name, normalised (PEP 503).
	Name string
	// Version is the project version.
	Version pep440.Version
	// Ext is the archive extension: ".tar.gz" (the standard one), ".zip",
	// or a legacy one (".tar.bz2", ".tar.xz", ".tgz", ".tar").
	Ext string
}

var sdistExts = []string{".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar"}

// ParseSdistFilename reads "{name}-{version}.tar.gz" (or .zip and legacy
// archive extensions), splitting at the last "-" since a normalised version
// has none. Use ParseSdistFilenameFor when the project is known: it also
// reads legacy names whose version holds a dash ("foo-1.0-1.tar.gz").
func ParseSdistFilename(fn string) (SdistName, error) {
	stem, ext, err := sdistStem(fn)
	if err != nil {
		return SdistName{}, err
	}
	i := strings.LastIndexByte(stem, '-')
	if i <= 0 {
		return SdistName{}, fmt.Errorf("parsing source distribution file name %q: want NAME-VERSION%s", fn, ext)
	}
	v, err := pep440.Parse(stem[i+1:])
	if err != nil {
		return SdistName{}, fmt.Errorf("parsing source distribution file name %q: %w", fn, err)
	}
	if !pep508.ValidName(stem[:i]) {
		return SdistName{}, fmt.Errorf("parsing source distribution file name %q: invalid project name %q", fn, stem[:i])
	}
	return SdistName{Filename: fn, Name: pep508.NormalizeName(stem[:i]), Version: v, Ext: ext}, nil
}

// ParseSdistFilenameFor reads a source distribution file name of the given
// project: the name part must normalise to the project's name, and the rest
// must be a version.
func ParseSdistFilenameFor(fn, project string) (SdistName, error) {
	stem, ext, err := sdistStem(fn)
	if err != nil {
		return SdistName{}, err
	}
	want := pep508.NormalizeName(project)
	for i := 0; i < len(stem); i++ {
		if stem[i] != '-' || pep508.NormalizeName(stem[:i]) != want {
			continue
		}
		v, err := pep440.Parse(stem[i+1:])
		if err != nil {
			return SdistName{}, fmt.Errorf("parsing source distribution file name %q of %q: %w", fn, project, err)
		}
		return SdistName{Filename: fn, Name: want, Version: v, Ext: ext}, nil
	}
	return SdistName{}, fmt.Errorf("parsing source distribution file name %q: it does not start with the project name %q and a dash", fn, project)
}

func sdistStem(fn string) (stem, ext string, err error) {
	lower := strings.ToLower(fn)
	for _, e := range sdistExts {
		if strings.HasSuffix(lower, e) {
			return fn[:len(fn)-len(e)], e, nil
		}
	}
	return "", "", fmt.Errorf("parsing source distribution file name %q: want a .tar.gz or .zip archive", fn)
}

// versionNoDot renders a Python version as tags do: 3, 11 gives "311".
func versionNoDot(major, minor int) string {
	return strconv.Itoa(major) + strconv.Itoa(minor)
}
