package installer

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/envbuild/envbuild/builder/layout"
	"github.com/envbuild/envbuild/internal/mapfile"
)

// WheelOptions say how to install a wheel.
type WheelOptions struct {
	// Python is the environment's Python as MAJOR.MINOR ("3.11"); it
	// chooses the site-packages directory. Required.
	Python string
	// FreeThreaded selects the free-threaded build's site-packages
	// (python3.13t). Default false.
	FreeThreaded bool
	// SHA256 is the expected hex digest of the wheel file; empty skips the
	// check.
	SHA256 string
	// Workers is how many files are written at once. Default 4.
	Workers int
	// Part of Parts installs one part of a big wheel (see split.go): 0 of
	// 0, the default, installs it whole.
	Part, Parts int
}

// WheelResult describes an installed wheel.
type WheelResult struct {
	Name     string // the distribution name as the .dist-info directory spells it
	Version  string
	DistInfo string // on-image path of the .dist-info directory; "" for a part other than 0
	Files    int    // files written, RECORD and INSTALLER included
}

// wheelFile is one zip entry to install.
type wheelFile struct {
	zf     *zip.File
	dest   string // on-image path
	mode   os.FileMode
	script bool // rewrite a "#!python" first line
	want   *wantHash
}

// InstallWheel installs the wheel at src under root (see the package
// documentation for where each part goes) and normalizes root.
func InstallWheel(src, root string, opt WheelOptions) (*WheelResult, error) {
	res, err := installWheel(src, root, opt)
	if err != nil {
		return nil, fmt.Errorf("installing wheel %q: %w", filepath.Base(src), err)
	}
	return res, nil
}

func installWheel(src, root string, opt WheelOptions) (*WheelResult, error) {
	py, err := parsePython(opt.Python, opt.FreeThreaded)
	if err != nil {
		return nil, err
	}
	if err := checkPart(opt.Part, opt.Parts); err != nil {
		return nil, err
	}
	t, err := newTree(root)
	if err != nil {
		return nil, err
	}
	// The wheel is mapped once and everything is read from memory: its
	// sha256, the zip directory, every entry (see OpenEntry).
	m, err := mapfile.Open(src)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	data := m.Data
	if opt.SHA256 != "" {
		if err := verifySHA256(src, data, opt.SHA256); err != nil {
			return nil, err
		}
	}
	ws, err := scanWheel(src, data, py)
	if err != nil {
		return nil, err
	}
	files, distInfo, site, name, version, entryPoints, dests := ws.files, ws.distInfo, ws.site, ws.name, ws.version, ws.entryPoints, ws.dests

	// A part of a big wheel (split.go) writes only the files dealt to it;
	// part 0 keeps the rest for RECORD.
	var moved []wheelFile
	if opt.Parts > 1 {
		part := assignParts(files, opt.Parts, distInfo)
		var kept []wheelFile
		for i, wf := range files {
			switch {
			case part[i] == opt.Part:
				kept = append(kept, wf)
			case opt.Part == 0:
				moved = append(moved, wf)
			}
		}
		files = kept
	}
	rows, err := writeWheelFiles(t, files, opt.Workers, site, data)
	if err != nil {
		return nil, err
	}
	distDir := site + "/" + distInfo
	if opt.Part > 0 {
		// The site-packages directory keeps the layer from being empty
		// when no file was dealt to this part.
		if err := t.mkdirAll(site); err != nil {
			return nil, err
		}
		if err := Normalize(root); err != nil {
			return nil, err
		}
		return &WheelResult{Name: name, Version: version, Files: len(rows)}, nil
	}
	// The files other parts write are in RECORD as the wheel's RECORD has
	// them: movable files are neither scripts nor hashed otherwise, so
	// their bytes are the wheel's, which those parts check.
	for _, wf := range moved {
		rows = append(rows, recordRow{path: relTo(site, wf.dest), hash: recordHash(wf.want.digest), size: int64(wf.zf.UncompressedSize64)})
	}
	// Entry points replace scripts of the same name, as pip does.
	for _, ep := range entryPoints {
		dest := layout.BinDir + "/" + ep.name
		if _, dup := dests[dest]; dup {
			if err := os.Remove(t.host(dest)); err != nil {
				return nil, fmt.Errorf("replacing script %q by an entry point: %w", dest, err)
			}
			rel := relTo(site, dest)
			kept := rows[:0]
			for _, r := range rows {
				if r.path != rel {
					kept = append(kept, r)
				}
			}
			rows = kept
		}
		dests[dest] = "entry point " + ep.name
		body := ep.script()
		if err := t.writeBytes(dest, modeExec, body); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		rows = append(rows, recordRow{path: relTo(site, dest), hash: recordHash(sum[:]), size: int64(len(body))})
	}

	installer := []byte("envbuild\n")
	if err := t.writeBytes(distDir+"/INSTALLER", modeFile, installer); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(installer)
	rows = append(rows,
		recordRow{path: distInfo + "/INSTALLER", hash: recordHash(sum[:]), size: int64(len(installer))},
		recordRow{path: distInfo + "/RECORD", size: -1},
	)
	record, err := writeRecord(rows)
	if err != nil {
		return nil, fmt.Errorf("writing RECORD: %w", err)
	}
	if err := t.writeBytes(distDir+"/RECORD", modeFile, record); err != nil {
		return nil, err
	}
	if err := Normalize(root); err != nil {
		return nil, err
	}
	return &WheelResult{Name: name, Version: version, DistInfo: distDir, Files: len(rows)}, nil
}

