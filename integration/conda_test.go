package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/envbuild/envbuild/integration/condachannel"
	"github.com/envbuild/envbuild/integration/testbed"
	"github.com/envbuild/envbuild/lock/lockfile"
)

// placeholder is the build prefix the test's packages were "built" in, as
// conda-build leaves it in files that name their prefix: longer than the
// fixed prefix, so binary files can be patched in place.
const placeholder = "/home/conda/feedstock_root/build_artifacts/envbuild_1700000000000/_h_env_placehold_placehold_placehold"

const prefix = "/opt/envbuild/env"

// Done-when 3 of issue 4: a local channel made here, in both archive
// formats, with a python repackaged from the Debian base's own
// interpreter, a noarch: python package with an entry point, and a static
// program with a binary prefix placeholder; built on the Debian base with
// PyPI packages on top.
func TestCondaEnvironmentFromLocalChannel(t *testing.T) {
	bed := testbed.Require(t)
	for _, tool := range []string{"gcc", "bzip2"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not on PATH: the test compiles a static program with gcc and writes .tar.bz2 packages with bzip2 (Debian: apt-get install gcc libc6-dev bzip2)", tool)
		}
	}
	ctx := context.Background()

	python := repackagedPython(t, bed.Base, "x86_64")
	pkgs := []condachannel.Package{python, helloPackage(), sixPackage(), prefixProgram(t)}
	chanDir := t.TempDir()
	if err := condachannel.Write(chanDir, pkgs); err != nil {
		t.Fatal(err)
	}
	srv := condachannel.Serve(chanDir)
	defer srv.Close()

	dir := t.TempDir()
	// A repository of this run's own: conda-meta's url and channel are
	// the channel's address, which changes between runs and does not enter
	// the env id, so an image of an earlier run on a reused
	// bed would be a cache hit holding that run's address.
	repo := fmt.Sprintf("%s/envs/conda-%d", bed.Registry, time.Now().UnixNano())
	res := mustBuild(t, dir, nil, "--conda", "envbuild-hello>=1", "--conda", "prefixprog", "--channel", srv.URL,
		"--pypi", "six>=1.10", "--pypi", "idna==3.7", "--base", bed.Base, "--registry", repo)

	// The lock: a conda Python, conda's six instead of PyPI's.
	lf, err := lockfile.Read(filepath.Join(dir, "envbuild.lock"))
	if err != nil || lf == nil {
		t.Fatalf("reading the lock: %v", err)
	}
	lt := lf.Envs[0].Targets[0]
	if lt.PythonSource != lockfile.PythonFromConda || lt.Python != "3.11.2" || lt.Interpreter != "" {
		t.Errorf("lock target %+v: want python-source conda, python 3.11.2, no interpreter", lt)
	}
	var locked []string
	for _, p := range lt.Packages {
		locked = append(locked, string(p.Source)+":"+p.Name+"="+p.Version)
	}
	if got, want := strings.Join(locked, " "), "conda:envbuild-hello=1.0 pypi:idna=3.7 conda:prefixprog=1.0 conda:python=3.11.2 conda:six=1.16.0"; got != want {
		t.Errorf("locked %s\nwant   %s", got, want)
	}

	run := func(argv ...string) (string, string, int) {
		t.Helper()
		out, errOut, code, err := bed.Run(ctx, res.Image, "linux/amd64", argv, nil)
		if err != nil {
			t.Fatalf("running %q: %v", argv, err)
		}
		return string(out), string(errOut), code
	}

	// The environment's python: its own prefix, nothing of the base.
	const probe = `import json, sys, sysconfig, importlib, shutil
m = importlib.import_module(sysconfig._get_sysconfigdata_name())
print(json.dumps({"prefix": sys.prefix, "base_prefix": sys.base_prefix, "executable": sys.executable,
  "path": sys.path, "which": shutil.which("python"), "config_prefix": m.build_time_vars["prefix"],
  "venv": "VIRTUAL_ENV" in __import__("os").environ}))`
	out, errOut, code := run("python", "-c", probe)
	if code != 0 {
		t.Fatalf("the environment's python does not run: exit %d\n%s", code, errOut)
	}
	var info struct {
		Prefix       string   `json:"prefix"`
		BasePrefix   string   `json:"base_prefix"`
		Executable   string   `json:"executable"`
		Which        string   `json:"which"`
		ConfigPrefix string   `json:"config_prefix"`
		Path         []string `json:"path"`
		Venv         bool     `json:"venv"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("probe printed %q: %v", out, err)
	}
	if info.Prefix != prefix || info.BasePrefix != prefix || info.Which != prefix+"/bin/python" || info.Venv {
		t.Errorf("sys.prefix %q, base_prefix %q, python found at %q, VIRTUAL_ENV set %v: want %s, %s, %s/bin/python, false", info.Prefix, info.BasePrefix, info.Which, info.Venv, prefix, prefix, prefix)
	}
	if info.ConfigPrefix != prefix {
		t.Errorf("the text placeholder in sysconfigdata became %q, want %s", info.ConfigPrefix, prefix)
	}
	for _, p := range info.Path {
		if p != "" && !strings.HasPrefix(p, prefix+"/") {
			t.Errorf("sys.path holds %q, outside the environment (all: %q)", p, info.Path)
		}
	}
	if _, errOut, code := run("python", "-c", "import yaml"); code == 0 || !strings.Contains(errOut, "No module named 'yaml'") {
		t.Errorf("the base's python3-yaml is visible from the environment (exit %d, %q)", code, errOut)
	}
	if out, _, code := run("/usr/bin/python3", "-c", "import yaml; print('base-yaml-ok')"); code != 0 || !strings.Contains(out, "base-yaml-ok") {
		t.Errorf("the base's own python lost its yaml: exit %d %q", code, out)
	}

	// The noarch: python package's entry point, and its dependency.
	if out, errOut, code := run("envbuild-hello"); code != 0 || strings.TrimSpace(out) != "hello from envbuild_hello in "+prefix+" with six 1.16.0" {
		t.Errorf("entry point: exit %d, out %q, err %q", code, out, errOut)
	}
	// The compiled program found its prefix through the binary placeholder.
	wantProg := prefix + "\n" + prefix + "/share/prefixprog/data.txt\nprefixprog-data-ok\n"
	if out, errOut, code := run("prefixprog"); code != 0 || out != wantProg {
		t.Errorf("prefixprog: exit %d, out %q (want %q), err %q", code, out, wantProg, errOut)
	}
	// PyPI on top: idna importable and compiled with the environment's
	// python; six installed once, conda's.
	const pyCheck = `import idna, six, importlib.metadata as md, os, sys
sixes = [d.metadata["Version"] for d in md.distributions() if d.metadata["Name"].lower() == "six"]
site = os.path.dirname(idna.__file__)
print(idna.__version__, sixes, six.__file__.startswith(sys.prefix),
  sorted(f for f in os.listdir(site + "/__pycache__") if f.startswith("core.")),
  sorted(os.listdir(os.path.dirname(os.path.dirname(site)) + "/site-packages/envbuild_hello/__pycache__")))`
	wantPy := "3.7 ['1.16.0'] True ['core.cpython-311.pyc'] ['__init__.cpython-311.pyc', 'cli.cpython-311.pyc']"
	if out, errOut, code := run("python", "-c", pyCheck); code != 0 || strings.TrimSpace(out) != wantPy {
		t.Errorf("PyPI packages on the conda python: exit %d\n got %q\nwant %q\n%s", code, strings.TrimSpace(out), wantPy, errOut)
	}

	// conda-meta: one complete record per conda package.
	const metaDump = `import glob, json, os
print(json.dumps({os.path.basename(p): json.load(open(p)) for p in glob.glob("/opt/envbuild/env/conda-meta/*")}))`
	out, errOut, code = run("python", "-c", metaDump)
	if code != 0 {
		t.Fatalf("reading conda-meta: exit %d %s", code, errOut)
	}
	var meta map[string]map[string]any
	if err := json.Unmarshal([]byte(out), &meta); err != nil {
		t.Fatalf("conda-meta dump %q: %v", out, err)
	}
	var gotMeta []string
	for k := range meta {
		gotMeta = append(gotMeta, k)
	}
	sort.Strings(gotMeta)
	wantMeta := []string{"envbuild-hello-1.0-pyh_0.json", "prefixprog-1.0-h0_0.json", "python-3.11.2-h_envbuild_0.json", "six-1.16.0-pyh_0.json"}
	if strings.Join(gotMeta, " ") != strings.Join(wantMeta, " ") {
		t.Errorf("conda-meta holds %q, want %q", gotMeta, wantMeta)
	}
	for _, p := range lt.Packages {
		if p.Source != lockfile.SourceConda {
			continue
		}
		rec := meta[p.Name+"-"+p.Version+"-"+p.Build+".json"]
		if rec == nil {
			continue
		}
		files, _ := rec["files"].([]any)
		for k, want := range map[string]string{"name": p.Name, "version": p.Version, "build": p.Build, "fn": p.Filename, "sha256": p.Sha256, "url": p.URL, "channel": p.Channel} {
			if got := fmt.Sprint(rec[k]); got != want {
				t.Errorf("conda-meta of %s: %s = %q, want %q", p.Name, k, got, want)
			}
		}
		if len(files) == 0 || rec["paths_data"] == nil || rec["depends"] == nil {
			t.Errorf("conda-meta of %s lacks files, paths_data or depends: %v", p.Name, rec)
		}
		rs, has := rec["requested_spec"]
		switch p.Name {
		case "envbuild-hello", "prefixprog", "python":
			if !has || rs != p.Spec {
				t.Errorf("conda-meta of %s: requested_spec %v, want %q", p.Name, rs, p.Spec)
			}
		default:
			if has {
				t.Errorf("conda-meta of %s, a dependency, has requested_spec %v", p.Name, rs)
			}
		}
	}

	cfg, err := image(t, res.Image).ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Join(cfg.Config.Env, "\n")
	if strings.Contains(env, "VIRTUAL_ENV=") || !strings.Contains(env, "PATH="+prefix+"/bin:") || !strings.Contains(env, "BASE_MARKER=from-base") {
		t.Errorf("image env %q: want PATH first, the base's variables and no VIRTUAL_ENV", cfg.Config.Env)
	}

	// Another environment sharing python and prefixprog shares their
	// layers: per-environment fields (requested_spec, url) stay out of them.
	other := mustBuild(t, t.TempDir(), nil, "--conda", "prefixprog", "--conda", "python=3.11", "--channel", srv.URL, "--base", bed.Base, "--registry", repo)
	first := map[string]bool{}
	for _, d := range layerDigests(t, image(t, res.Image)) {
		first[d] = true
	}
	otherLayers := layerDigests(t, image(t, other.Image))
	baseLayers := len(layerDigests(t, image(t, bed.Base)))
	if len(otherLayers) != baseLayers+3 {
		t.Fatalf("the second environment has %d layers, want the base's %d, python's, prefixprog's and the metadata layer", len(otherLayers), baseLayers)
	}
	for i, d := range otherLayers[:len(otherLayers)-1] {
		if !first[d] {
			t.Errorf("layer %d (%s) of the second environment is not in the first: the package layers differ between environments", i, d)
		}
	}
	if first[otherLayers[len(otherLayers)-1]] {
		t.Errorf("the two environments share their metadata layer")
	}

	// The same environment from envbuild.toml, the channel named there:
	// the same packages give the same env id, so the registry has it.
	tomlDir := t.TempDir()
	toml := fmt.Sprintf(`base = %q
repository = %q

[conda]
packages = { "envbuild-hello" = ">=1", prefixprog = "" }
channels = [%q]

[pypi]
packages = { six = ">=1.10", idna = "3.7" }
`, bed.Base, repo, srv.URL)
	if err := os.WriteFile(filepath.Join(tomlDir, "envbuild.toml"), []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	again := mustBuild(t, tomlDir, nil)
	if !again.Cached || again.EnvID != res.EnvID {
		t.Errorf("envbuild.toml's build: cached %v, env id %s; want the flags' %s, cached", again.Cached, again.EnvID, res.EnvID)
	}
}

// sitecustomize puts the prefix's site-packages on sys.path: upstream
// CPython's site module (and so conda's python) looks there, but Debian's,
// frozen into its python3.11 binary, looks in dist-packages directories
// only. Debian's own sitecustomize.py is a link into /etc and is left out.
const sitecustomize = `# Added by envbuild's test: conda's python uses lib/pythonX.Y/site-packages.
import os, site, sys
site.addsitedir(os.path.join(sys.prefix, "lib", "python%d.%d" % sys.version_info[:2], "site-packages"))
`

// repackagedPython is a conda python package made from the Debian base's
// own interpreter and standard library, laid out as conda lays out a
// prefix (bin/python3.11, lib/python3.11/…). Debian's interpreter finds
// its standard library relative to its executable, so it runs from any
// prefix. Two changes make it conda's python rather than Debian's: a
// sitecustomize.py adds lib/python3.11/site-packages (see sitecustomize),
// and the sysconfig data names the build prefix placeholder instead of
// /usr. Shared libraries beyond glibc (libz, libexpat) come from the
// base, as glibc does; the test checks they are there. arch is the
// base's machine, x86_64 or aarch64.
func repackagedPython(t *testing.T, base, arch string) condachannel.Package {
	t.Helper()
	subdir, machine := "linux-64", elf.EM_X86_64
	if arch == "aarch64" {
		subdir, machine = "linux-aarch64", elf.EM_AARCH64
	}
	img := image(t, base)
	rc := mutate.Extract(img)
	defer rc.Close()
	var files []condachannel.File
	var exe []byte
	have := map[string]bool{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the base image: %v", err)
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		have[name] = true
		if name == "usr/bin/python3.11" && h.Typeflag == tar.TypeReg {
			if exe, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
			continue
		}
		rel, ok := strings.CutPrefix(name, "usr/lib/python3.11/")
		if !ok || strings.Contains("/"+rel+"/", "/__pycache__/") || rel == "EXTERNALLY-MANAGED" {
			continue
		}
		dest := "lib/python3.11/" + rel
		switch h.Typeflag {
		case tar.TypeSymlink:
			if path.IsAbs(h.Linkname) {
				continue // Debian's sitecustomize.py -> /etc/python3.11/…: the base's, not ours
			}
			files = append(files, condachannel.File{Path: dest, Symlink: h.Linkname})
		case tar.TypeReg:
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			f := condachannel.File{Path: dest, Data: data, Exec: h.Mode&0o111 != 0}
			switch {
			case strings.HasPrefix(rel, "_sysconfigdata_"):
				f.Data = bytes.ReplaceAll(data, []byte("'/usr'"), []byte("'"+placeholder+"'"))
				f.Data = bytes.ReplaceAll(f.Data, []byte("'/usr/"), []byte("'"+placeholder+"/"))
				f.Placeholder, f.PlaceholderMode = placeholder, "text"
			}
			files = append(files, f)
		}
	}
	if exe == nil || !have["usr/lib/python3.11/os.py"] {
		t.Fatalf("the base image %s has no /usr/bin/python3.11 with its standard library", base)
	}
	ef, err := elf.NewFile(bytes.NewReader(exe))
	if err != nil {
		t.Fatalf("reading the base's python3.11: %v", err)
	}
	if ef.Machine != machine {
		t.Fatalf("the python3.11 of %s is %v, want %v", base, ef.Machine, machine)
	}
	needed, err := ef.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	for _, lib := range needed {
		if strings.HasPrefix(lib, "libpython") {
			t.Fatalf("the base's python3.11 links %s dynamically; this test expects Debian's statically linked interpreter", lib)
		}
		if !have["usr/lib/"+arch+"-linux-gnu/"+lib] && !have["lib/"+arch+"-linux-gnu/"+lib] {
			t.Fatalf("the base's python3.11 needs %s, which the base does not have", lib)
		}
	}
	files = append(files,
		condachannel.File{Path: "lib/python3.11/sitecustomize.py", Data: []byte(sitecustomize)},
		condachannel.File{Path: "bin/python3.11", Data: exe, Exec: true},
		condachannel.File{Path: "bin/python3", Symlink: "python3.11"},
		condachannel.File{Path: "bin/python", Symlink: "python3.11"},
	)
	return condachannel.Package{Name: "python", Version: "3.11.2", Build: "h_envbuild_0", Subdir: subdir, Format: "conda",
		Depends: []string{"__glibc >=2.17"}, Files: files}
}

func helloPackage() condachannel.Package {
	return condachannel.Package{Name: "envbuild-hello", Version: "1.0", Build: "pyh_0", Subdir: "noarch", Noarch: "python", Format: "tar.bz2",
		Depends: []string{"python >=3.8", "six >=1.10"}, EntryPoints: []string{"envbuild-hello = envbuild_hello.cli:main"},
		Files: []condachannel.File{
			{Path: "site-packages/envbuild_hello/__init__.py", Data: []byte("__version__ = '1.0'\n")},
			{Path: "site-packages/envbuild_hello/cli.py", Data: []byte("import sys\nimport six\n\n\ndef main():\n    print('hello from envbuild_hello in', sys.prefix, 'with six', six.__version__)\n")},
			{Path: "site-packages/envbuild_hello-1.0.dist-info/METADATA", Data: []byte("Metadata-Version: 2.1\nName: envbuild-hello\nVersion: 1.0\n")},
			{Path: "site-packages/envbuild_hello-1.0.dist-info/INSTALLER", Data: []byte("conda\n")},
		}}
}

// sixPackage is conda's six: a noarch: python package with its own
// .dist-info, which a PyPI requirement on six must not install again.
func sixPackage() condachannel.Package {
	return condachannel.Package{Name: "six", Version: "1.16.0", Build: "pyh_0", Subdir: "noarch", Noarch: "python", Format: "conda",
		Depends: []string{"python"},
		Files: []condachannel.File{
			{Path: "site-packages/six.py", Data: []byte("__version__ = '1.16.0'\n")},
			{Path: "site-packages/six-1.16.0.dist-info/METADATA", Data: []byte("Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n")},
			{Path: "site-packages/six-1.16.0.dist-info/INSTALLER", Data: []byte("conda\n")},
		}}
}

// prefixProgram is a static C program whose binary names its build prefix
// (a binary placeholder): it prints its prefix, a path under it, and the
// content of that file.
func prefixProgram(t *testing.T) condachannel.Package {
	t.Helper()
	dir := t.TempDir()
	src := fmt.Sprintf(`#include <stdio.h>
static char prefix[] = %q;
static char data[] = %q;
int main(void) {
	char line[256];
	FILE *f;
	printf("%%s\n%%s\n", prefix, data);
	f = fopen(data, "r");
	if (f == NULL) { perror(data); return 1; }
	while (fgets(line, sizeof line, f) != NULL) fputs(line, stdout);
	fclose(f);
	return 0;
}
`, placeholder, placeholder+"/share/prefixprog/data.txt")
	if err := os.WriteFile(filepath.Join(dir, "prog.c"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("gcc", "-static", "-O0", "-o", filepath.Join(dir, "prog"), filepath.Join(dir, "prog.c"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("gcc cannot build a static program here (is libc6-dev installed?): %v\n%s", err, out)
	}
	bin, err := os.ReadFile(filepath.Join(dir, "prog"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(bin, []byte(placeholder)) < 2 {
		t.Fatalf("the compiled program does not hold its placeholder twice")
	}
	return condachannel.Package{Name: "prefixprog", Version: "1.0", Build: "h0_0", Subdir: "linux-64", Format: "conda",
		Depends: []string{"__glibc >=2.17"},
		Files: []condachannel.File{
			{Path: "bin/prefixprog", Data: bin, Exec: true, Placeholder: placeholder, PlaceholderMode: "binary"},
			{Path: "share/prefixprog/data.txt", Data: []byte("prefixprog-data-ok\n")},
		}}
}

// Bad input for conda environments: the user's (exit 1, explained) and
// the channel's (exit 4), nothing pushed.
func TestCondaErrors(t *testing.T) {
	bed := testbed.Require(t)
	chanDir := t.TempDir()
	err := condachannel.Write(chanDir, []condachannel.Package{
		{Name: "python", Version: "3.11.2", Build: "h_0", Subdir: "linux-64", Format: "conda",
			Files: []condachannel.File{{Path: "bin/python3.11", Data: []byte("not run")}}},
		{Name: "needs-old-python", Version: "1.0", Build: "pyh_0", Subdir: "noarch", Noarch: "python", Format: "conda",
			Depends: []string{"python >=3.6,<3.9"}, Files: []condachannel.File{{Path: "site-packages/old.py", Data: []byte("")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := condachannel.Serve(chanDir)
	defer srv.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "channel down", http.StatusInternalServerError)
	}))
	defer failing.Close()
	repo := bed.Registry + "/envs/conda-errors"
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"unknown package", []string{"--conda", "envbuild-no-such-pkg", "--channel", srv.URL}, 1, []string{"envbuild-no-such-pkg"}},
		{"unsatisfiable", []string{"--conda", "needs-old-python", "--channel", srv.URL}, 1, []string{"cannot solve the conda environment", "needs-old-python", "python"}},
		{"bad spec", []string{"--conda", "python >=<3", "--channel", srv.URL}, 1, []string{`"python >=<3"`}},
		{"unknown channel", []string{"--conda", "python", "--channel", srv.URL + "/no-such-channel"}, 4, []string{"no-such-channel", "not found"}},
		{"channel unreachable", []string{"--conda", "python", "--channel", "http://127.0.0.1:1/channel"}, 4, []string{"127.0.0.1:1"}},
		{"channel answers 500", []string{"--conda", "python", "--channel", failing.URL}, 4, []string{"500"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := envbuild(t, t.TempDir(), nil, append([]string{"build", "--progress", "plain", "--base", bed.Base, "--registry", repo}, tc.args...)...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\n%s", r.code, tc.code, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("error does not mention %q: %q", w, r.stderr)
				}
			}
			if r.stdout != "" {
				t.Errorf("a failed build printed a result: %q", r.stdout)
			}
			if tags := listTags(t, repo); len(tags) != 0 {
				t.Errorf("a failed build pushed %v", tags)
			}
		})
	}
}

// docs/reference.md: a PyPI-only environment asking for another Python than the
// base's gets a conda python (channels from CONDA_CHANNELS here), and its
// PyPI packages are locked for that Python.
func TestPythonFromCondaForAnotherVersion(t *testing.T) {
	bed := testbed.Require(t)
	chanDir := t.TempDir()
	err := condachannel.Write(chanDir, []condachannel.Package{
		{Name: "python", Version: "3.12.1", Build: "h_0", Subdir: "linux-64", Format: "conda",
			Files: []condachannel.File{{Path: "bin/python3.12", Data: []byte("only locked here, never run")}}},
		{Name: "python", Version: "3.11.2", Build: "h_0", Subdir: "linux-64", Format: "conda",
			Files: []condachannel.File{{Path: "bin/python3.11", Data: []byte("only locked here, never run")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := condachannel.Serve(chanDir)
	defer srv.Close()
	dir := t.TempDir()
	r := envbuild(t, dir, []string{"CONDA_CHANNELS=" + srv.URL}, "lock", "--pypi", "six==1.16.0", "--python", "3.12", "--base", bed.Base)
	if r.code != 0 {
		t.Fatalf("lock failed with exit %d:\n%s", r.code, r.stderr)
	}
	lf, err := lockfile.Read(filepath.Join(dir, "envbuild.lock"))
	if err != nil || lf == nil {
		t.Fatalf("reading the lock: %v", err)
	}
	lt := lf.Envs[0].Targets[0]
	var got []string
	for _, p := range lt.Packages {
		got = append(got, string(p.Source)+":"+p.Name+"="+p.Version)
	}
	if lt.PythonSource != lockfile.PythonFromConda || lt.Python != "3.12.1" || lt.Interpreter != "" || strings.Join(got, " ") != "conda:python=3.12.1 pypi:six=1.16.0" {
		t.Errorf("lock target: python-source %q, python %q, interpreter %q, packages %q; want conda, 3.12.1, none, conda python and PyPI six",
			lt.PythonSource, lt.Python, lt.Interpreter, got)
	}
}

// An arm64 conda environment built on the amd64 BuildKit without
// emulation: the arm64 base's own python repackaged for linux-aarch64 and
// a noarch: python package, installed by the host's installer; nothing of
// the target runs, so bytecode is skipped, and the build says so.
func TestCondaArm64WithoutEmulation(t *testing.T) {
	bed := testbed.Require(t)
	if _, err := exec.LookPath("bzip2"); err != nil {
		t.Skip("bzip2 is not on PATH: the test writes .tar.bz2 packages with it (Debian: apt-get install bzip2)")
	}
	ctx := context.Background()
	chanDir := t.TempDir()
	if err := condachannel.Write(chanDir, []condachannel.Package{repackagedPython(t, bed.BaseARM64, "aarch64"), helloPackage(), sixPackage()}); err != nil {
		t.Fatal(err)
	}
	srv := condachannel.Serve(chanDir)
	defer srv.Close()
	dir := t.TempDir()
	r := envbuild(t, dir, nil, "build", "--json", "--progress", "plain", "--conda", "envbuild-hello", "--channel", srv.URL,
		"--platform", "linux/arm64", "--base", bed.BaseARM64, "--registry", fmt.Sprintf("%s/envs/conda-arm64-%d", bed.Registry, time.Now().UnixNano()))
	if r.code != 0 {
		t.Fatalf("build failed with exit %d:\n%s", r.code, tail(r.stderr, 80))
	}
	var res result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("no JSON result: %v\n%s", err, r.stdout)
	}
	if !strings.Contains(r.stderr, "bytecode not compiled for linux/arm64") {
		t.Errorf("the build does not say bytecode was skipped:\n%s", r.stderr)
	}
	cfg, err := image(t, res.Image).ConfigFile()
	if err != nil || cfg.Architecture != "arm64" {
		t.Fatalf("image architecture %q (%v), want arm64", cfg.Architecture, err)
	}
	exe, err := bed.ReadFile(ctx, res.Image, "linux/arm64", prefix+"/bin/python")
	if err != nil {
		t.Fatal(err)
	}
	if ef, err := elf.NewFile(bytes.NewReader(exe)); err != nil || ef.Machine != elf.EM_AARCH64 {
		t.Errorf("%s/bin/python is not an aarch64 program (%v)", prefix, err)
	}
	files, err := bed.ListFiles(ctx, res.Image, "linux/arm64", prefix)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range files {
		have[f] = true
		if strings.Contains(f, "/__pycache__/") && strings.Contains(f, "site-packages") {
			t.Errorf("bytecode %s was compiled for arm64 on an amd64 BuildKit", f)
		}
	}
	for _, want := range []string{
		prefix + "/lib/python3.11/site-packages/envbuild_hello/cli.py",
		prefix + "/lib/python3.11/site-packages/six.py",
		prefix + "/bin/envbuild-hello",
		prefix + "/conda-meta/python-3.11.2-h_envbuild_0.json",
		prefix + "/conda-meta/envbuild-hello-1.0-pyh_0.json",
		prefix + "/conda-meta/six-1.16.0-pyh_0.json",
	} {
		if !have[want] {
			t.Errorf("%s is missing from the arm64 image", want)
		}
	}
	if have[prefix+"/pyvenv.cfg"] {
		t.Errorf("a conda environment got a pyvenv.cfg")
	}
	ep, err := bed.ReadFile(ctx, res.Image, "linux/arm64", prefix+"/bin/envbuild-hello")
	if err != nil || !strings.HasPrefix(string(ep), "#!"+prefix+"/bin/python") {
		t.Errorf("entry point %q (%v): want a script run by the environment's python", ep, err)
	}
}
