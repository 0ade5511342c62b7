package baseimage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/target"
)

const debianPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

const dpkgStatus = `Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.

Package: python3.12-minimal
Status: deinstall ok config-files
Version: 3.12.1-1

Package: python3.11-minimal
Status: install ok installed
Version: 3.11.2-6+deb12u6
`

var glibcBody = "\x00GNU C Library (Debian GLIBC 2.36-9+deb12u4) stable release version 2.36.\nCopyright\x00"

// debianRoot is a merged-/usr Debian-like root file system: python3.11
// with its standard library, glibc 2.36, dpkg's status.
func debianRoot(pythonBody string) []entry {
	return []entry{
		sym("bin", "usr/bin"), sym("lib", "usr/lib"), sym("lib64", "usr/lib64"),
		dir("usr/bin"),
		reg("usr/bin/python3.11", elf(x86, ldGNU, pythonBody)),
		txt("usr/lib/python3.11/os.py", "# os\n"),
		dir("usr/lib/python3/dist-packages"),
		reg("usr/lib/x86_64-linux-gnu/libc.so.6", elf(x86, "", glibcBody)),
		sym("usr/lib64/ld-linux-x86-64.so.2", "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
		txt("var/lib/dpkg/status", dpkgStatus),
	}
}

func TestInspect(t *testing.T) {
	debian := func(extra ...entry) []entry { return append(debianRoot("\x00x\x003.11.2\x00y"), extra...) }
	slim := func(pyEnv string, pythonBody string, extra ...entry) v1.Image {
		env := []string{"PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"}
		if pyEnv != "" {
			env = append(env, "PYTHON_VERSION="+pyEnv)
		}
		base := layer(t,
			reg("lib/x86_64-linux-gnu/libc.so.6", elf(x86, "", glibcBody)),
			dir("usr/local/bin"), dir("usr/local/lib"))
		py := layer(t, append([]entry{
			reg("usr/local/bin/python3.12", elf(x86, ldGNU, pythonBody)),
			sym("usr/local/bin/python3", "python3.12"),
			txt("usr/local/lib/python3.12/os.py", ""),
			dir("usr/local/lib/python3.12/site-packages"),
		}, extra...)...)
		return image(t, "amd64", env, base, py)
	}

	tests := []struct {
		name     string
		img      v1.Image
		platform string
		want     *Info // ManifestDigest is filled in by the test
		wantErr  []string
		noPython bool
	}{
		{
			name: "python3 symlink chain across two layers, merged /usr, dpkg version",
			img: image(t, "amd64", []string{debianPath},
				layer(t, debian()...),
				layer(t, sym("usr/local/bin/python3", "/bin/python3"), sym("usr/bin/python3", "python3.11"))),
			want: &Info{
				Target:           target.Target{Platform: "linux/amd64", Python: "3.11.2", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36", Interpreter: "/usr/bin/python3.11"},
				StdlibDir:        "/usr/lib/python3.11",
				SitePackages:     []string{"/usr/lib/python3/dist-packages"},
				PythonCandidates: []string{"/usr/bin/python3.11"},
				PythonSource:     "dpkg's record of python3.11-minimal",
				LibcSource:       "the version string in /usr/lib/x86_64-linux-gnu/libc.so.6",
			},
		},
		{
			name: "version from the interpreter binary, suffix-merged string",
			img:  slim("", "\x00/tmp/build/Python-3.12.7\x00more\x00"),
			want: &Info{
				Target:           target.Target{Platform: "linux/amd64", Python: "3.12.7", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36", Interpreter: "/usr/local/bin/python3.12"},
				StdlibDir:        "/usr/local/lib/python3.12",
				SitePackages:     []string{"/usr/local/lib/python3.12/site-packages"},
				PythonCandidates: []string{"/usr/local/bin/python3.12"},
				PythonSource:     "the version string in /usr/local/bin/python3.12",
				LibcSource:       "the version string in /lib/x86_64-linux-gnu/libc.so.6",
			},
		},
		{
			name: "PYTHON_VERSION of the image config wins",
			img:  slim("3.12.8", "\x003.12.7\x00"),
			want: &Info{
				Target:           target.Target{Platform: "linux/amd64", Python: "3.12.8", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36", Interpreter: "/usr/local/bin/python3.12"},
				StdlibDir:        "/usr/local/lib/python3.12",
				SitePackages:     []string{"/usr/local/lib/python3.12/site-packages"},
				PythonCandidates: []string{"/usr/local/bin/python3.12"},
				PythonSource:     "the image config's PYTHON_VERSION",
				LibcSource:       "the version string in /lib/x86_64-linux-gnu/libc.so.6",
			},
		},
		{
			name: "PYTHON_VERSION of another minor is ignored; libpython has the version",
			img: slim("3.9.18", "no version here",
				reg("usr/local/lib/libpython3.12.so.1.0", elf(x86, "", "\x00Python-3.12.1\x00 3.12.1 (main)\x00")),
				sym("usr/local/lib/libpython3.12.so", "libpython3.12.so.1.0")),
			want: &Info{
				Target:           target.Target{Platform: "linux/amd64", Python: "3.12.1", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36", Interpreter: "/usr/local/bin/python3.12"},
				StdlibDir:        "/usr/local/lib/python3.12",
				SitePackages:     []string{"/usr/local/lib/python3.12/site-packages"},
				PythonCandidates: []string{"/usr/local/bin/python3.12"},
				PythonSource:     "the version string in /usr/local/lib/libpython3.12.so.1.0",
				LibcSource:       "the version string in /lib/x86_64-linux-gnu/libc.so.6",
			},
		},
		{
			name: "whiteout in an upper layer deletes python",
			img: image(t, "amd64", []string{debianPath},
				layer(t, append(debian(), sym("usr/bin/python3", "python3.11"))...),
				layer(t, whiteout("usr/bin/python3.11"))),
			noPython: true,
			wantErr:  []string{"has no usable Python", "/usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin, /bin, /opt/conda/bin, /opt/python*/bin", "none found", "Python 3.8+"},
		},
		{
			name: "opaque directory in an upper layer deletes the standard library",
			img: image(t, "amd64", []string{debianPath},
				layer(t, debian()...),
				layer(t, dir("usr/lib/python3.11"), txt("usr/lib/python3.11/.wh..wh..opq", ""), txt("usr/lib/python3.11/README", ""))),
			noPython: true,
			wantErr:  []string{"/usr/bin/python3.11 has no standard library (no /usr/lib/python3.11/os.py)"},
		},
		{
			name:     "no python at all",
			img:      image(t, "amd64", []string{debianPath}, layer(t, reg("lib/x86_64-linux-gnu/libc.so.6", elf(x86, "", glibcBody)), txt("bin/busybox", "#"))),
			noPython: true,
			wantErr:  []string{`(linux/amd64) has no usable Python`, "none found"},
		},
		{
			name: "python older than 3.8",
			img: image(t, "amd64", []string{debianPath}, layer(t,
				reg("usr/bin/python3.6", elf(x86, ldGNU, "\x003.6.9\x00")), sym("usr/bin/python3", "python3.6"), txt("usr/lib/python3.6/os.py", ""),
				reg("lib/x86_64-linux-gnu/libc.so.6", elf(x86, "", glibcBody)))),
			noPython: true,
			wantErr:  []string{"/usr/bin/python3.6 is Python 3.6, older than 3.8"},
		},
		{
			name: "musl, version from apk's database",
			img: image(t, "amd64", []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, layer(t,
				reg("lib/ld-musl-x86_64.so.1", elf(x86, "", "\x00musl libc\x001.2.3\x00")),
				sym("lib/libc.musl-x86_64.so.1", "ld-musl-x86_64.so.1"),
				txt("lib/apk/db/installed", "C:Q1abc\nP:busybox\nV:1.36.1-r2\n\nC:Q1def\nP:musl\nV:1.2.4-r2\nA:x86_64\n\n"),
				reg("usr/bin/python3.11", elf(x86, ldMusl, "\x003.11.6\x00")), sym("usr/bin/python3", "python3.11"),
				txt("usr/lib/python3.11/os.py", ""), dir("usr/lib/python3.11/site-packages"))),
			want: &Info{
				Target:           target.Target{Platform: "linux/amd64", Python: "3.11.6", Implementation: "cpython", Libc: "musl", LibcVersion: "1.2", Interpreter: "/usr/bin/python3.11"},
				StdlibDir:        "/usr/lib/python3.11",
				SitePackages:     []string{"/usr/lib/python3.11/site-packages"},
				PythonCandidates: []string{"/usr/bin/python3.11"},
				PythonSource:     "the version string in /usr/bin/python3.11",
				LibcSource:       "apk's record of musl",
			},
		},
		{
			name: "musl, version from the loader's strings",
			img: image(t, "amd64", nil, layer(t,
				reg("lib/ld-musl-x86_64.so.1", elf(x86, "", "\x00musl libc\x001.2.3\x00")),
				reg("usr/bin/python3.11", elf(x86, ldMusl, "\x003.11.6\x00")), txt("usr/lib/python3.11/os.py", ""))),
			want: &Info{
				Target:           target.Target{Platform: "linux/amd64", Python: "3.11.6", Implementation: "cpython", Libc: "musl", LibcVersion: "1.2", Interpreter: "/usr/bin/python3.11"},
				StdlibDir:        "/usr/lib/python3.11",
				PythonCandidates: []string{"/usr/bin/python3.11"},
				PythonSource:     "the version string in /usr/bin/python3.11",
				LibcSource:       "the version string in /lib/ld-musl-x86_64.so.1",
			},
		},
		{
			name: "glibc system that also carries a musl loader",
			img: image(t, "amd64", []string{debianPath}, layer(t, append(debian(sym("usr/bin/python3", "python3.11")),
				reg("usr/lib/ld-musl-x86_64.so.1", elf(x86, "", "\x001.2.3\x00")))...)),
			want: &Info{
				Target:           target.Target{Platform: "linux/amd64", Python: "3.11.2", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36", Interpreter: "/usr/bin/python3.11"},
				StdlibDir:        "/usr/lib/python3.11",
				SitePackages:     []string{"/usr/lib/python3/dist-packages"},
				PythonCandidates: []string{"/usr/bin/python3.11"},
				PythonSource:     "dpkg's record of python3.11-minimal",
				LibcSource:       "the version string in /usr/lib/x86_64-linux-gnu/libc.so.6",
			},
		},
		{
			name: "older glibc: libc.so.6 links to libc-2.31.so",
			img: image(t, "amd64", nil, layer(t,
				reg("lib/x86_64-linux-gnu/libc-2.31.so", elf(x86, "", "no banner")),
				sym("lib/x86_64-linux-gnu/libc.so.6", "libc-2.31.so"),
				reg("usr/bin/python3.8", elf(x86, ldGNU, "\x003.8.10\x00")), sym("usr/bin/python3", "python3.8"), txt("usr/lib/python3.8/os.py", ""))),
			want: &Info{
				Target:           target.Target{Platform: "linux/amd64", Python: "3.8.10", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.31", Interpreter: "/usr/bin/python3.8"},
				StdlibDir:        "/usr/lib/python3.8",
				PythonCandidates: []string{"/usr/bin/python3.8"},
				PythonSource:     "the version string in /usr/bin/python3.8",
				LibcSource:       "the name of /lib/x86_64-linux-gnu/libc-2.31.so",
			},
		},
		{
			name: "glibc version from dpkg when the library says nothing",
			img: image(t, "amd64", nil, layer(t,
				reg("lib/x86_64-linux-gnu/libc.so.6", elf(x86, "", "nothing")), txt("var/lib/dpkg/status", dpkgStatus),
				reg("usr/bin/python3.11", elf(x86, ldGNU, "")), txt("usr/lib/python3.11/os.py", ""))),
			want: &Info{
				Target:           target.Target{Platform: "linux/amd64", Python: "3.11.2", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36", Interpreter: "/usr/bin/python3.11"},
				StdlibDir:        "/usr/lib/python3.11",
				PythonCandidates: []string{"/usr/bin/python3.11"},
				PythonSource:     "dpkg's record of python3.11-minimal",
				LibcSource:       "dpkg's record of libc6",
			},
		},
		{
			name: "conda python, version from conda-meta, hard-linked from pkgs",
			img: image(t, "amd64", []string{"PATH=/opt/conda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
				layer(t, reg("lib/x86_64-linux-gnu/libc.so.6", elf(x86, "", glibcBody))),
				layer(t,
					reg("opt/conda/pkgs/python-3.11.5-h955ad1f_0/bin/python3.11", elf(x86, ldGNU, "\x003.11.5\x00")),
					hard("opt/conda/bin/python3.11", "opt/conda/pkgs/python-3.11.5-h955ad1f_0/bin/python3.11"),
					sym("opt/conda/bin/python3", "python3.11"), sym("opt/conda/bin/python", "python3.11"),
					txt("opt/conda/lib/python3.11/os.py", ""), dir("opt/conda/lib/python3.11/site-packages"),
					txt("opt/conda/conda-meta/python-3.11.5-h955ad1f_0.json", `{"build": "h955ad1f_0", "name": "python", "version": "3.11.5"}`))),
			want: &Info{
				Target:           target.Target{Platform: "linux/amd64", Python: "3.11.5", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36", Interpreter: "/opt/conda/bin/python3.11"},
				StdlibDir:        "/opt/conda/lib/python3.11",
				SitePackages:     []string{"/opt/conda/lib/python3.11/site-packages"},
				PythonCandidates: []string{"/opt/conda/bin/python3.11"},
				PythonSource:     "conda-meta/python-3.11.5-h955ad1f_0.json",
				LibcSource:       "the version string in /lib/x86_64-linux-gnu/libc.so.6",
			},
		},
		{
			name: "free-threaded python3.13t",
			img: image(t, "amd64", nil, layer(t,
				reg("lib/x86_64-linux-gnu/libc.so.6", elf(x86, "", glibcBody)),
				reg("usr/local/bin/python3.13t", elf(x86, ldGNU, "\x003.13.1\x00")), sym("usr/local/bin/python3", "python3.13t"),
				txt("usr/local/lib/python3.13t/os.py", ""))),
			want: &Info{
				Target:           target.Target{Platform: "linux/amd64", Python: "3.13.1", Implementation: "cpython", FreeThreaded: true, Libc: "glibc", LibcVersion: "2.36", Interpreter: "/usr/local/bin/python3.13t"},
				StdlibDir:        "/usr/local/lib/python3.13t",
				PythonCandidates: []string{"/usr/local/bin/python3.13t"},
				PythonSource:     "the version string in /usr/local/bin/python3.13t",
				LibcSource:       "the version string in /lib/x86_64-linux-gnu/libc.so.6",
			},
		},
		{
			name: "without a python3 link, the newest python3.N with a stdlib",
			img: image(t, "amd64", nil, layer(t,
				reg("lib/x86_64-linux-gnu/libc.so.6", elf(x86, "", glibcBody)),
				reg("usr/bin/python3.10", elf(x86, ldGNU, "\x003.10.12\x00")), txt("usr/lib/python3.10/os.py", ""),
				reg("usr/bin/python3.12", elf(x86, ldGNU, "\x003.12.3\x00")))),
			want: &Info{
				Target:           target.Target{Platform: "linux/amd64", Python: "3.10.12", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36", Interpreter: "/usr/bin/python3.10"},
				StdlibDir:        "/usr/lib/python3.10",
				PythonCandidates: []string{"/usr/bin/python3.12", "/usr/bin/python3.10"},
				PythonSource:     "the version string in /usr/bin/python3.10",
				LibcSource:       "the version string in /lib/x86_64-linux-gnu/libc.so.6",
			},
		},
		{
			name: "/opt/python*/bin is searched last",
			img: image(t, "amd64", nil, layer(t,
				reg("lib/x86_64-linux-gnu/libc.so.6", elf(x86, "", glibcBody)),
				reg("opt/python-3.12/bin/python3.12", elf(x86, ldGNU, "\x003.12.4\x00")), txt("opt/python-3.12/lib/python3.12/os.py", ""))),
			want: &Info{
				Target:           target.Target{Platform: "linux/amd64", Python: "3.12.4", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36", Interpreter: "/opt/python-3.12/bin/python3.12"},
				StdlibDir:        "/opt/python-3.12/lib/python3.12",
				PythonCandidates: []string{"/opt/python-3.12/bin/python3.12"},
				PythonSource:     "the version string in /opt/python-3.12/bin/python3.12",
				LibcSource:       "the version string in /lib/x86_64-linux-gnu/libc.so.6",
			},
		},
		{
			name: "the image's PATH order wins over the system python",
			img: image(t, "amd64", []string{"PATH=/opt/conda/bin:/usr/bin:/bin"}, layer(t, append(debian(sym("usr/bin/python3", "python3.11")),
				reg("opt/conda/bin/python3.12", elf(x86, ldGNU, "\x003.12.2\x00")), sym("opt/conda/bin/python3", "python3.12"),
				txt("opt/conda/lib/python3.12/os.py", ""))...)),
			want: &Info{
				Target:           target.Target{Platform: "linux/amd64", Python: "3.12.2", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36", Interpreter: "/opt/conda/bin/python3.12"},
				StdlibDir:        "/opt/conda/lib/python3.12",
				PythonCandidates: []string{"/opt/conda/bin/python3.12"},
				PythonSource:     "the version string in /opt/conda/bin/python3.12",
				LibcSource:       "the version string in /usr/lib/x86_64-linux-gnu/libc.so.6",
			},
		},
		{
			name:     "arm64 base read on any host",
			platform: "linux/arm64/v8",
			img: image(t, "arm64", nil, layer(t,
				reg("lib/aarch64-linux-gnu/libc.so.6", elf(arm64, "", glibcBody)),
				reg("usr/bin/python3.11", elf(arm64, "/lib/ld-linux-aarch64.so.1", "\x003.11.2\x00")), sym("usr/bin/python3", "python3.11"),
				txt("usr/lib/python3.11/os.py", ""))),
			want: &Info{
				Target:           target.Target{Platform: "linux/arm64", Python: "3.11.2", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36", Interpreter: "/usr/bin/python3.11"},
				StdlibDir:        "/usr/lib/python3.11",
				PythonCandidates: []string{"/usr/bin/python3.11"},
				PythonSource:     "the version string in /usr/bin/python3.11",
				LibcSource:       "the version string in /lib/aarch64-linux-gnu/libc.so.6",
			},
		},
		{
			name:     "config says arm64, interpreter is x86_64",
			platform: "linux/arm64",
			img: image(t, "arm64", nil, layer(t,
				reg("lib/aarch64-linux-gnu/libc.so.6", elf(x86, "", glibcBody)),
				reg("usr/bin/python3.11", elf(x86, ldGNU, "\x003.11.2\x00")), txt("usr/lib/python3.11/os.py", ""))),
			wantErr: []string{`says linux/arm64 in its config`, "/usr/bin/python3.11 is built for x86_64 (ELF machine 62), not aarch64"},
		},
		{
			name:     "platform asked for is not the config's",
			platform: "linux/amd64",
			img:      image(t, "arm64", nil, layer(t)),
			wantErr:  []string{`was asked for as linux/amd64, but its config says "linux/arm64"`},
		},
		{
			name: "no C library",
			img: image(t, "amd64", nil, layer(t,
				reg("usr/bin/python3.11", elf(x86, "", "\x003.11.2\x00")), txt("usr/lib/python3.11/os.py", ""))),
			wantErr: []string{"has no C library envbuild can find"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Inspect(context.Background(), tt.img, tt.platform, "", WithRef("registry.example.com/base:1"))
			if tt.want == nil {
				if err == nil {
					t.Fatalf("Inspect = %+v, want an error", got)
				}
				if k := failure.KindOf(err); k != failure.KindUser {
					t.Errorf("error kind = %d, want %d (user)", k, failure.KindUser)
				}
				if got := errors.Is(err, ErrNoPython); got != tt.noPython {
					t.Errorf("errors.Is(err, ErrNoPython) = %v, want %v", got, tt.noPython)
				}
				for _, s := range append(tt.wantErr, `"registry.example.com/base:1"`) {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			d, _ := tt.img.Digest()
			tt.want.ManifestDigest = d.String()
			if !strings.HasPrefix(got.InterpreterDigest, "sha256:") || len(got.InterpreterDigest) != 71 {
				t.Errorf("InterpreterDigest = %q, want the sha256 of the interpreter's bytes", got.InterpreterDigest)
			}
			got.InterpreterDigest = ""
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Inspect =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestInspectCache(t *testing.T) {
	dir := t.TempDir()
	var opened atomic.Int32
	base := image(t, "amd64", []string{debianPath},
		layer(t, debianRoot("\x003.11.2\x00")...),
		layer(t, sym("usr/bin/python3", "python3.11")),
		layer(t, txt("etc/motd", "hello")))
	img := countingImage{Image: base, opened: &opened}

	first, err := Inspect(context.Background(), img, "linux/amd64", dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := opened.Load(); got != 3 {
		t.Errorf("first Inspect opened %d layers, want 3", got)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "baseimage-*.json"))
	if len(files) != 1 {
		t.Fatalf("cache files = %v, want one", files)
	}

	opened.Store(0)
	second, err := Inspect(context.Background(), img, "linux/amd64", dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := opened.Load(); got != 0 {
		t.Errorf("second Inspect opened %d layers, want 0 (cache hit)", got)
	}
	if !reflect.DeepEqual(first, second) {
		t.Errorf("cached Info =\n%+v\nwant\n%+v", second, first)
	}

	// Another image (another manifest digest) is read again.
	other := countingImage{Image: image(t, "amd64", []string{debianPath, "X=1"}, layer(t, append(debianRoot("\x003.11.2\x00"), sym("usr/bin/python3", "python3.11"))...)), opened: &opened}
	if _, err := Inspect(context.Background(), other, "linux/amd64", dir); err != nil {
		t.Fatal(err)
	}
	if got := opened.Load(); got != 1 {
		t.Errorf("Inspect of another image opened %d layers, want 1", got)
	}

	// A damaged cache file is ignored, not trusted.
	if err := os.WriteFile(files[0], []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	opened.Store(0)
	third, err := Inspect(context.Background(), img, "linux/amd64", dir)
	if err != nil || !reflect.DeepEqual(third, first) {
		t.Errorf("Inspect after a damaged cache = %+v, %v; want %+v", third, err, first)
	}
	if opened.Load() == 0 {
		t.Error("Inspect trusted a damaged cache file")
	}
}

// A top layer that replaces the whole root (opaque /) answers everything:
// the layers below are never opened.
func TestInspectStopsEarly(t *testing.T) {
	var opened atomic.Int32
	img := countingImage{opened: &opened, Image: image(t, "amd64", []string{debianPath},
		layer(t, txt("usr/bin/python3.9", "old base, must not be read")),
		layer(t, append([]entry{txt(".wh..wh..opq", "")}, append(debianRoot("\x003.11.2\x00"), sym("usr/bin/python3", "python3.11"))...)...))}
	info, err := Inspect(context.Background(), img, "linux/amd64", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := opened.Load(); got != 1 {
		t.Errorf("Inspect opened %d layers, want 1", got)
	}
	if info.Target.Interpreter != "/usr/bin/python3.11" || info.Target.Python != "3.11.2" {
		t.Errorf("Inspect = %+v, want python 3.11.2 at /usr/bin/python3.11", info.Target)
	}
}

// A lower layer must still be read when an upper one cannot answer alone:
// the python3 link is on top, its target below.
func TestInspectReadsLowerLayersWhenNeeded(t *testing.T) {
	var opened atomic.Int32
	img := countingImage{opened: &opened, Image: image(t, "amd64", []string{debianPath},
		layer(t, debianRoot("\x003.11.2\x00")...),
		layer(t, sym("usr/bin/python3", "python3.11")))}
	if _, err := Inspect(context.Background(), img, "linux/amd64", ""); err != nil {
		t.Fatal(err)
	}
	if got := opened.Load(); got != 2 {
		t.Errorf("Inspect opened %d layers, want 2", got)
	}
}

func TestInspectCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	img := image(t, "amd64", nil, layer(t, debianRoot("")...))
	if _, err := Inspect(ctx, img, "", ""); !errors.Is(err, context.Canceled) {
		t.Errorf("Inspect with a cancelled context: err = %v, want context.Canceled", err)
	}
}

// Layers that are not gzip, whatever their media type says, are read too.
func TestInspectUncompressedLayers(t *testing.T) {
	root := tarBytes(t, append(debianRoot("\x003.11.2\x00"), sym("usr/bin/python3", "python3.11"))...)
	for _, mt := range []types.MediaType{types.OCIUncompressedLayer, types.DockerLayer} {
		img := image(t, "amd64", []string{debianPath}, static.NewLayer(root, mt))
		info, err := Inspect(context.Background(), img, "linux/amd64", "")
		if err != nil {
			t.Fatalf("%s: %v", mt, err)
		}
		if info.Target.Python != "3.11.2" {
			t.Errorf("%s: Python = %q, want 3.11.2", mt, info.Target.Python)
		}
	}
}

// The interpreter digest identifies what compiles bytecode: the same
// interpreter under other layers gives the same digest, other interpreter
// bytes (or another libpython) another.
func TestInterpreterDigest(t *testing.T) {
	inspect := func(img v1.Image) string {
		t.Helper()
		info, err := Inspect(context.Background(), img, "linux/amd64", "")
		if err != nil {
			t.Fatal(err)
		}
		return info.InterpreterDigest
	}
	root := layer(t, debianRoot("\x00x\x003.11.2\x00y")...)
	a := inspect(image(t, "amd64", nil, root))
	b := inspect(image(t, "amd64", nil, root, layer(t, txt("etc/other-base.txt", "swap"))))
	c := inspect(image(t, "amd64", nil, layer(t, debianRoot("\x00x\x003.11.2\x00z")...)))
	d := inspect(image(t, "amd64", nil, root, layer(t, reg("usr/lib/libpython3.11.so.1.0", elf(x86, "", "\x003.11.2\x00")))))
	if a == "" || a != b {
		t.Errorf("the same interpreter under another layer: %q vs %q", a, b)
	}
	if c == a || d == a || c == d {
		t.Errorf("other interpreter bytes or another libpython kept the digest: %q %q %q", a, c, d)
	}
}
