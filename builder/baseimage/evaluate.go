package baseimage

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/target"
)

// searchDirs are where interpreters are looked for after the image's own
// PATH, in this order; /opt/python*/bin is added after them.
var searchDirs = []string{"/usr/local/bin", "/usr/bin", "/bin", "/opt/conda/bin"}

// ELF machines of the platforms envbuild builds.
var elfMachines = map[string]uint16{"x86_64": 62, "aarch64": 183}

var elfNames = map[uint16]string{3: "i386", 8: "mips", 20: "ppc", 21: "ppc64", 22: "s390", 40: "arm", 62: "x86_64", 183: "aarch64", 243: "riscv"}

func elfName(m uint16) string {
	if n, ok := elfNames[m]; ok {
		return n
	}
	return "machine " + strconv.Itoa(int(m))
}

// evaluation derives an Info from the view, noting whether any lookup it
// made could still change when lower layers are walked.
type evaluation struct {
	v        *view
	cfg      *v1.ConfigFile
	platform string // canonical, "linux/amd64"
	machine  string // "x86_64"
	ref      string
	sure     bool
}

func (e *evaluation) resolve(p string) (string, *node) {
	rp, n, sure := e.v.resolve(p)
	if !sure {
		e.sure = false
	}
	return rp, n
}

// file resolves p and returns it only when it is a regular file.
func (e *evaluation) file(p string) (string, *node) {
	rp, n := e.resolve(p)
	if n == nil || n.kind != kindFile {
		return rp, nil
	}
	return rp, n
}

func (e *evaluation) isDir(p string) bool {
	_, n := e.resolve(p)
	return n != nil && n.kind == kindDir
}

func (e *evaluation) list(dir string) []string {
	rd, n := e.resolve(dir)
	if n == nil || n.kind != kindDir {
		return nil
	}
	names, sure := e.v.list(rd)
	if !sure {
		e.sure = false
	}
	return names
}

