package baseimage

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash"
	"io"
	"path"
	"regexp"
	"strings"
)

// facts is what was read from one regular file of a layer.
type facts struct {
	// ELF is set for an ELF file; Machine is its e_machine and Interp
	// its program interpreter (PT_INTERP), "/lib64/ld-linux-x86-64.so.2".
	ELF     bool
	Machine uint16
	Interp  string
	// PyVersions counts the Python versions ("3.11.2") found as
	// NUL-terminated strings (or followed by " (") in an interpreter or
	// libpython.
	PyVersions map[string]int
	// Glibc is the "release version" a glibc libc.so.6 announces.
	Glibc string
	// Musl is the version string of a musl loader/libc.
	Musl string
	// Dpkg maps the installed packages of interest to their versions.
	Dpkg map[string]string
	// ApkMusl is musl's version in apk's installed database.
	ApkMusl string
	// CondaVersion is the version of a conda-meta python record.
	CondaVersion string
	// Sha256 is the hex digest of an interpreter's or libpython's bytes:
	// what compiles bytecode, for the layer cache's keys.
	Sha256 string

	// What CompileRoot reads: the libraries a shared object or an
	// interpreter loads (DepsRead says they were read) and where it
	// asks the loader to look; the text of a loader configuration file.
	Needed, RunPath, RPath []string
	DepsRead               bool
	Text                   string
}

// scanner reads one kind of file.
type scanner uint8

const (
	scanNone scanner = iota
	scanPython
	scanGlibc
	scanMusl
	scanDpkg
	scanApk
	scanConda
)

var (
	rePythonExe  = regexp.MustCompile(`^python3\.(\d+)(t?)$`)
	reLibpython  = regexp.MustCompile(`^libpython3\.\d+t?\.so(\.[0-9.]+)?$`)
	reGlibcFile  = regexp.MustCompile(`^libc-(\d+\.\d+)\.so$`)
	reMuslFile   = regexp.MustCompile(`^(ld-musl-[a-z0-9_]+\.so\.1|libc\.musl-[a-z0-9_]+\.so\.1)$`)
	reCondaMeta  = regexp.MustCompile(`^python-3\.\d+.*\.json$`)
	rePyVersion  = regexp.MustCompile(`(3\.\d{1,2}\.\d{1,2})(?:(?:a|b|rc)\d{1,2})?\+?(?:\x00| \()`)
	reGlibcBytes = regexp.MustCompile(`release version (\d+\.\d+)`)
	reMuslBytes  = regexp.MustCompile(`\x00(1\.\d+\.\d+)\x00`)
)

// scannerFor decides, from its path alone, whether a regular file can
// tell us anything and how to read it.
func scannerFor(p string) scanner {
	base := path.Base(p)
	switch {
	case rePythonExe.MatchString(base), reLibpython.MatchString(base):
		return scanPython
	case base == "libc.so.6", reGlibcFile.MatchString(base):
		return scanGlibc
	case reMuslFile.MatchString(base):
		return scanMusl
	case p == "var/lib/dpkg/status", parentOf(p) == "var/lib/dpkg/status.d" && !strings.HasSuffix(base, ".md5sums"):
		return scanDpkg
	case p == "lib/apk/db/installed":
		return scanApk
	case path.Base(parentOf(p)) == "conda-meta" && reCondaMeta.MatchString(base):
		return scanConda
	}
	return scanNone
}

// chunkSize is how much of a binary is searched at once; overlap carries
// the end of one chunk into the next so a string cut in two is found.
const (
	chunkSize = 1 << 20
	overlap   = 256
)

// readFacts reads what s wants from r.
func readFacts(s scanner, r io.Reader) (*facts, error) {
	f := &facts{}
	switch s {
	case scanPython, scanGlibc, scanMusl:
		var h hash.Hash
		if s == scanPython {
			h = sha256.New()
			r = io.TeeReader(r, h)
		}
		br := bufio.NewReaderSize(r, 64<<10)
		if hdr, _ := br.Peek(8 << 10); len(hdr) >= 20 && bytes.HasPrefix(hdr, []byte("\x7fELF")) {
			f.ELF = true
			f.Machine, f.Interp = elfHeader(hdr)
		}
		switch s {
		case scanPython:
			var err error
			if f.PyVersions, err = pythonVersions(br); err != nil {
				return f, err
			}
			if _, err := io.Copy(io.Discard, br); err != nil {
				return f, err
			}
			f.Sha256 = hex.EncodeToString(h.Sum(nil))
			return f, nil
		case scanGlibc:
			return f, searchStream(br, reGlibcBytes, func(m []string, _ byte) bool { f.Glibc = m[1]; return false })
		default:
			return f, searchStream(br, reMuslBytes, func(m []string, _ byte) bool { f.Musl = m[1]; return false })
		}
	case scanDpkg:
		f.Dpkg = parseDpkg(r)
	case scanApk:
		f.ApkMusl = parseApkMusl(r)
	case scanConda:
		var rec struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		}
		if err := json.NewDecoder(io.LimitReader(r, 16<<20)).Decode(&rec); err == nil && rec.Name == "python" {
			f.CondaVersion = rec.Version
		}
	}
	return f, nil
}

