package tags

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/envbuild/envbuild/lock/target"
)

// Target is the interpreter and platform wheels are chosen for.
type Target struct {
	// PythonMajor and PythonMinor are the interpreter version: 3, 11.
	PythonMajor, PythonMinor int
	// Implementation is "cpython"; other implementations only get the
	// pure-Python tags (pyXY-none-*), since their ABI tags cannot be known
	// without running them.
	Implementation string
	// Arch is "x86_64" or "aarch64".
	Arch string
	// Libc is "glibc" (manylinux tags) or "musl" (musllinux tags).
	Libc string
	// LibcMajor and LibcMinor are the C library version: 2, 28 for glibc
	// 2.28; 1, 2 for musl 1.2.
	LibcMajor, LibcMinor int
	// FreeThreaded selects the free-threaded build (ABI "cp313t", no abi3).
	FreeThreaded bool
}

func (t Target) String() string {
	ft := ""
	if t.FreeThreaded {
		ft = "t"
	}
	return fmt.Sprintf("%s %d.%d%s linux/%s %s %d.%d", t.Implementation, t.PythonMajor, t.PythonMinor, ft, t.Arch, t.Libc, t.LibcMajor, t.LibcMinor)
}

// legacyManylinux are the pre-PEP 600 aliases and the glibc they stand for.
var legacyManylinux = map[[2]int]string{
	{2, 17}: "manylinux2014",
	{2, 12}: "manylinux2010",
	{2, 5}:  "manylinux1",
}

// lastGlibcMinor is assumed for the last minor release of an older glibc
// major when a target's glibc is 3.x or later (packaging assumes the same),
// so that tags continue across the major boundary.
const lastGlibcMinor = 50

// PlatformTags returns the target's platform tags, best first: for glibc
// manylinux_2_Z for Z from the target's minor down to 17 (down to 5 on
// x86_64), each legacy alias right after the version it stands for; for
// musl musllinux_1_Z from the target's minor down to 0; then linux_ARCH.
func (t Target) PlatformTags() []string {
	var out []string
	switch t.Libc {
	case "glibc":
		oldest := [2]int{2, 17}
		if t.Arch == "x86_64" || t.Arch == "i686" {
			oldest = [2]int{2, 5}
		}
		maxes := [][2]int{{t.LibcMajor, t.LibcMinor}}
		for major := t.LibcMajor - 1; major >= oldest[0]; major-- {
			maxes = append(maxes, [2]int{major, lastGlibcMinor})
		}
		for _, m := range maxes {
			if m[0] < oldest[0] {
				continue
			}
			stop := 0
			if m[0] == oldest[0] {
				stop = oldest[1]
			}
			for minor := m[1]; minor >= stop; minor-- {
				out = append(out, "manylinux_"+strconv.Itoa(m[0])+"_"+strconv.Itoa(minor)+"_"+t.Arch)
				if legacy, ok := legacyManylinux[[2]int{m[0], minor}]; ok {
					out = append(out, legacy+"_"+t.Arch)
				}
			}
		}
	case "musl":
		for minor := t.LibcMinor; minor >= 0; minor-- {
			out = append(out, "musllinux_"+strconv.Itoa(t.LibcMajor)+"_"+strconv.Itoa(minor)+"_"+t.Arch)
		}
	}
	return append(out, "linux_"+t.Arch)
}

// CompatibleTags returns every tag the target accepts, best first, in the
// order packaging.tags.sys_tags() gives on such a machine:
//
//  1. cpXY-cpXY[t]-P for each platform tag P;
//  2. cpXY-abi3-P (not for a free-threaded build);
//  3. cpXY-none-P;
//  4. cpXW-abi3-P for W from Y-1 down to 2 (not free-threaded);
//  5. pyXY-none-P, pyX-none-P, pyXW-none-P for W from Y-1 down to 0;
//  6. cpXY-none-any;
//  7. pyXY-none-any, pyX-none-any, pyXW-none-any for W from Y-1 down to 0.
//
// Steps 1-4 and 6 apply to CPython only. Python 3.7 and older use the
// "cpXYm" ABI.
func (t Target) CompatibleTags() []Tag {
	return CompatibleTags(t)
}

// CompatibleTags is Target.CompatibleTags.
func CompatibleTags(t Target) []Tag {
	plats := t.PlatformTags()
	var out []Tag
	cpython := t.Implementation == "cpython" || t.Implementation == "cp" || t.Implementation == ""
	interp := "cp" + versionNoDot(t.PythonMajor, t.PythonMinor)
	if cpython {
		abi := interp
		switch {
		case t.FreeThreaded:
			abi += "t"
		case t.PythonMajor == 3 && t.PythonMinor < 8 || t.PythonMajor < 3:
			abi += "m"
		}
		for _, p := range plats {
			out = append(out, Tag{interp, abi, p})
		}
		abi3 := !t.FreeThreaded && (t.PythonMajor > 3 || t.PythonMajor == 3 && t.PythonMinor >= 2)
		if abi3 {
			for _, p := range plats {
				out = append(out, Tag{interp, "abi3", p})
			}
		}
		for _, p := range plats {
			out = append(out, Tag{interp, "none", p})
		}
		if abi3 {
			for minor := t.PythonMinor - 1; minor > 1; minor-- {
				older := "cp" + versionNoDot(t.PythonMajor, minor)
				for _, p := range plats {
					out = append(out, Tag{older, "abi3", p})
				}
			}
		}
	}
	pys := t.pyRange()
	for _, py := range pys {
		for _, p := range plats {
			out = append(out, Tag{py, "none", p})
		}
	}
	if cpython {
		out = append(out, Tag{interp, "none", "any"})
	}
	for _, py := range pys {
		out = append(out, Tag{py, "none", "any"})
	}
	return out
}

