package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/envbuild/envbuild/integration/condachannel"
	"github.com/envbuild/envbuild/integration/testbed"
	"github.com/envbuild/envbuild/lock/lockfile"
)

// flowStep is one step of `envbuild flow build --json`: a
// build object, or the base image of a step without an environment.
type flowStep struct {
	Image       string   `json:"image"`
	OCILayout   string   `json:"oci_layout"`
	Digest      string   `json:"digest"`
	EnvID       string   `json:"env_id"`
	Cached      bool     `json:"cached"`
	Platforms   []string `json:"platforms"`
	Layers      int      `json:"layers"`
	PushedBytes int64    `json:"pushed_bytes"`
	Disabled    bool     `json:"disabled"`
	Env         string   `json:"env"`
}

type flowRun struct {
	Steps map[string]flowStep `json:"steps"`
}

// builtSteps and baseSteps are the literal flow's steps with an
// environment and without one (a disabled @pypi, no decorator at all).
var (
	builtSteps = []string{"start", "transform", "tiny_conda"}
	baseSteps  = []string{"plain", "end"}
)

// mustFlowBuild runs `envbuild flow build --json --progress plain ARGS`,
// ARGS naming flow, which must succeed, and checks that FLOW.envbuild.json
// beside the flow holds what stdout printed.
func mustFlowBuild(t *testing.T, flow string, env []string, args ...string) (flowRun, string) {
	t.Helper()
	r := envbuild(t, filepath.Dir(flow), env, append([]string{"flow", "build", "--json", "--progress", "plain"}, args...)...)
	if r.code != 0 {
		t.Fatalf("flow build failed with exit %d:\n%s", r.code, tail(r.stderr, 80))
	}
	var out flowRun
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("flow build printed no JSON result: %v\n%s", err, r.stdout)
	}
	written, err := os.ReadFile(strings.TrimSuffix(flow, ".py") + ".envbuild.json")
	if err != nil {
		t.Fatalf("flow build did not write FLOW.envbuild.json: %v", err)
	}
	var fromStdout, fromFile any
	if err := json.Unmarshal([]byte(r.stdout), &fromStdout); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(written, &fromFile); err != nil {
		t.Fatalf("FLOW.envbuild.json is not JSON: %v\n%s", err, written)
	}
	if !reflect.DeepEqual(fromStdout, fromFile) {
		t.Errorf("FLOW.envbuild.json differs from the JSON on stdout:\nfile   %s\nstdout %s", written, r.stdout)
	}
	return out, r.stderr
}

// copyImage pushes the image src to dst on the bed's registries.
func copyImage(t *testing.T, src, dst string) {
	t.Helper()
	img := image(t, src)
	ref, err := name.ParseReference(dst, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("pushing %s as %s: %v", src, dst, err)
	}
}

