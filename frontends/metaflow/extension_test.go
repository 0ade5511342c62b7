package metaflow

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

type shownStep struct {
	Image      *string  `json:"image"`
	Executable string   `json:"executable"`
	Bootstrap  []string `json:"bootstrap"`
}

// showImages loads flow through Metaflow's command line with the
// metaflow-envbuild extension on the path and reports what each step would
// be launched with (extension/tests/show_images.py).
func showImages(t *testing.T, flow string, env []string, args ...string) (map[string]shownStep, error) {
	t.Helper()
	ext, err := filepath.Abs("extension")
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(flow)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	cmd := exec.Command("python3", append([]string{filepath.Join(ext, "tests", "show_images.py"), abs}, args...)...)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(),
		"PYTHONPATH="+ext,
		"METAFLOW_DATASTORE_SYSROOT_LOCAL="+filepath.Join(tmp, "local"),
		"METAFLOW_DATASTORE_SYSROOT_S3=s3://envbuild-test/metaflow",
		"METAFLOW_USER=envbuild-test",
		"ENVBUILD_FLOW_IMAGES=",
	)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, &exec.ExitError{ProcessState: cmd.ProcessState, Stderr: []byte(stderr.String())}
	}
	var out struct {
		Environment string               `json:"environment"`
		Steps       map[string]shownStep `json:"steps"`
	}
	if err := json.Unmarshal([]byte(stdout.String()), &out); err != nil {
		t.Fatalf("reading show_images.py output %q: %v\nstderr:\n%s", stdout.String(), err, stderr.String())
	}
	if out.Environment != "envbuild" {
		t.Fatalf("environment is %q, want envbuild", out.Environment)
	}
	return out.Steps, nil
}

// imagesJSON writes the JSON `envbuild flow build --json` prints for the
// literal flow: one image per step, the base image for the disabled step and
// for the step without @pypi/@conda.
func imagesJSON(t *testing.T, path string) map[string]string {
	t.Helper()
	return imagesJSONFor(t, path, literalFlow, []string{"kubernetes"}, "s3")
}

// imagesJSONFor is imagesJSON recording that the images were built from
// flow, with the --with values withs, for the datastore deps, by the
// python3 on PATH.
func imagesJSONFor(t *testing.T, path, flow string, withs []string, deps string) map[string]string {
	t.Helper()
	images := map[string]string{
		"start":      "registry.example.com/envs:env-1111111111111111@sha256:" + strings.Repeat("1", 64),
		"transform":  "registry.example.com/envs:env-2222222222222222@sha256:" + strings.Repeat("2", 64),
		"tiny_conda": "registry.example.com/envs:env-3333333333333333@sha256:" + strings.Repeat("3", 64),
		"plain":      "docker.io/library/python:3.11-slim",
		"end":        "docker.io/library/python:3.11-slim",
	}
	steps := map[string]any{}
	for name, img := range images {
		s := map[string]any{"image": img, "cached": true}
		if name == "plain" || name == "end" {
			s = map[string]any{"image": img, "disabled": true}
		}
		steps[name] = s
	}
	src, err := os.ReadFile(flow)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("python3", "-c", "import platform; print(platform.python_version())").Output()
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string]any{"flow_sha256": fmt.Sprintf("sha256:%x", sha256.Sum256(src)), "with": withs, "metaflow_deps": deps, "python": strings.TrimSpace(string(out))}
	b, err := json.Marshal(map[string]any{"steps": steps, "inputs": inputs})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return images
}

