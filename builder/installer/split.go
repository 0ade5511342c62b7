package installer

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
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

// PartFile is one file of a part other than 0 of a big wheel: what that
// part's layer holds besides directories, however the layer is made.
type PartFile struct {
	// Dest is the file's absolute path in the image.
	Dest string
	// Mode is its permission bits (0644, or 0755 for an executable entry).
	Mode os.FileMode
	// Entry is the wheel's zip entry, whose bytes the file is.
	Entry *zip.File
	// SHA256 is the file's digest in the wheel's RECORD.
	SHA256 []byte
}

// PartFiles lists, in the wheel's order, the files that part opt.Part (1
// or more) of opt.Parts of the wheel in data writes, and the site-packages
// directory every part holds: a layer made of exactly these is the layer
// InstallWheel writes for that part. The wheel's sha256 is not checked
// here (opt.SHA256 is ignored): the caller has checked data.
func PartFiles(src string, data []byte, opt WheelOptions) ([]PartFile, string, error) {
	py, err := parsePython(opt.Python, opt.FreeThreaded)
	if err != nil {
		return nil, "", err
	}
	if err := checkPart(opt.Part, opt.Parts); err != nil {
		return nil, "", err
	}
	if opt.Part == 0 {
		return nil, "", fmt.Errorf("part 0 of a wheel writes its .dist-info and compiles bytecode: only the installer makes it")
	}
	ws, err := scanWheel(src, data, py)
	if err != nil {
		return nil, "", fmt.Errorf("reading wheel %s: %w", filepath.Base(src), err)
	}
	var out []PartFile
	for i, p := range assignParts(ws.files, opt.Parts, ws.distInfo) {
		if p != opt.Part {
			continue
		}
		wf := ws.files[i]
		out = append(out, PartFile{Dest: wf.dest, Mode: wf.mode, Entry: wf.zf, SHA256: bytes.Clone(wf.want.digest)})
	}
	return out, ws.site, nil
}
