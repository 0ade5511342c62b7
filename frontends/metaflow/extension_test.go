package metaflow

import (
	"encoding/json"
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
	b, err := json.Marshal(map[string]any{"steps": steps})
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
	_, err = showImages(t, flow, []string{"SHOW_IMAGES_INIT=1"}, "--environment=envbuild", "--datastore=s3")
	if err == nil || !strings.Contains(string(err.(*exec.ExitError).Stderr), "no envbuild images for flow *LiteralFlow*") {
		t.Fatalf("init_environment without JSON: got %v, want the no envbuild images error", err)
	}

	images := imagesJSON(t, filepath.Join(dir, "literal_flow.envbuild.json"))
	got, err = showImages(t, flow, []string{"SHOW_IMAGES_INIT=1"}, "--environment=envbuild", "--datastore=s3", "--with", "kubernetes")
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