func TestExtensionAssignsImages(t *testing.T) {
	requireMetaflow(t)
	jsonPath := filepath.Join(t.TempDir(), "images.json")
	images := imagesJSON(t, jsonPath)

	// Every step on Kubernetes: each gets its own image.
	got, err := showImages(t, literalFlow, []string{"ENVBUILD_FLOW_IMAGES=" + jsonPath},
		"--environment=envbuild", "--datastore=s3", "--with", "kubernetes")
	if err != nil {
		t.Fatalf("show_images: %v\n%s", err, err.(*exec.ExitError).Stderr)
	}
	envPython := "/opt/envbuild/env/bin/python -s"
	for name, img := range images {
		s, ok := got[name]
		if !ok {
			t.Errorf("step %s missing from metaflow's view", name)
			continue
		}
		if s.Image == nil || *s.Image != img {
			t.Errorf("step %s: image %v, want %s", name, s.Image, img)
		}
		wantExe := envPython
		if name == "plain" || name == "end" {
			wantExe = "python" // the base image's own interpreter
		}
		if s.Executable != wantExe {
			t.Errorf("step %s: executable %q, want %q", name, s.Executable, wantExe)
		}
		if wantExe == envPython && !strings.Contains(strings.Join(s.Bootstrap, "\n"), "/opt/envbuild/env/bin") {
			t.Errorf("step %s: bootstrap %q does not put the environment on PATH", name, s.Bootstrap)
		}
	}

	// Without --with kubernetes, only the step with @kubernetes is remote.
	got, err = showImages(t, literalFlow, []string{"ENVBUILD_FLOW_IMAGES=" + jsonPath}, "--environment=envbuild", "--datastore=s3")
	if err != nil {
		t.Fatalf("show_images: %v\n%s", err, err.(*exec.ExitError).Stderr)
	}
	if s := got["transform"]; s.Image == nil || *s.Image != images["transform"] {
		t.Errorf("transform: image %v, want %s", s.Image, images["transform"])
	}
	if s := got["start"]; s.Image != nil || s.Executable != "python" {
		t.Errorf("start runs locally: got image %v executable %q, want none and python", s.Image, s.Executable)
	}
}

func TestExtensionImagesBesideFlow(t *testing.T) {
	requireMetaflow(t)
	dir := t.TempDir()
	src, err := os.ReadFile(literalFlow)
	if err != nil {
		t.Fatal(err)
	}
	flow := filepath.Join(dir, "literal_flow.py")
	if err := os.WriteFile(flow, src, 0o644); err != nil {
		t.Fatal(err)
	}
	// No JSON: loading works (nothing needs an image yet), a run refuses.
	got, err := showImages(t, flow, nil, "--environment=envbuild", "--datastore=s3")
	if err != nil {
		t.Fatalf("show_images without JSON: %v\n%s", err, err.(*exec.ExitError).Stderr)
	}
	if s := got["transform"]; s.Image == nil || *s.Image != "python:3.11-slim" {
		t.Errorf("transform without JSON: image %v, want the written python:3.11-slim", s.Image)
	}
	_, err = showImages(t, flow, []string{"SHOW_IMAGES_INIT=1", "ENVBUILD_FLOW_BUILD=0"}, "--environment=envbuild", "--datastore=s3")
	if err == nil || !strings.Contains(string(err.(*exec.ExitError).Stderr), "no envbuild images for flow *LiteralFlow*") {
		t.Fatalf("init_environment without JSON: got %v, want the no envbuild images error", err)
	}

	images := imagesJSONFor(t, filepath.Join(dir, "literal_flow.envbuild.json"), flow, []string{"kubernetes"}, "s3")
	got, err = showImages(t, flow, []string{"SHOW_IMAGES_INIT=1", "ENVBUILD_FLOW_BUILD=0"}, "--environment=envbuild", "--datastore=s3", "--with", "kubernetes")
	if err != nil {
		t.Fatalf("show_images with FLOW.envbuild.json: %v\n%s", err, err.(*exec.ExitError).Stderr)
	}
	// transform has @kubernetes already; --with adds it to the others.
	for name, img := range images {
		if s := got[name]; s.Image == nil || *s.Image != img {
			t.Errorf("step %s: image %v, want %s", name, s.Image, img)
		}
	}
}

// With metaflow-envbuild installed (its decorators replace Metaflow's),
// envbuild still reads flows the same way.
func TestLoadWithExtensionInstalled(t *testing.T) {
	requireMetaflow(t)
	ext, err := filepath.Abs("extension")
	if err != nil {
		t.Fatal(err)
	}
	static, err := LoadStatic(literalFlow)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PYTHONPATH", ext)
	withExt, err := LoadWithMetaflow(t.Context(), "python3", literalFlow)
	if err != nil {
		t.Fatalf("LoadWithMetaflow with the extension: %v", err)
	}
	if !reflect.DeepEqual(static, withExt) {
		t.Fatalf("with the extension installed, metaflow's view differs:\n%+v\n%+v", static, withExt)
	}
}