func (e *evaluation) env(key string) string {
	if e.cfg == nil {
		return ""
	}
	for _, kv := range e.cfg.Config.Env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// interpreter is one python3.N found in the image.
type interpreter struct {
	path    string // resolved, without leading "/"
	node    *node
	minor   int
	ft      bool
	stdlib  string // resolved path of lib/python3.N, "" when missing
	problem string // why it is not usable
}

func (e *evaluation) examine(p string) (interpreter, bool) {
	rp, n := e.file(p)
	if n == nil {
		return interpreter{}, false
	}
	m := rePythonExe.FindStringSubmatch(path.Base(rp))
	if m == nil {
		return interpreter{}, false
	}
	minor, _ := strconv.Atoi(m[1])
	in := interpreter{path: rp, node: n, minor: minor, ft: m[2] == "t"}
	if minor < 8 {
		in.problem = fmt.Sprintf("/%s is Python 3.%d, older than 3.8", rp, minor)
		return in, true
	}
	lib := path.Join(parentOf(parentOf(rp)), "lib", "python3."+m[1]+m[2])
	if _, osPy := e.file(lib + "/os.py"); osPy == nil {
		in.problem = fmt.Sprintf("/%s has no standard library (no /%s/os.py)", rp, lib)
		return in, true
	}
	in.stdlib, _ = e.resolve(lib)
	return in, true
}

// dirs lists where to look for interpreters: the image's PATH, then the
// usual places (findPython tries /opt/python*/bin after them).
func (e *evaluation) dirs() []string {
	var out []string
	seen := map[string]bool{}
	addDir := func(d string) {
		d = "/" + cleanPath(d)
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	for _, d := range strings.Split(e.env("PATH"), ":") {
		if strings.HasPrefix(d, "/") {
			addDir(d)
		}
	}
	for _, d := range searchDirs {
		addDir(d)
	}
	return out
}

// findPython returns the first usable interpreter, looking in each
// directory at python3 first (and where it points), then at every
// python3.N there, newest first.
func (e *evaluation) findPython() (interpreter, []string, []string) {
	var seen []string
	var problems []string
	tried := map[string]bool{}
	try := func(p string) (interpreter, bool) {
		in, ok := e.examine(p)
		if !ok || tried[in.path] {
			return interpreter{}, false
		}
		tried[in.path] = true
		seen = append(seen, "/"+in.path)
		if in.problem != "" {
			problems = append(problems, in.problem)
			return interpreter{}, false
		}
		return in, true
	}
	look := func(dir string) (interpreter, bool) {
		if in, ok := try(dir + "/python3"); ok {
			return in, true
		}
		var names []string
		for _, n := range e.list(dir) {
			if rePythonExe.MatchString(n) {
				names = append(names, n)
			}
		}
		sort.Slice(names, func(i, j int) bool { return pyNameLess(names[j], names[i]) })
		for _, n := range names {
			if in, ok := try(dir + "/" + n); ok {
				return in, true
			}
		}
		return interpreter{}, false
	}
	for _, d := range e.dirs() {
		if in, ok := look(d); ok {
			return in, seen, problems
		}
	}
	for _, n := range e.list("/opt") {
		if strings.HasPrefix(n, "python") {
			if in, ok := look("/opt/" + n + "/bin"); ok {
				return in, seen, problems
			}
		}
	}
	if len(problems) == 0 {
		problems = []string{"none found"}
	}
	return interpreter{}, seen, problems
}

// pyNameLess orders python3.N names: older first, free-threaded after the
// regular build of the same version.
func pyNameLess(a, b string) bool {
	ma, mb := rePythonExe.FindStringSubmatch(a), rePythonExe.FindStringSubmatch(b)
	na, _ := strconv.Atoi(ma[1])
	nb, _ := strconv.Atoi(mb[1])
	if na != nb {
		return na < nb
	}
	return ma[2] == "t" && mb[2] == ""
}

// dpkgRecords merges dpkg's status file and status.d entries.
func (e *evaluation) dpkgRecords() map[string]string {
	out := map[string]string{}
	if _, n := e.file("/var/lib/dpkg/status"); n != nil && n.facts != nil {
		for k, v := range n.facts.Dpkg {
			out[k] = v
		}
	}
	if e.isDir("/var/lib/dpkg/status.d") {
		for _, name := range e.list("/var/lib/dpkg/status.d") {
			if _, n := e.file("/var/lib/dpkg/status.d/" + name); n != nil && n.facts != nil {
				for k, v := range n.facts.Dpkg {
					out[k] = v
				}
			}
		}
	}
	return out
}

func triplet(machine string) string { return machine + "-linux-gnu" }

// pythonVersion finds the interpreter's full version, trying sources from
// the cheapest to the surest fallback.
func (e *evaluation) pythonVersion(in interpreter) (string, string) {
	mm := fmt.Sprintf("3.%d", in.minor)
	matches := func(v string) bool { return strings.HasPrefix(v, mm+".") && strings.Count(v, ".") == 2 }
	dpkgManaged := strings.HasPrefix(in.path, "usr/bin/") || strings.HasPrefix(in.path, "bin/")

	if v := upstreamVersion(e.env("PYTHON_VERSION")); !dpkgManaged && matches(v) {
		return v, "the image config's PYTHON_VERSION"
	}
	if dpkgManaged {
		recs := e.dpkgRecords()
		t := ""
		if in.ft {
			t = "t"
		}
		for _, pkg := range []string{"python" + mm + t + "-minimal", "libpython" + mm + t + "-minimal", "python" + mm + t, "libpython" + mm + t + "-stdlib"} {
			if v := upstreamVersion(recs[pkg]); matches(v) {
				return v, "dpkg's record of " + pkg
			}
		}
	}
	prefix := parentOf(parentOf(in.path))
	for _, name := range e.list("/" + prefix + "/conda-meta") {
		if !reCondaMeta.MatchString(name) {
			continue
		}
		if _, n := e.file("/" + prefix + "/conda-meta/" + name); n != nil && n.facts != nil && matches(n.facts.CondaVersion) {
			return n.facts.CondaVersion, "conda-meta/" + name
		}
	}
	if v := commonest(in.node.facts, matches); v != "" {
		return v, "the version string in /" + in.path
	}
	for _, dir := range []string{prefix + "/lib", prefix + "/lib/" + triplet(e.machine), prefix + "/lib64"} {
		for _, name := range e.list("/" + dir) {
			if !strings.HasPrefix(name, "libpython"+mm) || !reLibpython.MatchString(name) {
				continue
			}
			if rp, n := e.file("/" + dir + "/" + name); n != nil {
				if v := commonest(n.facts, matches); v != "" {
					return v, "the version string in /" + rp
				}
			}
		}
	}
	return "", ""
}

// commonest is the Python version seen most often in a file.
func commonest(f *facts, ok func(string) bool) string {
	if f == nil {
		return ""
	}
	best, count := "", 0
	for v, c := range f.PyVersions {
		if ok(v) && (c > count || (c == count && v < best)) {
			best, count = v, c
		}
	}
	return best
}

// libc finds the C library kind and version. The interpreter's program
// interpreter (PT_INTERP) says which kind it runs on; without it, glibc is
// looked for first (a glibc system may carry a musl loader too).
func (e *evaluation) libc(in interpreter) (kind, version, source string) {
	interp := ""
	if in.node.facts != nil {
		interp = in.node.facts.Interp
	}
	if strings.Contains(interp, "ld-musl") {
		v, src, _ := e.musl()
		return "musl", v, src
	}
	if v, src, found := e.glibc(); found || strings.Contains(interp, "ld-linux") {
		return "glibc", v, src
	}
	if v, src, found := e.musl(); found {
		return "musl", v, src
	}
	return "", "", ""
}

func (e *evaluation) glibc() (version, source string, found bool) {
	t := triplet(e.machine)
	for _, p := range []string{"/lib/" + t + "/libc.so.6", "/usr/lib/" + t + "/libc.so.6", "/lib64/libc.so.6", "/usr/lib64/libc.so.6", "/lib/libc.so.6", "/usr/lib/libc.so.6"} {
		rp, n := e.file(p)
		if n == nil {
			continue
		}
		found = true
		if n.facts != nil && n.facts.Glibc != "" {
			return n.facts.Glibc, "the version string in /" + rp, true
		}
		if m := reGlibcFile.FindStringSubmatch(path.Base(rp)); m != nil {
			return m[1], "the name of /" + rp, true
		}
		break
	}
	if v := majorMinor(upstreamVersion(e.dpkgRecords()["libc6"])); v != "" {
		return v, "dpkg's record of libc6", true
	}
	return "", "", found
}

func (e *evaluation) musl() (version, source string, found bool) {
	for _, loader := range []string{"/lib/ld-musl-" + e.machine + ".so.1", "/usr/lib/ld-musl-" + e.machine + ".so.1"} {
		rp, n := e.file(loader)
		if n == nil {
			continue
		}
		if _, db := e.file("/lib/apk/db/installed"); db != nil && db.facts != nil && db.facts.ApkMusl != "" {
			if v := majorMinor(upstreamVersion(db.facts.ApkMusl)); v != "" {
				return v, "apk's record of musl", true
			}
		}
		if v := majorMinor(upstreamVersion(e.dpkgRecords()["musl"])); v != "" {
			return v, "dpkg's record of musl", true
		}
		if n.facts != nil {
			if v := majorMinor(n.facts.Musl); v != "" {
				return v, "the version string in /" + rp, true
			}
		}
		return "", "", true
	}
	return "", "", false
}

func majorMinor(v string) string {
	parts := strings.Split(v, ".")
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "." + parts[1]
}

// sitePackages lists the base's own package directories for in.
func (e *evaluation) sitePackages(in interpreter) []string {
	prefix := "/" + parentOf(parentOf(in.path))
	v := fmt.Sprintf("python3.%d", in.minor)
	if in.ft {
		v += "t"
	}
	var out []string
	for _, d := range []string{
		prefix + "/lib/" + v + "/site-packages",
		prefix + "/lib/" + v + "/dist-packages",
		prefix + "/lib/python3/dist-packages",
		prefix + "/local/lib/" + v + "/dist-packages",
	} {
		if e.isDir(d) {
			out = append(out, path.Clean(d))
		}
	}
	return out
}

// evaluate derives the Info. Its answer is final when e.sure stays true.
func (e *evaluation) evaluate() (*Info, error) {
	in, seen, problems := e.findPython()
	if in.path == "" {
		return nil, failure.User(&NoPythonError{Ref: e.ref, Platform: e.platform, Dirs: e.dirs(), Problems: problems})
	}
	if in.node.facts != nil && in.node.facts.ELF {
		if want := elfMachines[e.machine]; in.node.facts.Machine != want {
			return nil, failure.User(fmt.Errorf("base image %q says %s in its config, but its interpreter /%s is built for %s (ELF machine %d), not %s; fix the image's architecture or pick the base built for %s",
				e.ref, e.platform, in.path, elfName(in.node.facts.Machine), in.node.facts.Machine, e.machine, e.platform))
		}
	}
	version, vsource := e.pythonVersion(in)
	if version == "" {
		return nil, failure.User(fmt.Errorf("base image %q (%s): cannot tell the full version of /%s: no PYTHON_VERSION in its config, no dpkg or conda-meta record and no version string in the interpreter or libpython3.%d; use a base with a packaged Python",
			e.ref, e.platform, in.path, in.minor))
	}
	libc, libcVersion, lsource := e.libc(in)
	if libc == "" {
		return nil, failure.User(fmt.Errorf("base image %q (%s) has no C library envbuild can find (no libc.so.6 in /lib/%s, /usr/lib/%s, /lib64 or /usr/lib64, no ld-musl-%s.so.1 in /lib): use a glibc- or musl-based image",
			e.ref, e.platform, triplet(e.machine), triplet(e.machine), e.machine))
	}
	if libcVersion == "" {
		return nil, failure.User(fmt.Errorf("base image %q (%s) has a %s C library whose version envbuild cannot read (no version string in it, no dpkg or apk record); wheels cannot be chosen without it",
			e.ref, e.platform, libc))
	}
	info := &Info{
		Target: target.Target{
			Platform:       e.platform,
			Python:         version,
			Implementation: target.DefaultImplementer,
			FreeThreaded:   in.ft,
			Libc:           libc,
			LibcVersion:    libcVersion,
			Interpreter:    "/" + in.path,
		},
		StdlibDir:         "/" + in.stdlib,
		InterpreterDigest: e.interpreterDigest(in),
		SitePackages:      e.sitePackages(in),
		PythonCandidates:  seen,
		PythonSource:      vsource,
		LibcSource:        lsource,
	}
	return info, nil
}

// interpreterDigest hashes the interpreter's bytes and those of the
// libpython3.X it may load (official python images link it dynamically),
// with their paths; "" when the interpreter's bytes were not read.
func (e *evaluation) interpreterDigest(in interpreter) string {
	if in.node.facts == nil || in.node.facts.Sha256 == "" {
		return ""
	}
	parts := []string{"/" + in.path + "=" + in.node.facts.Sha256}
	mm := fmt.Sprintf("3.%d", in.minor)
	prefix := parentOf(parentOf(in.path))
	for _, dir := range []string{prefix + "/lib", prefix + "/lib/" + triplet(e.machine), prefix + "/lib64"} {
		for _, name := range e.list("/" + dir) {
			if !strings.HasPrefix(name, "libpython"+mm) || !reLibpython.MatchString(name) {
				continue
			}
			if rp, n := e.file("/" + dir + "/" + name); n != nil && n.facts != nil && n.facts.Sha256 != "" {
				parts = append(parts, "/"+rp+"="+n.facts.Sha256)
			}
		}
	}
	sort.Strings(parts)
	sum := sha256.Sum256([]byte(strings.Join(parts, "\n")))
	return "sha256:" + hex.EncodeToString(sum[:])
}