// pythonVersions counts the Python versions ("3.11.2") written in r as
// strings of their own: CPython's PY_VERSION, NUL-terminated (possibly the
// tail of a longer string the linker merged it into), or sys.version's
// "3.11.2 (main, ...)".
func pythonVersions(r io.Reader) (map[string]int, error) {
	out := map[string]int{}
	err := searchStream(r, rePyVersion, func(m []string, before byte) bool {
		// "13.11.2" or "1.3.11.2" is not a Python version.
		if before != '.' && (before < '0' || before > '9') {
			out[m[1]]++
		}
		return true
	})
	return out, err
}

// searchStream runs re over r chunk by chunk and calls found with each
// match's submatches and the byte before the match, until found returns
// false. The text before the file counts as a NUL. Patterns that start
// with a literal run fast: Go's regexp then jumps from one occurrence of
// the literal to the next.
func searchStream(r io.Reader, re *regexp.Regexp, found func(sub []string, before byte) bool) error {
	buf := make([]byte, 0, chunkSize+overlap)
	buf = append(buf, 0)
	carried := 0 // bytes at the start of buf already searched
	chunk := make([]byte, chunkSize)
	for {
		n, err := io.ReadFull(r, chunk)
		buf = append(buf, chunk[:n]...)
		for _, m := range re.FindAllSubmatchIndex(buf, -1) {
			if m[1] <= carried || m[0] == 0 {
				continue // wholly inside the carried bytes (seen before), or without the byte before it
			}
			sub := make([]string, len(m)/2)
			for i := range sub {
				if m[2*i] >= 0 {
					sub[i] = string(buf[m[2*i]:m[2*i+1]])
				}
			}
			if !found(sub, buf[m[0]-1]) {
				return nil
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
		keep := min(overlap, len(buf))
		copy(buf, buf[len(buf)-keep:])
		buf = buf[:keep]
		carried = keep
	}
}

// parseDpkg reads a dpkg status file (or a status.d entry) and keeps the
// installed versions of the packages that tell Python's or glibc's version.
func parseDpkg(r io.Reader) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var pkg, version, status string
	flush := func() {
		if pkg != "" && version != "" && (status == "" || strings.HasSuffix(status, " installed")) && dpkgInteresting(pkg) {
			out[pkg] = version
		}
		pkg, version, status = "", "", ""
	}
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			flush()
			continue
		}
		k, val, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, " ") {
			continue
		}
		switch k {
		case "Package":
			pkg = strings.TrimSpace(val)
		case "Version":
			version = strings.TrimSpace(val)
		case "Status":
			status = strings.TrimSpace(val)
		}
	}
	flush()
	return out
}

var reDpkgPython = regexp.MustCompile(`^(lib)?python3\.\d+t?(-minimal|-stdlib)?$`)

func dpkgInteresting(pkg string) bool {
	return pkg == "libc6" || pkg == "musl" || reDpkgPython.MatchString(pkg)
}

// parseApkMusl reads apk's installed database and returns musl's version.
func parseApkMusl(r io.Reader) string {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	inMusl := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			inMusl = false
		case line == "P:musl":
			inMusl = true
		case inMusl && strings.HasPrefix(line, "V:"):
			return strings.TrimPrefix(line, "V:")
		}
	}
	return ""
}

// upstreamVersion takes the leading X.Y.Z of a distribution package
// version: "3.11.2-6+deb12u6" → "3.11.2", "1:2.36-9" → "2.36".
var reUpstream = regexp.MustCompile(`^\d+(\.\d+)+`)

func upstreamVersion(v string) string {
	if i := strings.IndexByte(v, ':'); i >= 0 {
		v = v[i+1:]
	}
	return reUpstream.FindString(v)
}

// elfHeader reads e_machine and, when its program header and the string it
// points at lie within hdr, the program interpreter (PT_INTERP) of an ELF
// file whose first bytes are hdr.
func elfHeader(hdr []byte) (machine uint16, interp string) {
	var bo binary.ByteOrder = binary.LittleEndian
	if hdr[5] == 2 {
		bo = binary.BigEndian
	}
	machine = bo.Uint16(hdr[18:20])
	const ptInterp = 3
	var phoff, phentsize, phnum uint64
	var offAt, sizeAt, width uint64
	switch hdr[4] {
	case 2: // 64-bit
		if len(hdr) < 64 {
			return machine, ""
		}
		phoff, phentsize, phnum = bo.Uint64(hdr[0x20:]), uint64(bo.Uint16(hdr[0x36:])), uint64(bo.Uint16(hdr[0x38:]))
		offAt, sizeAt, width = 8, 32, 8
	case 1: // 32-bit
		if len(hdr) < 52 {
			return machine, ""
		}
		phoff, phentsize, phnum = uint64(bo.Uint32(hdr[0x1c:])), uint64(bo.Uint16(hdr[0x2a:])), uint64(bo.Uint16(hdr[0x2c:]))
		offAt, sizeAt, width = 4, 16, 4
	default:
		return machine, ""
	}
	word := func(at uint64) uint64 {
		if width == 8 {
			return bo.Uint64(hdr[at:])
		}
		return uint64(bo.Uint32(hdr[at:]))
	}
	for i := uint64(0); i < phnum; i++ {
		ph := phoff + i*phentsize
		if ph+sizeAt+width > uint64(len(hdr)) {
			return machine, ""
		}
		if bo.Uint32(hdr[ph:]) != ptInterp {
			continue
		}
		off, size := word(ph+offAt), word(ph+sizeAt)
		if off+size > uint64(len(hdr)) || size == 0 {
			return machine, ""
		}
		return machine, strings.TrimRight(string(hdr[off:off+size]), "\x00")
	}
	return machine, ""
}