// wheelScan is what scanWheel reads of a wheel.
type wheelScan struct {
	name, version string
	distInfo      string // NAME-VERSION.dist-info
	site          string // the site-packages directory
	files         []wheelFile
	dests         map[string]string // on-image path -> the entry installed there
	entryPoints   []entryPoint
}

// scanWheel reads the wheel in data (the file src): its .dist-info, WHEEL,
// RECORD and entry points, and where each entry goes.
func scanWheel(src string, data []byte, py pyVersion) (*wheelScan, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("reading the zip archive: %w; the file is truncated or not a wheel", err)
	}

	// Find the one .dist-info directory.
	names := make([]string, len(zr.File))
	distInfos := map[string]bool{}
	for i, zf := range zr.File {
		if zf.Mode().IsDir() {
			// Directory entries carry nothing: directories are made as
			// parents of files.
			if _, err := cleanEntry(zf.Name); err != nil {
				return nil, err
			}
			continue
		}
		name, err := cleanEntry(zf.Name)
		if err != nil {
			return nil, err
		}
		names[i] = name
		if top, _, ok := strings.Cut(name, "/"); ok && strings.HasSuffix(top, ".dist-info") {
			distInfos[top] = true
		}
	}
	if len(distInfos) != 1 {
		found := make([]string, 0, len(distInfos))
		for d := range distInfos {
			found = append(found, d)
		}
		sort.Strings(found)
		return nil, fmt.Errorf("a wheel has exactly one top-level .dist-info directory, this one has %d %q", len(found), found)
	}
	var distInfo string
	for d := range distInfos {
		distInfo = d
	}
	stem := strings.TrimSuffix(distInfo, ".dist-info")
	i := strings.LastIndexByte(stem, '-')
	if i <= 0 || i == len(stem)-1 {
		return nil, fmt.Errorf("directory %q is not NAME-VERSION.dist-info", distInfo)
	}
	name, version := stem[:i], stem[i+1:]
	// A source named like a wheel (NAME-VERSION[-BUILD]-PY-ABI-PLATFORM.whl)
	// must hold that project.
	if parts := strings.Split(strings.TrimSuffix(filepath.Base(src), ".whl"), "-"); strings.HasSuffix(src, ".whl") && (len(parts) == 5 || len(parts) == 6) {
		if normalizeName(parts[0]) != normalizeName(name) {
			return nil, fmt.Errorf("the file name says %q but the wheel holds %q", parts[0], distInfo)
		}
	}
	dataDir := stem + ".data"

	byName := map[string]*zip.File{}
	for i, zf := range zr.File {
		if names[i] != "" {
			byName[names[i]] = zf
		}
	}
	readMeta := func(file string, required bool) ([]byte, error) {
		zf := byName[distInfo+"/"+file]
		if zf == nil {
			if required {
				return nil, fmt.Errorf("%s/%s is missing; the wheel is incomplete", distInfo, file)
			}
			return nil, nil
		}
		rc, err := OpenEntry(zf, data)
		if err != nil {
			return nil, fmt.Errorf("reading %s/%s: %w", distInfo, file, err)
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, 64<<20))
		if err != nil {
			return nil, fmt.Errorf("reading %s/%s: %w", distInfo, file, err)
		}
		return b, nil
	}
	wheelMeta, err := readMeta("WHEEL", true)
	if err != nil {
		return nil, err
	}
	purelib, err := checkWheelMeta(wheelMeta)
	if err != nil {
		return nil, fmt.Errorf("reading %s/WHEEL: %w", distInfo, err)
	}
	recordData, err := readMeta("RECORD", true)
	if err != nil {
		return nil, err
	}
	want, err := readRecord(recordData)
	if err != nil {
		return nil, fmt.Errorf("reading %s/RECORD: %w", distInfo, err)
	}
	epData, err := readMeta("entry_points.txt", false)
	if err != nil {
		return nil, err
	}
	entryPoints, err := parseEntryPointsINI(epData, "console_scripts", "gui_scripts")
	if err != nil {
		return nil, fmt.Errorf("reading %s/entry_points.txt: %w", distInfo, err)
	}

	site := py.sitePackages()
	schemes := map[string]string{
		"purelib": site,
		"platlib": site,
		"scripts": layout.BinDir,
		"headers": layout.Include(name),
		"data":    layout.DataDir,
	}
	// Root-Is-Purelib says whether the root files are purelib or platlib
	// (here both are the environment's one site-packages directory).
	rootLib := schemes["platlib"]
	if purelib {
		rootLib = schemes["purelib"]
	}
	skip := map[string]bool{distInfo + "/RECORD": true, distInfo + "/INSTALLER": true}

	var files []wheelFile
	dests := map[string]string{}
	for i, zf := range zr.File {
		entry := names[i]
		if entry == "" || skip[entry] {
			continue
		}
		m := zf.Mode()
		if m&fs.ModeSymlink != 0 {
			return nil, fmt.Errorf("entry %q is a symlink; wheels hold regular files only", zf.Name)
		}
		if !m.IsRegular() {
			return nil, fmt.Errorf("entry %q is not a regular file (mode %s)", zf.Name, m)
		}
		wf := wheelFile{zf: zf, mode: modeFile}
		if m&0o111 != 0 {
			wf.mode = modeExec
		}
		if rest, ok := strings.CutPrefix(entry, dataDir+"/"); ok {
			scheme, sub, ok := strings.Cut(rest, "/")
			dir, known := schemes[scheme]
			if !ok || !known {
				return nil, fmt.Errorf("entry %q is in unknown scheme %q of %s; known: data, headers, platlib, purelib, scripts", zf.Name, scheme, dataDir)
			}
			wf.dest = dir + "/" + sub
			if scheme == "scripts" {
				wf.script, wf.mode = true, modeExec
			}
		} else {
			wf.dest = rootLib + "/" + entry
		}
		if prev, dup := dests[wf.dest]; dup {
			return nil, fmt.Errorf("entries %q and %q both install to %q", prev, zf.Name, wf.dest)
		}
		dests[wf.dest] = zf.Name
		if h, ok := want[entry]; ok {
			wf.want = &h
		}
		files = append(files, wf)
	}

	return &wheelScan{name: name, version: version, distInfo: distInfo, site: site, files: files, dests: dests, entryPoints: entryPoints}, nil
}