// pyRange is pyXY, pyX, then pyXW for W from Y-1 down to 0.
func (t Target) pyRange() []string {
	out := []string{"py" + versionNoDot(t.PythonMajor, t.PythonMinor), "py" + strconv.Itoa(t.PythonMajor)}
	for minor := t.PythonMinor - 1; minor >= 0; minor-- {
		out = append(out, "py"+versionNoDot(t.PythonMajor, minor))
	}
	return out
}

var (
	priorityMu    sync.Mutex
	priorityCache = map[Target]map[Tag]int{}
)

// priorities maps each compatible tag to its index in CompatibleTags.
func (t Target) priorities() map[Tag]int {
	priorityMu.Lock()
	defer priorityMu.Unlock()
	if m, ok := priorityCache[t]; ok {
		return m
	}
	tags := CompatibleTags(t)
	m := make(map[Tag]int, len(tags))
	for i, tag := range tags {
		if _, dup := m[tag]; !dup {
			m[tag] = i
		}
	}
	priorityCache[t] = m
	return m
}

// Supports reports whether the target accepts tag.
func (t Target) Supports(tag Tag) bool {
	_, ok := t.priorities()[tag]
	return ok
}

// Rank returns the priority of the wheel's best tag on the target: its
// index in CompatibleTags, lower is better; ok is false when no tag of the
// wheel fits. Wheels of equal rank are told apart by their build tag (the
// higher wins); Best does both.
func (t Target) Rank(w WheelName) (rank int, ok bool) {
	p := t.priorities()
	rank = -1
	for _, tag := range w.Tags {
		if i, found := p[tag]; found && (rank < 0 || i < rank) {
			rank = i
		}
	}
	return rank, rank >= 0
}

// Best returns the index of the wheel pip would install among ws (files of
// one version): the lowest Rank, ties broken by the higher build tag, then
// by the earlier position. ok is false when none fits the target.
func (t Target) Best(ws []WheelName) (best int, ok bool) {
	best, bestRank := -1, 0
	for i, w := range ws {
		r, fits := t.Rank(w)
		if !fits {
			continue
		}
		if best < 0 || r < bestRank || (r == bestRank && CompareBuildTags(w.Build, ws[best].Build) > 0) {
			best, bestRank = i, r
		}
	}
	return best, best >= 0
}

// ForTarget is the tag view of a lock target: its Python major and
// minor (the "t" of a free-threaded build kept apart), implementation
// ("" means cpython), the machine of its platform and its C library's
// kind and major.minor. It is the one way a Target is made.
func ForTarget(tg target.Target) (Target, error) {
	t := Target{FreeThreaded: tg.FreeThreaded}
	parts := strings.Split(strings.TrimSpace(tg.Python), ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Target{}, fmt.Errorf("reading target Python version %q: want X.Y or X.Y.Z, like 3.11", tg.Python)
	}
	var err1, err2 error
	t.PythonMajor, err1 = strconv.Atoi(parts[0])
	t.PythonMinor, err2 = strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || t.PythonMajor < 0 || t.PythonMinor < 0 {
		return Target{}, fmt.Errorf("reading target Python version %q: want X.Y or X.Y.Z, like 3.11", tg.Python)
	}
	t.Implementation = strings.ToLower(strings.TrimSpace(tg.Implementation))
	if t.Implementation == "" {
		t.Implementation = "cpython"
	}
	arch, err := target.Arch(tg.Platform)
	if err != nil {
		return Target{}, fmt.Errorf("reading target platform %q: want linux/amd64 or linux/arm64", tg.Platform)
	}
	t.Arch = arch
	if tg.Libc != "glibc" && tg.Libc != "musl" {
		return Target{}, fmt.Errorf("reading target C library %q: want glibc or musl", tg.Libc)
	}
	t.Libc = tg.Libc
	major, minor, ok := strings.Cut(strings.TrimSpace(tg.LibcVersion), ".")
	t.LibcMajor, err1 = strconv.Atoi(major)
	t.LibcMinor, err2 = strconv.Atoi(minor)
	if !ok || err1 != nil || err2 != nil || t.LibcMajor < 0 || t.LibcMinor < 0 {
		return Target{}, fmt.Errorf("reading target %s version %q: want MAJOR.MINOR, like 2.28", tg.Libc, tg.LibcVersion)
	}
	return t, nil
}
