package baseimage

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"sort"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// dynELF is a 64-bit little-endian shared object for machine with a
// PT_INTERP (when interp is set) and a dynamic section naming needed and
// runpath, as the loader reads them.
func dynELF(machine uint16, interp string, needed []string, runpath string) []byte {
	le := binary.LittleEndian
	dynstr := []byte{0}
	str := func(s string) uint64 {
		off := uint64(len(dynstr))
		dynstr = append(append(dynstr, s...), 0)
		return off
	}
	var dyn []byte
	entry := func(tag, val uint64) {
		var e [16]byte
		le.PutUint64(e[0:], tag)
		le.PutUint64(e[8:], val)
		dyn = append(dyn, e[:]...)
	}
	for _, n := range needed {
		entry(1, str(n)) // DT_NEEDED
	}
	if runpath != "" {
		entry(29, str(runpath)) // DT_RUNPATH
	}
	entry(0, 0)
	shstr := []byte("\x00.dynstr\x00.dynamic\x00.shstrtab\x00")

	const ehdr, phent, shent = 64, 56, 64
	phnum := 0
	if interp != "" {
		phnum = 1
	}
	interpOff := uint64(ehdr + phnum*phent)
	dynstrOff := interpOff
	if interp != "" {
		dynstrOff += uint64(len(interp) + 1)
	}
	dynOff := dynstrOff + uint64(len(dynstr))
	shstrOff := dynOff + uint64(len(dyn))
	shOff := shstrOff + uint64(len(shstr))

	h := make([]byte, ehdr)
	copy(h, "\x7fELF")
	h[4], h[5], h[6] = 2, 1, 1
	le.PutUint16(h[16:], 3)
	le.PutUint16(h[18:], machine)
	le.PutUint32(h[20:], 1)
	le.PutUint64(h[0x20:], ehdr)
	le.PutUint64(h[0x28:], shOff)
	le.PutUint16(h[0x34:], ehdr)
	le.PutUint16(h[0x36:], phent)
	le.PutUint16(h[0x38:], uint16(phnum))
	le.PutUint16(h[0x3a:], shent)
	le.PutUint16(h[0x3c:], 4)
	le.PutUint16(h[0x3e:], 3)
	out := h
	if interp != "" {
		ph := make([]byte, phent)
		le.PutUint32(ph[0:], 3)
		le.PutUint64(ph[8:], interpOff)
		le.PutUint64(ph[32:], uint64(len(interp)+1))
		le.PutUint64(ph[40:], uint64(len(interp)+1))
		out = append(append(append(out, ph...), interp...), 0)
	}
	out = append(append(append(out, dynstr...), dyn...), shstr...)
	section := func(nameOff, typ uint32, off, size, link, entsize uint64) {
		s := make([]byte, shent)
		le.PutUint32(s[0:], nameOff)
		le.PutUint32(s[4:], typ)
		le.PutUint64(s[0x18:], off)
		le.PutUint64(s[0x20:], size)
		le.PutUint32(s[0x28:], uint32(link))
		le.PutUint64(s[0x30:], 1)
		le.PutUint64(s[0x38:], entsize)
		out = append(out, s...)
	}
	section(0, 0, 0, 0, 0, 0)
	section(1, 3, dynstrOff, uint64(len(dynstr)), 0, 0) // .dynstr
	section(9, 6, dynOff, uint64(len(dyn)), 1, 16)      // .dynamic
	section(18, 3, shstrOff, uint64(len(shstr)), 0, 0)  // .shstrtab
	return out
}

