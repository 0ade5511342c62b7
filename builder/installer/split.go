package installer

import (
	"fmt"
	"sort"
	"strings"

	"github.com/envbuild/envbuild/builder/installstep"
)

// A big wheel (torch's is 900 MB) can be installed as several layers, its
// parts, so that BuildKit compresses and pushes them side by side instead
// of one long layer finishing alone at the end of a build. Each part is an
// install step of its own on the same wheel (WheelOptions.Part of
// WheelOptions.Parts), and the parts' layers merged are byte for byte the
// wheel installed whole:
//
//   - the large data files (SplitMinSize or more, not a script, not a .py
//     file, not in .dist-info, with a sha256 in the wheel's RECORD) are
//     dealt to the parts, largest first, each to the part holding the
//     fewest bytes so far; part 0 starts with every other file;
//   - part 0 writes everything but the files dealt elsewhere, and the
//     whole RECORD: the rows of the moved files come from the wheel's own
//     RECORD (their sha256 and size), which each other part checks the
//     bytes it writes against;
//   - the other parts write only their files: no RECORD, INSTALLER or
//     entry points, so no .dist-info directory, and nothing to compile.
//
// The deal depends on the wheel's entries only, so every part's step
// computes the same one. A part dealt no file (a wheel of few large files)
// still holds the site-packages directory, so that its layer is not empty.

// SplitMinSize is the smallest file moved out of part 0.
const SplitMinSize = 1 << 20

// movable reports whether wf may go in a part other than 0.
func movable(wf wheelFile, distInfo string) bool {
	if wf.script || wf.want == nil || wf.want.algo != "sha256" {
		return false
	}
	if wf.zf.UncompressedSize64 < SplitMinSize || strings.HasSuffix(wf.dest, ".py") {
		return false
	}
	return !strings.Contains(wf.dest, "/"+distInfo+"/")
}

// assignParts deals files to parts (see above) and returns the part of
// each file, by index.
func assignParts(files []wheelFile, parts int, distInfo string) []int {
	out := make([]int, len(files))
	load := make([]uint64, parts)
	var moving []int
	for i, wf := range files {
		if parts > 1 && movable(wf, distInfo) {
			moving = append(moving, i)
			continue
		}
		load[0] += wf.zf.UncompressedSize64
	}
	sort.SliceStable(moving, func(a, b int) bool {
		fa, fb := files[moving[a]], files[moving[b]]
		if fa.zf.UncompressedSize64 != fb.zf.UncompressedSize64 {
			return fa.zf.UncompressedSize64 > fb.zf.UncompressedSize64
		}
		return fa.dest < fb.dest
	})
	for _, i := range moving {
		least := 0
		for p := 1; p < parts; p++ {
			if load[p] < load[least] {
				least = p
			}
		}
		out[i] = least
		load[least] += files[i].zf.UncompressedSize64
	}
	return out
}

// checkPart checks WheelOptions' Part and Parts (installstep.ValidPart).
func checkPart(part, parts int) error {
	if !installstep.ValidPart(part, parts) {
		return fmt.Errorf("part %d of %d: want 0 <= part < parts <= %d", part, parts, installstep.MaxParts)
	}
	return nil
}