// argo-workflows create attaches @kubernetes to every step after the
// decorators were initialised, then packages the flow: every step still gets
// its image.
func TestExtensionLateAttachedKubernetes(t *testing.T) {
	requireMetaflow(t)
	jsonPath := filepath.Join(t.TempDir(), "images.json")
	images := imagesJSON(t, jsonPath)
	got, err := showImages(t, literalFlow, []string{"ENVBUILD_FLOW_IMAGES=" + jsonPath, "SHOW_IMAGES_LATE_ATTACH=kubernetes", "SHOW_IMAGES_INIT=1"},
		"--environment=envbuild", "--datastore=s3")
	if err != nil {
		t.Fatalf("show_images: %v\n%s", err, err.(*exec.ExitError).Stderr)
	}
	for name, img := range images {
		if s := got[name]; s.Image == nil || *s.Image != img {
			t.Errorf("step %s: image %v, want %s", name, s.Image, img)
		}
	}
	if s := got["start"]; s.Executable != "/opt/envbuild/env/bin/python -s" {
		t.Errorf("start: executable %q, want the environment's python", s.Executable)
	}
}

// fakeEnvbuild puts extension/tests/fake_envbuild.py where the extension
// looks for envbuild ($ENVBUILD) and returns the variables for it and the
// file its calls are logged in.
func fakeEnvbuild(t *testing.T, image string, steps ...string) ([]string, string) {
	t.Helper()
	dir := t.TempDir()
	script, err := filepath.Abs(filepath.Join("extension", "tests", "fake_envbuild.py"))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "envbuild")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexec python3 "+script+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "calls")
	return []string{"ENVBUILD=" + bin, "FAKE_ENVBUILD_LOG=" + log, "FAKE_ENVBUILD_IMAGE=" + image, "FAKE_ENVBUILD_STEPS=" + strings.Join(steps, ",")}, log
}

func envbuildCalls(t *testing.T, log string) [][]string {
	t.Helper()
	data, err := os.ReadFile(log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var calls [][]string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var c []string
		if err := json.Unmarshal([]byte(l), &c); err != nil {
			t.Fatal(err)
		}
		calls = append(calls, c)
	}
	return calls
}

// A run (init_environment, as packaging the flow calls it) runs
// `envbuild flow build` on the client first, with the run's --with values
// whole, this Python and the datastore's Metaflow packages, and uses what
// it printed; a deployment that attaches @kubernetes itself passes
// --with kubernetes; loading the flow without packaging it (as a task
// does) runs nothing.
func TestExtensionBuildsBeforeARun(t *testing.T) {
	requireMetaflow(t)
	dir := t.TempDir()
	src, err := os.ReadFile(literalFlow)
	if err != nil {
		t.Fatal(err)
	}
	flow := filepath.Join(dir, "literal_flow.py")
	if err := os.WriteFile(flow, src, 0o644); err != nil {
		t.Fatal(err)
	}
	steps := []string{"start", "transform", "tiny_conda", "plain", "end"}
	const img = "registry.example.com/envs:env-4444444444444444@sha256:4444444444444444444444444444444444444444444444444444444444444444"
	python, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name     string
		env      []string
		args     []string
		wantWith []string
	}{
		{"run --with kubernetes:cpu=2,image=…", nil, []string{"--with", "kubernetes:cpu=2,image=ml/with:1"}, []string{"--with", "kubernetes:cpu=2,image=ml/with:1"}},
		{"argo-workflows create", []string{"SHOW_IMAGES_LATE_ATTACH=kubernetes"}, nil, []string{"--with", "kubernetes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, log := fakeEnvbuild(t, img, steps...)
			got, err := showImages(t, flow, append(append(fake, "SHOW_IMAGES_INIT=1"), tc.env...), append([]string{"--environment=envbuild", "--datastore=s3"}, tc.args...)...)
			if err != nil {
				t.Fatalf("show_images: %v\n%s", err, err.(*exec.ExitError).Stderr)
			}
			calls := envbuildCalls(t, log)
			want := append([]string{"flow", "build", flow, "--json", "--progress", "plain", "--python", strings.TrimSpace(string(python)), "--metaflow-deps", "s3"}, tc.wantWith...)
			if len(calls) != 1 || !reflect.DeepEqual(calls[0][1:], want) {
				t.Fatalf("envbuild called %q, want once with %q", calls, want)
			}
			for _, n := range steps {
				if s := got[n]; s.Image == nil || *s.Image != img {
					t.Errorf("step %s: image %v, want the one envbuild printed, %s", n, s.Image, img)
				}
			}
		})
	}

	// Loading the flow without packaging it, as the task itself does.
	fake, log := fakeEnvbuild(t, img, steps...)
	if _, err := showImages(t, flow, fake, "--environment=envbuild", "--datastore=s3", "--with", "kubernetes"); err != nil {
		t.Fatalf("show_images: %v\n%s", err, err.(*exec.ExitError).Stderr)
	}
	if calls := envbuildCalls(t, log); len(calls) != 0 {
		t.Errorf("envbuild ran without a run or a deployment: %q", calls)
	}

	// A failed build stops the run.
	fake, _ = fakeEnvbuild(t, img, steps...)
	_, err = showImages(t, flow, append(fake, "SHOW_IMAGES_INIT=1", "FAKE_ENVBUILD_FAIL=1"), "--environment=envbuild", "--datastore=s3", "--with", "kubernetes")
	if err == nil || !strings.Contains(string(err.(*exec.ExitError).Stderr), "envbuild flow build failed (exit 4)") {
		t.Errorf("a failed build: got %v, want the run refused", err)
	}
}