// rootEntries runs CompileRoot and returns its tar's entries: path →
// "file:<content>", "link:<target>" or "dir".
func rootEntries(t *testing.T, layers [][]entry, interp, stdlib string) (map[string]string, []string, error) {
	t.Helper()
	var ls []v1.Layer
	for _, es := range layers {
		ls = append(ls, layer(t, es...))
	}
	img := image(t, "amd64", nil, ls...)
	var buf bytes.Buffer
	if err := CompileRoot(context.Background(), img, interp, stdlib, t.TempDir(), &buf); err != nil {
		return nil, nil, err
	}
	got := map[string]string{}
	var order []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(h.Name, "/")
		order = append(order, name)
		switch h.Typeflag {
		case tar.TypeReg:
			b, _ := io.ReadAll(tr)
			if i := bytes.LastIndexByte(b, '#'); i >= 0 {
				b = b[i:]
			}
			got[name] = "file:" + string(b)
		case tar.TypeSymlink:
			got[name] = "link:" + h.Linkname
		case tar.TypeDir:
			got[name] = "dir"
		}
	}
	return got, order, nil
}

func TestCompileRoot(t *testing.T) {
	ld := "/lib64/ld-linux-x86-64.so.2"
	withTail := func(b []byte, tail string) []byte { return append(b, tail...) }
	lower := []entry{
		sym("lib", "usr/lib"),
		sym("lib64", "usr/lib64"),
		dir("usr/lib64"),
		sym("usr/lib64/ld-linux-x86-64.so.2", "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
		reg("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", withTail(dynELF(x86, "", nil, ""), "#ldso")),
		reg("usr/lib/x86_64-linux-gnu/libc.so.6", withTail(dynELF(x86, "", []string{"ld-linux-x86-64.so.2"}, ""), "#libc")),
		reg("usr/lib/x86_64-linux-gnu/libm.so.6", withTail(dynELF(x86, "", []string{"libc.so.6"}, ""), "#libm")),
		reg("usr/lib/x86_64-linux-gnu/libbig.so.1", withTail(dynELF(x86, "", nil, ""), "#unused")),
		reg("usr/lib/x86_64-linux-gnu/libssl.so.3", withTail(dynELF(x86, "", []string{"libc.so.6"}, ""), "#libssl")),
		txt("etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n"),
		txt("etc/ld.so.conf.d/local.conf", "# local\n/opt/py/lib\n"),
		reg("opt/py/lib/libpython3.12.so.1.0", withTail(dynELF(x86, "", []string{"libm.so.6", "libc.so.6"}, ""), "#libpy")),
		reg("opt/py/bin/python3.12", withTail(dynELF(x86, ld, []string{"libpython3.12.so.1.0", "libc.so.6"}, ""), "#python")),
		sym("opt/py/bin/python3", "python3.12"),
		txt("opt/py/lib/python3.12/os.py", "# os"),
		txt("opt/py/lib/python3.12/encodings/latin_1.py", "# latin"),
		sym("opt/py/lib/python3.12/sitecustomize.py", "/etc/python3.12/sitecustomize.py"),
		txt("etc/python3.12/sitecustomize.py", "# site"),
		txt("opt/py/lib/python3.12/test/test_os.py", "# tests"),
		txt("opt/py/lib/python3.12/site-packages/pkg.py", "# pkg"),
		reg("opt/py/lib/python3.12/lib-dynload/_ssl.cpython-312-x86_64-linux-gnu.so", withTail(dynELF(x86, "", []string{"libssl.so.3", "libgone.so.1"}, ""), "#_ssl")),
		txt("usr/share/doc/big", "not needed"),
	}
	upper := []entry{
		// An upper layer replaces libm and hard-links a copy of it.
		reg("usr/lib/x86_64-linux-gnu/libm.so.6", withTail(dynELF(x86, "", []string{"libc.so.6"}, ""), "#libm-v2")),
		hard("usr/lib/x86_64-linux-gnu/libm-2.so", "usr/lib/x86_64-linux-gnu/libm.so.6"),
		whiteout("opt/py/lib/python3.12/encodings/latin_1.py"),
	}
	got, order, err := rootEntries(t, [][]entry{lower, upper}, "/opt/py/bin/python3", "/opt/py/lib/python3.12")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"opt/py/bin/python3":             "link:python3.12",
		"opt/py/bin/python3.12":          "file:#python",
		"lib64":                          "link:usr/lib64",
		"usr/lib64/ld-linux-x86-64.so.2": "link:../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
		"usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2": "file:#ldso",
		"lib":                                    "link:usr/lib",
		"usr/lib/x86_64-linux-gnu/libc.so.6":     "file:#libc",
		"usr/lib/x86_64-linux-gnu/libm.so.6":     "file:#libm-v2",
		"opt/py/lib/libpython3.12.so.1.0":        "file:#libpy",
		"etc/ld.so.conf":                         "file:include /etc/ld.so.conf.d/*.conf\n",
		"etc/ld.so.conf.d/local.conf":            "file:# local\n/opt/py/lib\n",
		"opt/py/lib/python3.12/os.py":            "file:# os",
		"opt/py/lib/python3.12/sitecustomize.py": "link:/etc/python3.12/sitecustomize.py",
		"etc/python3.12/sitecustomize.py":        "file:# site",
		"opt/py/lib/python3.12/lib-dynload/_ssl.cpython-312-x86_64-linux-gnu.so": "file:#_ssl",
		"usr/lib/x86_64-linux-gnu/libssl.so.3":                                   "file:#libssl",
	}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: %q, want %q", p, got[p], w)
		}
	}
	for _, p := range []string{"usr/lib/x86_64-linux-gnu/libbig.so.1", "opt/py/lib/python3.12/test/test_os.py", "opt/py/lib/python3.12/site-packages/pkg.py", "usr/share/doc/big", "opt/py/lib/python3.12/encodings/latin_1.py", "usr/lib/x86_64-linux-gnu/libm-2.so"} {
		if _, ok := got[p]; ok {
			t.Errorf("%s is in the compile root; it is not needed", p)
		}
	}
	if got["opt/py/lib/python3.12/lib-dynload"] != "dir" || got["usr/lib/x86_64-linux-gnu"] != "dir" {
		t.Errorf("directories missing: %v", order)
	}
	if !sort.StringsAreSorted(order) {
		t.Errorf("entries are not sorted: %v", order)
	}
	// The same base gives the same bytes.
	again, _, _ := rootEntries(t, [][]entry{lower, upper}, "/opt/py/bin/python3", "/opt/py/lib/python3.12")
	if len(again) != len(got) {
		t.Errorf("a second run wrote %d entries, the first %d", len(again), len(got))
	}

	// An interpreter whose libraries cannot all be found makes no root.
	broken := append([]entry{}, lower...)
	broken = append(broken, reg("opt/py/bin/python3.12", withTail(dynELF(x86, ld, []string{"libgone.so.9"}, ""), "#python")))
	if _, _, err := rootEntries(t, [][]entry{broken}, "/opt/py/bin/python3", "/opt/py/lib/python3.12"); err == nil || !strings.Contains(err.Error(), "libgone.so.9") {
		t.Errorf("a missing library: %v; want an error naming it", err)
	}
}