// checkWheelMeta reads the WHEEL file: Wheel-Version must be 1.x; it returns
// Root-Is-Purelib.
func checkWheelMeta(data []byte) (bool, error) {
	var version, purelib string
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "wheel-version":
			version = strings.TrimSpace(v)
		case "root-is-purelib":
			purelib = strings.ToLower(strings.TrimSpace(v))
		}
	}
	if version == "" {
		return false, errors.New("no Wheel-Version")
	}
	major, _, _ := strings.Cut(version, ".")
	if major != "1" {
		return false, fmt.Errorf("Wheel-Version %q is not supported; this installer reads version 1 wheels", version)
	}
	return purelib == "true", nil
}

// writeWheelFiles writes the files with a few workers and returns their
// RECORD rows, paths relative to site.
func writeWheelFiles(t *tree, files []wheelFile, workers int, site string, data []byte) ([]recordRow, error) {
	if workers <= 0 {
		workers = 4
	}
	// Biggest first, so that one large file does not finish last alone.
	order := make([]int, len(files))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return files[order[a]].zf.UncompressedSize64 > files[order[b]].zf.UncompressedSize64
	})
	rows := make([]recordRow, len(files))
	errs := make([]error, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	var failed sync.Once
	stop := make(chan struct{})
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				row, err := writeWheelFile(t, files[i], site, data)
				rows[i], errs[i] = row, err
				if err != nil {
					failed.Do(func() { close(stop) })
				}
			}
		}()
	}