// Done-when 4 of issue 5: every step image of examples/flows/literal_flow.py
// built on the test bed; inside each, the step's packages import with the
// environment's python and the base's python3-yaml does not; the steps
// without an environment get their base; a second run finds every image in
// the registry and builds nothing. Done-when 3 end to end: Metaflow, with
// the metaflow-envbuild extension installed, gives each step that image.
func TestFlowBuildLiteralFlow(t *testing.T) {
	bed := testbed.Require(t)
	ctx := context.Background()
	root, err := testbed.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}

	// transform's @kubernetes(image="python:3.11-slim") has no registry
	// part, so --registry-prefix makes it <bed.Registry>/python:3.11-slim:
	// the Debian base, pushed there.
	copyImage(t, bed.Base, bed.Registry+"/python:3.11-slim")

	// tiny_conda asks for conda-forge::six: "conda-forge" resolves against
	// the channel_alias of the .condarc named by CONDARC, a channel served
	// here under /conda-forge/ with a python 3.11 repackaged from the
	// Debian base and a noarch six.
	chanRoot := t.TempDir()
	if err := condachannel.Write(filepath.Join(chanRoot, "conda-forge"), []condachannel.Package{repackagedPython(t, bed.Base, "x86_64"), sixPackage()}); err != nil {
		t.Fatal(err)
	}
	srv := condachannel.Serve(chanRoot)
	defer srv.Close()
	condarc := filepath.Join(t.TempDir(), "condarc")
	if err := os.WriteFile(condarc, []byte("channel_alias: "+srv.URL+"/\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(root, "examples", "flows", "literal_flow.py"))
	if err != nil {
		t.Fatal(err)
	}
	flow := filepath.Join(dir, "literal_flow.py")
	if err := os.WriteFile(flow, src, 0o644); err != nil {
		t.Fatal(err)
	}
	// A repository of this run's own, as in the conda tests: the channel's
	// address is in conda-meta but not in the env id, so an earlier run's
	// image on a reused bed would be a cache hit.
	repo := fmt.Sprintf("%s/envs/flow-%d", bed.Registry, time.Now().UnixNano())
	env := []string{"ENVBUILD_DEFAULT_CONTAINER_IMAGE=" + bed.Base, "CONDARC=" + condarc, "CONDA_CHANNELS=", "CONDA_CHANNEL_ALIAS="}
	args := []string{"--registry", repo, "--registry-prefix", bed.Registry}

	first, _ := mustFlowBuild(t, flow, env, append(args, flow)...)
	if got, want := sortedKeys(first.Steps), []string{"end", "plain", "start", "tiny_conda", "transform"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("steps in the JSON %q, want %q", got, want)
	}
	seen := map[string]string{}
	for _, n := range builtSteps {
		s := first.Steps[n]
		if s.Cached || s.Disabled || len(s.EnvID) < 16 || !strings.HasPrefix(s.Image, repo+":env-"+s.EnvID[:16]+"@"+s.Digest) || s.Layers == 0 || s.PushedBytes <= 0 {
			t.Errorf("step %s: %+v; want a fresh build pushed to %s:env-<id>@<digest>", n, s, repo)
		}
		if other, dup := seen[s.EnvID]; dup {
			t.Errorf("steps %s and %s share env id %s; their environments differ", other, n, s.EnvID)
		}
		seen[s.EnvID] = n
	}
	for _, n := range baseSteps {
		if s := first.Steps[n]; !reflect.DeepEqual(s, flowStep{Image: bed.Base, Disabled: true}) {
			t.Errorf("step %s: %+v; want only its base image %s and disabled", n, s, bed.Base)
		}
	}

	// One lock beside the flow, one environment per built step.
	lf, err := lockfile.Read(filepath.Join(dir, "literal_flow.envbuild.lock"))
	if err != nil || lf == nil {
		t.Fatalf("reading the flow's lock: %v", err)
	}
	// Each is locked against its step's base: transform's written
	// python:3.11-slim with the registry prefix, the others the default
	// image; tiny_conda's six from conda-forge, through the alias.
	baseRef, err := name.ParseReference(bed.Base, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	debianRepo := baseRef.Context().Name()
	wantLock := map[string]string{
		"start":      debianRepo + "@sha256: base",
		"transform":  bed.Registry + "/python@sha256: base",
		"tiny_conda": debianRepo + "@sha256: conda",
	}
	for _, e := range lf.Envs {
		want, ok := wantLock[e.Name]
		if !ok || len(e.Targets) != 1 {
			t.Errorf("lock environment %q with %d targets; want one target of each of %q", e.Name, len(e.Targets), builtSteps)
			continue
		}
		delete(wantLock, e.Name)
		lt := e.Targets[0]
		wantBase, wantSource, _ := strings.Cut(want, " ")
		if !strings.HasPrefix(lt.Base, wantBase) || lt.PythonSource != lockfile.PythonSource(wantSource) || lt.Python != "3.11.2" {
			t.Errorf("lock of %s: base %q, python %s from %q; want %s…, 3.11.2 from %q", e.Name, lt.Base, lt.Python, lt.PythonSource, wantBase, wantSource)
		}
		for _, p := range lt.Packages {
			if p.Source == lockfile.SourceConda && !strings.HasPrefix(p.URL, srv.URL+"/conda-forge/") {
				t.Errorf("lock of %s: conda package %s from %q, want the channel %s/conda-forge", e.Name, p.Name, p.URL, srv.URL)
			}
		}
	}
	if len(wantLock) != 0 {
		t.Errorf("the lock has no environment for %q", sortedKeys(wantLock))
	}

	runIn := func(step string, argv ...string) (string, string, int) {
		t.Helper()
		out, errOut, code, err := bed.Run(ctx, first.Steps[step].Image, "linux/amd64", argv, nil)
		if err != nil {
			t.Fatalf("running %q in %s's image: %v", argv, step, err)
		}
		return strings.TrimSpace(string(out)), string(errOut), code
	}
	for _, tc := range []struct {
		step, probe, want string
	}{
		// PyPI on the base's own python (@pypi(python="3.11") is the
		// Debian base's version): a venv-style prefix.
		{"start", "import requests, sys; print(sys.prefix, requests.__version__)", prefix + " 2.32.3"},
		// transform asked for pyyaml itself: it is PyPI's, in the
		// environment, not the base's python3-yaml.
		{"transform", "import six, sys, yaml; print(sys.prefix, yaml.__version__, yaml.__file__.startswith(sys.prefix + '/lib/python3.11/site-packages/'), six.__file__.startswith(sys.prefix + '/'))", prefix + " 6.0.2 True True"},
		// conda's python and six, from the conda-forge name.
		{"tiny_conda", "import os, six, sys; print(sys.prefix, six.__version__, six.__file__.startswith(sys.prefix + '/'), os.path.exists(sys.prefix + '/conda-meta/python-3.11.2-h_envbuild_0.json'))", prefix + " 1.16.0 True True"},
	} {
		for _, py := range []string{"python", prefix + "/bin/python"} {
			if out, errOut, code := runIn(tc.step, py, "-c", tc.probe); code != 0 || out != tc.want {
				t.Errorf("step %s, %s -c %q: exit %d, out %q, want %q\n%s", tc.step, py, tc.probe, code, out, tc.want, errOut)
			}
		}
		// Nothing of the base's site-packages is on the environment's path.
		if out, errOut, code := runIn(tc.step, "python", "-c", "import sys; print([p for p in sys.path if 'dist-packages' in p])"); code != 0 || out != "[]" {
			t.Errorf("step %s: the base's dist-packages on sys.path: exit %d, %q %s", tc.step, code, out, errOut)
		}
		// The base still has its python3-yaml, for its own python.
		if out, errOut, code := runIn(tc.step, "/usr/bin/python3", "-c", "import yaml; print(yaml.__file__)"); code != 0 || !strings.HasPrefix(out, "/usr/lib/python3/dist-packages/yaml/") {
			t.Errorf("step %s: the base's own python does not find its python3-yaml: exit %d, %q %s", tc.step, code, out, errOut)
		}
	}
	for _, step := range []string{"start", "tiny_conda"} {
		if _, errOut, code := runIn(step, "python", "-c", "import yaml"); code == 0 || !strings.Contains(errOut, "No module named 'yaml'") {
			t.Errorf("step %s: the base's python3-yaml is visible from the environment (exit %d, %q)", step, code, errOut)
		}
	}

	// Again, with no BuildKit daemon: every environment is in the registry.
	// The flags after the flow, as the README writes them.
	tagsBefore := listTags(t, repo)
	again, stderr := mustFlowBuild(t, flow, env, append(append([]string{flow}, args...), "--buildkit-addr", "unix:///nonexistent.sock")...)
	for _, n := range builtSteps {
		s, f := again.Steps[n], first.Steps[n]
		if !s.Cached || s.Image != f.Image || s.Digest != f.Digest || s.EnvID != f.EnvID {
			t.Errorf("step %s on the second run: %+v; want the first run's %s, cached", n, s, f.Image)
		}
		if !tableHas(stderr, n, "cached", f.Image) {
			t.Errorf("the table on stderr does not show %s cached as %s:\n%s", n, f.Image, stderr)
		}
	}
	for _, n := range baseSteps {
		if s := again.Steps[n]; !reflect.DeepEqual(s, flowStep{Image: bed.Base, Disabled: true}) {
			t.Errorf("step %s on the second run: %+v; want its base image %s and disabled", n, s, bed.Base)
		}
	}
	// Read without Metaflow (no python at that path): the static reader
	// sees the same environments, so the same images, all cached.
	static, _ := mustFlowBuild(t, flow, env, append(append([]string{flow}, args...), "--python", filepath.Join(dir, "no-such-python"), "--buildkit-addr", "unix:///nonexistent.sock")...)
	if !reflect.DeepEqual(static.Steps, again.Steps) {
		t.Errorf("read without metaflow, the flow gave\n%+v\nread with it\n%+v", static.Steps, again.Steps)
	}
	if tagsAfter := listTags(t, repo); !reflect.DeepEqual(tagsBefore, tagsAfter) {
		t.Errorf("the second run changed the repository's tags: %q, then %q", tagsBefore, tagsAfter)
	}

	// A step renamed: its environment is the same, so its image is cached,
	// and the flow's lock forgets the old name.
	renamedDir := t.TempDir()
	renamed := filepath.Join(renamedDir, "literal_flow.py")
	if err := os.WriteFile(renamed, []byte(strings.ReplaceAll(string(src), "transform", "reshape")), 0o644); err != nil {
		t.Fatal(err)
	}
	lockData, err := os.ReadFile(filepath.Join(dir, "literal_flow.envbuild.lock"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(renamedDir, "literal_flow.envbuild.lock"), lockData, 0o644); err != nil {
		t.Fatal(err)
	}
	moved, _ := mustFlowBuild(t, renamed, env, append(append([]string{renamed}, args...), "--buildkit-addr", "unix:///nonexistent.sock")...)
	if s := moved.Steps["reshape"]; !s.Cached || s.Image != first.Steps["transform"].Image {
		t.Errorf("the renamed step: %+v; want transform's image %s, cached", s, first.Steps["transform"].Image)
	}
	lf, err = lockfile.Read(filepath.Join(renamedDir, "literal_flow.envbuild.lock"))
	if err != nil || lf == nil {
		t.Fatalf("reading the renamed flow's lock: %v", err)
	}
	var names []string
	for _, e := range lf.Envs {
		names = append(names, e.Name)
	}
	if got, want := strings.Join(names, " "), "reshape start tiny_conda"; got != want {
		t.Errorf("the renamed flow's lock holds environments %q, want %q", got, want)
	}

	t.Run("metaflow assigns the built images", func(t *testing.T) {
		checkMetaflowImages(t, root, flow, first)
	})
}

// tableHas reports whether some line of the table holds exactly the
// fields step, status and image.
func tableHas(table, step, status, image string) bool {
	for _, l := range strings.Split(table, "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == step && f[1] == status && f[2] == image {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkMetaflowImages loads flow through Metaflow's command line with
// metaflow-envbuild pip-installed (frontends/metaflow/extension) and the
// FLOW.envbuild.json envbuild wrote beside it, every step on Kubernetes, and
// checks each step is given the image envbuild built for it
// (frontends/metaflow/extension/tests/show_images.py reports them).
func checkMetaflowImages(t *testing.T, root, flow string, built flowRun) {
	if out, err := exec.Command("python3", "-c", "import metaflow").CombinedOutput(); err != nil {
		msg := "python3 cannot import metaflow (pip install metaflow): " + strings.TrimSpace(string(out))
		if os.Getenv("ENVBUILD_REQUIRE_METAFLOW") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// pip may write build files beside the sources: install from a copy.
	ext := filepath.Join(t.TempDir(), "metaflow-envbuild")
	if out, err := exec.Command("cp", "-r", filepath.Join(root, "frontends", "metaflow", "extension"), ext).CombinedOutput(); err != nil {
		t.Fatalf("copying the extension: %v\n%s", err, out)
	}
	site := filepath.Join(t.TempDir(), "site")
	pip := exec.Command("python3", "-m", "pip", "install", "--quiet", "--no-deps", "--target", site, ext)
	if out, err := pip.CombinedOutput(); err != nil {
		t.Fatalf("pip install of the extension: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(site, "metaflow_extensions", "envbuild", "plugins", "mfextinit_envbuild.py")); err != nil {
		t.Fatalf("pip did not install the extension's plugins: %v", err)
	}

	tmp := t.TempDir()
	mfEnv := append(os.Environ(),
		"PYTHONPATH="+site,
		"METAFLOW_DATASTORE_SYSROOT_LOCAL="+filepath.Join(tmp, "local"),
		"METAFLOW_DATASTORE_SYSROOT_S3=s3://envbuild-test/metaflow",
		"METAFLOW_USER=envbuild-test",
		"ENVBUILD_FLOW_IMAGES=", // FLOW.envbuild.json beside the flow, as envbuild wrote it
	)

	// Metaflow's own command line accepts the environment.
	show := exec.Command("python3", flow, "--environment=envbuild", "--datastore=s3", "show")
	show.Dir, show.Env = tmp, mfEnv
	out, err := show.CombinedOutput()
	if err != nil {
		t.Fatalf("python3 literal_flow.py --environment=envbuild --datastore=s3 show: %v\n%s", err, tail(string(out), 40))
	}
	for n := range built.Steps {
		if !strings.Contains(string(out), "Step "+n+"\n") {
			t.Errorf("metaflow's show does not list step %s:\n%s", n, out)
		}
	}

	cmd := exec.Command("python3", filepath.Join(root, "frontends", "metaflow", "extension", "tests", "show_images.py"), flow,
		"--environment=envbuild", "--datastore=s3", "--with", "kubernetes")
	cmd.Dir = tmp
	// Without init_environment: a run would rebuild for its own --with and
	// datastore (TestMetaflowTasksRunInTheirImages does); this reads the
	// JSON beside the flow as a run's `kubernetes step` launcher does.
	cmd.Env = mfEnv
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("show_images.py: %v\n%s", err, tail(stderr.String(), 40))
	}
	var shown struct {
		Environment string `json:"environment"`
		Steps       map[string]struct {
			Image      *string `json:"image"`
			Executable string  `json:"executable"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(stdout.String()), &shown); err != nil {
		t.Fatalf("show_images.py printed %q: %v\n%s", stdout.String(), err, stderr.String())
	}
	if shown.Environment != "envbuild" {
		t.Errorf("metaflow's environment is %q, want envbuild", shown.Environment)
	}
	if got, want := sortedKeys(shown.Steps), sortedKeys(built.Steps); !reflect.DeepEqual(got, want) {
		t.Fatalf("metaflow's steps %q, envbuild's %q", got, want)
	}
	for n, b := range built.Steps {
		s := shown.Steps[n]
		if s.Image == nil || *s.Image != b.Image {
			got := "none"
			if s.Image != nil {
				got = *s.Image
			}
			t.Errorf("step %s: metaflow gives image %s, envbuild built %s", n, got, b.Image)
		}
		wantExe := prefix + "/bin/python -s"
		if b.Disabled {
			wantExe = "python" // the base image's own
		}
		if s.Executable != wantExe {
			t.Errorf("step %s: metaflow runs it with %q, want %q", n, s.Executable, wantExe)
		}
	}
}