func TestCompileRootRunpathOrigin(t *testing.T) {
	layerEntries := []entry{
		reg("lib/ld-musl-x86_64.so.1", dynELF(x86, "", nil, "")),
		reg("app/bin/python3.11", dynELF(x86, ldMusl, []string{"libpython3.11.so.1.0"}, "$ORIGIN/../lib")),
		reg("app/lib/libpython3.11.so.1.0", dynELF(x86, "", []string{"libc.musl-x86_64.so.1"}, "")),
		sym("lib/libc.musl-x86_64.so.1", "ld-musl-x86_64.so.1"),
		txt("app/lib/python3.11/os.py", "# os"),
	}
	got, _, err := rootEntries(t, [][]entry{layerEntries}, "/app/bin/python3.11", "/app/lib/python3.11")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"app/lib/libpython3.11.so.1.0", "lib/ld-musl-x86_64.so.1", "app/lib/python3.11/os.py"} {
		if !strings.HasPrefix(got[p], "file:") {
			t.Errorf("%s missing from the compile root: %v", p, got)
		}
	}
	if got["lib/libc.musl-x86_64.so.1"] != "link:ld-musl-x86_64.so.1" {
		t.Errorf("the musl libc link: %q", got["lib/libc.musl-x86_64.so.1"])
	}
}