feed:
	for _, i := range order {
		select {
		case next <- i:
		case <-stop:
			break feed
		}
	}
	close(next)
	wg.Wait()
	for _, i := range order {
		if errs[i] != nil {
			return nil, errs[i]
		}
	}
	return rows, nil
}

func writeWheelFile(t *tree, wf wheelFile, site string, data []byte) (recordRow, error) {
	rc, err := OpenEntry(wf.zf, data)
	if err != nil {
		return recordRow{}, fmt.Errorf("reading entry %q: %w", wf.zf.Name, err)
	}
	defer rc.Close()
	// check hashes the bytes written; verify the bytes of the wheel, for
	// RECORD. They are one hash unless a script's first line is rewritten or
	// RECORD uses another algorithm.
	check := sha256.New()
	var verify hash.Hash
	var r io.Reader = rc
	if wf.want != nil {
		if wf.want.algo == "sha256" && !wf.script {
			verify = check
		} else {
			verify = wf.want.new()
			r = io.TeeReader(rc, verify)
		}
	}
	if wf.script {
		br := bufio.NewReader(r)
		r = br
		first, err := br.Peek(len("#!python"))
		if err != nil && err != io.EOF {
			return recordRow{}, fmt.Errorf("reading entry %q: %w", wf.zf.Name, err)
		}
		if bytes.Equal(first, []byte("#!python")) {
			line, err := br.ReadString('\n')
			if err != nil && err != io.EOF {
				return recordRow{}, fmt.Errorf("reading entry %q: %w", wf.zf.Name, err)
			}
			// "#!pythonw" is for GUI scripts on Windows; here it is python.
			rest := strings.TrimPrefix(strings.TrimPrefix(line, "#!python"), "w")
			r = io.MultiReader(strings.NewReader("#!"+layout.Python+rest), br)
		}
	}
	size, err := t.writeFile(wf.dest, wf.mode, r, check)
	if err != nil {
		// A bad checksum, length or compressed stream shows up here.
		var se *sourceError
		if errors.As(err, &se) {
			return recordRow{}, fmt.Errorf("reading entry %q: %w; the wheel is corrupt", wf.zf.Name, se.err)
		}
		return recordRow{}, err
	}
	if verify != nil && !bytes.Equal(verify.Sum(nil), wf.want.digest) {
		return recordRow{}, fmt.Errorf("entry %q does not match its %s hash in RECORD; the wheel is corrupt or was altered", wf.zf.Name, wf.want.algo)
	}
	return recordRow{path: relTo(site, wf.dest), hash: recordHash(check.Sum(nil)), size: size}, nil
}

// relTo returns on-image path p relative to directory dir, slash separated.
func relTo(dir, p string) string {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(rel)
}

// normalizeName is the PEP 503 normalized form of a project name.
func normalizeName(s string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(s) {
		if r == '-' || r == '_' || r == '.' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		b.WriteRune(r)
	}
	return b.String()
}