// With ENVBUILD_FLOW_BUILD=0 (CI built the images), a FLOW.envbuild.json
// built from another flow file, other --with values or another datastore
// is refused, not used.
func TestExtensionRefusesStaleImages(t *testing.T) {
	requireMetaflow(t)
	dir := t.TempDir()
	src, err := os.ReadFile(literalFlow)
	if err != nil {
		t.Fatal(err)
	}
	flow := filepath.Join(dir, "literal_flow.py")
	if err := os.WriteFile(flow, src, 0o644); err != nil {
		t.Fatal(err)
	}
	jsonPath := filepath.Join(dir, "literal_flow.envbuild.json")
	run := func() error {
		_, err := showImages(t, flow, []string{"SHOW_IMAGES_INIT=1", "ENVBUILD_FLOW_BUILD=0"}, "--environment=envbuild", "--datastore=s3", "--with", "kubernetes")
		return err
	}
	imagesJSONFor(t, jsonPath, flow, []string{"kubernetes"}, "s3")
	if err := run(); err != nil {
		t.Fatalf("fresh images refused: %v\n%s", err, err.(*exec.ExitError).Stderr)
	}
	for _, tc := range []struct {
		name, why string
		edit      func()
	}{
		{"decorators changed", "the flow file changed", func() {
			edited := strings.Replace(string(src), `"requests": "2.32.3"`, `"requests": "2.32.4"`, 1)
			if edited == string(src) {
				t.Fatal("the literal flow no longer pins requests 2.32.3")
			}
			if err := os.WriteFile(flow, []byte(edited), 0o644); err != nil {
				t.Fatal(err)
			}
			imagesJSONFor(t, jsonPath, literalFlow, []string{"kubernetes"}, "s3")
		}},
		{"other --with", "it was built --with", func() {
			if err := os.WriteFile(flow, src, 0o644); err != nil {
				t.Fatal(err)
			}
			imagesJSONFor(t, jsonPath, flow, []string{"kubernetes:image=ml/other:1"}, "s3")
		}},
		{"other datastore", "built for the local datastore", func() { imagesJSONFor(t, jsonPath, flow, []string{"kubernetes"}, "local") }},
		{"fresh again, --with retry aside", "", func() { imagesJSONFor(t, jsonPath, flow, []string{"kubernetes", "retry:times=2"}, "s3") }},
		{"no inputs", "records no inputs", func() {
			if err := os.WriteFile(jsonPath, []byte(`{"steps": {}}`), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		tc.edit()
		err := run()
		if tc.why == "" {
			if err != nil {
				t.Errorf("%s: refused: %v\n%s", tc.name, err, tail(string(err.(*exec.ExitError).Stderr), 5))
			}
			continue
		}
		if err == nil || !strings.Contains(string(err.(*exec.ExitError).Stderr), "is stale: ") || !strings.Contains(string(err.(*exec.ExitError).Stderr), tc.why) {
			t.Errorf("%s: got %v, want the images refused as stale because %s", tc.name, err, tc.why)
			if err != nil {
				t.Logf("%s", tail(string(err.(*exec.ExitError).Stderr), 5))
			}
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// The launcher of a remote task (`FLOW.py kubernetes step STEP …`, which
// a run starts on the client for each task) reads FLOW.envbuild.json and
// refuses one built from another flow file, unless its run vouched for it
// ($ENVBUILD_FLOW_IMAGES_VERIFIED); it builds nothing.
func TestExtensionLauncherRefusesStaleImages(t *testing.T) {
	requireMetaflow(t)
	dir := t.TempDir()
	src, err := os.ReadFile(literalFlow)
	if err != nil {
		t.Fatal(err)
	}
	flow := filepath.Join(dir, "literal_flow.py")
	if err := os.WriteFile(flow, src, 0o644); err != nil {
		t.Fatal(err)
	}
	ext, err := filepath.Abs("extension")
	if err != nil {
		t.Fatal(err)
	}
	fake, log := fakeEnvbuild(t, "unused")
	launch := func(extra ...string) string {
		cmd := exec.Command("python3", flow, "--environment=envbuild", "--datastore=s3", "--with", "kubernetes", "kubernetes", "step", "transform")
		cmd.Dir = dir
		cmd.Env = append(append(os.Environ(), "PYTHONPATH="+ext, "METAFLOW_DATASTORE_SYSROOT_S3=s3://envbuild-test/metaflow", "METAFLOW_USER=envbuild-test", "ENVBUILD_FLOW_IMAGES="), fake...)
		cmd.Env = append(cmd.Env, extra...)
		out, _ := cmd.CombinedOutput() // it fails either way: no code package is given
		return string(out)
	}
	jsonPath := filepath.Join(dir, "literal_flow.envbuild.json")
	imagesJSONFor(t, jsonPath, flow, []string{"kubernetes"}, "s3")
	if out := launch(); strings.Contains(out, "is stale") || strings.Contains(out, "no envbuild images") {
		t.Errorf("a fresh JSON refused by the launcher:\n%s", tail(out, 10))
	}
	if err := os.WriteFile(flow, append(src, []byte("\n# edited\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := launch(); !strings.Contains(out, "is stale: the flow file changed") {
		t.Errorf("the launcher used a JSON built from another flow file:\n%s", tail(out, 10))
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if out := launch(fmt.Sprintf("ENVBUILD_FLOW_IMAGES_VERIFIED=sha256:%x", sha256.Sum256(data))); strings.Contains(out, "is stale") {
		t.Errorf("the launcher refused the JSON its run vouched for:\n%s", tail(out, 10))
	}
	if calls := envbuildCalls(t, log); len(calls) != 0 {
		t.Errorf("a launcher ran envbuild: %q", calls)
	}
}

// A flow whose @pypi packages come from a Config file: envbuild records
// the digest of the Config values Metaflow resolved, and a run with
// ENVBUILD_FLOW_BUILD=0 refuses the JSON once the Config file changed,
// though the flow file did not.
func TestExtensionRefusesImagesOfOtherConfigValues(t *testing.T) {
	requireMetaflow(t)
	dir := t.TempDir()
	for _, f := range []string{"config_flow.py", "config_flow.json"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "examples", "flows", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	flow := filepath.Join(dir, "config_flow.py")
	loaded, err := LoadWithMetaflow(t.Context(), "python3", flow)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loaded.ConfigsSHA256, "sha256:") {
		t.Fatalf("no digest of the Config values: %q", loaded.ConfigsSHA256)
	}
	jsonPath := filepath.Join(dir, "config_flow.envbuild.json")
	writeJSON := func() {
		imagesJSONFor(t, jsonPath, flow, []string{"kubernetes"}, "s3")
		data, err := os.ReadFile(jsonPath)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		doc["inputs"].(map[string]any)["configs_sha256"] = loaded.ConfigsSHA256
		doc["steps"] = map[string]any{"start": map[string]any{"image": "registry.example.com/envs:env-5555555555555555"}, "end": map[string]any{"image": "registry.example.com/base:1", "disabled": true}}
		data, _ = json.Marshal(doc)
		if err := os.WriteFile(jsonPath, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func() error {
		ext, err := filepath.Abs("extension")
		if err != nil {
			t.Fatal(err)
		}
		// In the flow's directory, where the Config's default file is.
		cmd := exec.Command("python3", filepath.Join(ext, "tests", "show_images.py"), flow, "--environment=envbuild", "--datastore=s3", "--with", "kubernetes")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PYTHONPATH="+ext, "METAFLOW_DATASTORE_SYSROOT_S3=s3://envbuild-test/metaflow", "METAFLOW_USER=envbuild-test",
			"ENVBUILD_FLOW_IMAGES=", "ENVBUILD_FLOW_BUILD=0", "SHOW_IMAGES_INIT=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, tail(string(out), 6))
		}
		return nil
	}
	writeJSON()
	if err := run(); err != nil {
		t.Fatalf("images of these Config values refused: %v", err)
	}
	cfg := filepath.Join(dir, "config_flow.json")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := json.Unmarshal(data, &values); err != nil {
		t.Fatal(err)
	}
	values["envbuild_test_changed"] = true
	data, _ = json.Marshal(values)
	if err := os.WriteFile(cfg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(); err == nil || !strings.Contains(err.Error(), "Config values changed") {
		t.Errorf("images of other Config values used: %v", err)
	}
}
