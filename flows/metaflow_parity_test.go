package flows

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/frontends/config"
	"github.com/envbuild/envbuild/frontends/metaflow"
)

// requireMetaflow skips unless python3 imports metaflow
// (ENVBUILD_REQUIRE_METAFLOW=1 makes that a failure, as CI sets it).
func requireMetaflow(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("python3", "-c", "import metaflow").CombinedOutput(); err != nil {
		msg := "python3 cannot import metaflow (scripts/setup.sh installs it): " + strings.TrimSpace(string(out))
		if os.Getenv("ENVBUILD_REQUIRE_METAFLOW") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

func moduleRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..")
}

// Every --with value is read as Metaflow's own parser reads it
// (Decorator.extract_args_kwargs_from_decorator_spec).
func TestWithParityWithMetaflow(t *testing.T) {
	requireMetaflow(t)
	specs := []string{
		"kubernetes",
		"kubernetes:",
		"kubernetes:cpu=4,image=reg.example.com/ml/base:1",
		"kubernetes:image=reg.example.com/ml/base:1,cpu=4",
		"kubernetes:cpu=4,image=ml/base:1,memory=4000",
		`kubernetes:image="reg.example.com:5000/ml/base:1",cpu=0.5`,
		`kubernetes:image=\"ml/base:2\",cpu=2`,
		"kubernetes:image= ml/base:3 , cpu = 2",
		"kubernetes:image=null,cpu=2",
		"batch:image=python:3.11-slim,queue=a,b=1",
		"batch:memory=100,image=ml/base@sha256:" + strings.Repeat("a", 64),
		`kubernetes:node_selector={"a": "b"},image=x/y`,
		"retry:times=3",
	}
	helper := `
import json, sys
from metaflow.decorators import StepDecorator
out = []
for spec in sys.argv[1:]:
    name, _, rest = spec.partition(":")
    _, attrs = StepDecorator.extract_args_kwargs_from_decorator_spec(rest)
    out.append({"name": name, "attrs": attrs})
json.dump(out, sys.stdout)
`
	out, err := exec.Command("python3", append([]string{"-c", helper}, specs...)...).Output()
	if err != nil {
		t.Fatalf("metaflow's parser: %v", err)
	}
	var want []struct {
		Name  string         `json:"name"`
		Attrs map[string]any `json:"attrs"`
	}
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for i, spec := range specs {
		got, err := metaflow.ParseWith(spec)
		if err != nil {
			t.Errorf("ParseWith(%q): %v", spec, err)
			continue
		}
		// Compare through JSON, as Metaflow's numbers came through it.
		gj, _ := json.Marshal(got.Attrs)
		var gotAttrs map[string]any
		_ = json.Unmarshal(gj, &gotAttrs)
		if got.Decorator != want[i].Name || !reflect.DeepEqual(gotAttrs, want[i].Attrs) {
			t.Errorf("--with %q: envbuild reads %s %v, Metaflow %s %v", spec, got.Decorator, gotAttrs, want[i].Name, want[i].Attrs)
		}
	}
}

const parityK8sFlow = `from metaflow import FlowSpec, step, kubernetes

class ParityFlow(FlowSpec):
    @kubernetes(image="ml/own:1")
    @step
    def start(self):
        self.next(self.mid)

    @kubernetes
    @step
    def mid(self):
        self.next(self.plain)

    @step
    def plain(self):
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    ParityFlow()
`

// The image each step runs in is the one Metaflow's own @kubernetes and
// @batch give it (their step_init, run through Metaflow's command line by
// show_images.py), for a table of --with forms, environment variables,
// local configs and profiles.
func TestStepImageParityWithMetaflow(t *testing.T) {
	requireMetaflow(t)
	ctx := context.Background()
	root := moduleRoot(t)
	show := filepath.Join(root, "frontends", "metaflow", "extension", "tests", "show_images.py")
	interp := metaflow.InterpreterVersion(ctx, "python3")
	batchFlow := strings.NewReplacer("kubernetes", "batch").Replace(parityK8sFlow)

	type files map[string]string // path under the case's home or work dir -> JSON
	for _, tc := range []struct {
		name  string
		flow  string
		with  []string
		env   map[string]string
		home  files // under $HOME (the profile: .metaflowconfig/config*.json)
		local files // under the working directory (.metaflow/config.json)
	}{
		{name: "with kubernetes", flow: parityK8sFlow, with: []string{"kubernetes"}},
		{name: "image after cpu", flow: parityK8sFlow, with: []string{"kubernetes:cpu=4,image=reg.example.com/ml/with:1"}},
		{name: "image before cpu", flow: parityK8sFlow, with: []string{"kubernetes:image=ml/with:1,cpu=4"}},
		{name: "quoted image", flow: parityK8sFlow, with: []string{`kubernetes:image="reg.example.com:5000/ml/with:1",memory=100`}},
		{name: "null image", flow: parityK8sFlow, with: []string{"kubernetes:image=null"}, env: map[string]string{"METAFLOW_DEFAULT_CONTAINER_IMAGE": "ml/default:1"}},
		{name: "variant env over default env", flow: parityK8sFlow, with: []string{"kubernetes"},
			env: map[string]string{"METAFLOW_KUBERNETES_CONTAINER_IMAGE": "ml/k8s:1", "METAFLOW_DEFAULT_CONTAINER_IMAGE": "ml/default:1"}},
		{name: "variant profile over default env", flow: parityK8sFlow, with: []string{"kubernetes"},
			env:  map[string]string{"METAFLOW_DEFAULT_CONTAINER_IMAGE": "ml/default-env:1"},
			home: files{".metaflowconfig/config.json": `{"METAFLOW_KUBERNETES_CONTAINER_IMAGE": "ml/k8s-profile:1"}`}},
		{name: "empty variant env", flow: parityK8sFlow, with: []string{"kubernetes"},
			env: map[string]string{"METAFLOW_KUBERNETES_CONTAINER_IMAGE": "", "METAFLOW_DEFAULT_CONTAINER_IMAGE": "ml/default:1"}},
		{name: "local config over profile", flow: parityK8sFlow, with: []string{"kubernetes"},
			home:  files{".metaflowconfig/config.json": `{"METAFLOW_KUBERNETES_CONTAINER_IMAGE": "ml/profile:1", "METAFLOW_DEFAULT_CONTAINER_REGISTRY": "reg.profile.example.com"}`},
			local: files{".metaflow/config.json": `{"METAFLOW_KUBERNETES_CONTAINER_IMAGE": "ml/local:1"}`}},
		{name: "default profile, variant registry", flow: parityK8sFlow, with: []string{"kubernetes"},
			env:  map[string]string{"METAFLOW_DEFAULT_CONTAINER_REGISTRY": "reg.default.example.com"},
			home: files{".metaflowconfig/config.json": `{"METAFLOW_DEFAULT_CONTAINER_IMAGE": "ml/default:1", "METAFLOW_KUBERNETES_CONTAINER_REGISTRY": "reg.k8s.example.com/"}`}},
		{name: "named profile", flow: parityK8sFlow, with: []string{"kubernetes:image=ml/with:1"},
			env:  map[string]string{"METAFLOW_PROFILE": "team"},
			home: files{".metaflowconfig/config_team.json": `{"METAFLOW_KUBERNETES_CONTAINER_REGISTRY": "reg.team.example.com"}`, ".metaflowconfig/config.json": `{"METAFLOW_KUBERNETES_CONTAINER_REGISTRY": "reg.wrong.example.com"}`}},
		{name: "batch variant", flow: batchFlow, with: []string{"batch:memory=100,image=ml/with:1"},
			env: map[string]string{"METAFLOW_KUBERNETES_CONTAINER_IMAGE": "ml/k8s:1", "METAFLOW_BATCH_CONTAINER_REGISTRY": "reg.batch.example.com"}},
		{name: "batch defaults", flow: batchFlow, with: []string{"batch", "retry:times=2"},
			env: map[string]string{"METAFLOW_BATCH_CONTAINER_IMAGE": "ml/batch:1", "METAFLOW_KUBERNETES_CONTAINER_IMAGE": "ml/k8s:1"}},
		{name: "static decorators only", flow: parityK8sFlow,
			env: map[string]string{"METAFLOW_DEFAULT_CONTAINER_IMAGE": "ml/default:1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home, work := t.TempDir(), t.TempDir()
			for dir, fs := range map[string]files{home: tc.home, work: tc.local} {
				for p, body := range fs {
					full := filepath.Join(dir, p)
					if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			flow := filepath.Join(work, "parity_flow.py")
			if err := os.WriteFile(flow, []byte(tc.flow), 0o644); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, "xdg")}
			for k, v := range tc.env {
				env[k] = v
			}
			// Metaflow's side: its command line, in a clean environment.
			cmdEnv := []string{"PATH=" + os.Getenv("PATH"), "METAFLOW_USER=parity", "METAFLOW_DATASTORE_SYSROOT_S3=s3://parity/metaflow"}
			for k, v := range env {
				cmdEnv = append(cmdEnv, k+"="+v)
			}
			args := []string{show, flow, "--datastore=s3"}
			for _, w := range tc.with {
				args = append(args, "--with", w)
			}
			cmd := exec.Command("python3", args...)
			cmd.Dir, cmd.Env = work, cmdEnv
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("metaflow: %v\n%s", err, stderr.String())
			}
			var shown struct {
				Steps map[string]struct {
					Image *string `json:"image"`
				} `json:"steps"`
			}
			if err := json.Unmarshal(out, &shown); err != nil {
				t.Fatalf("show_images.py printed %q: %v", out, err)
			}

			// envbuild's side.
			f, err := metaflow.Load(ctx, flow, metaflow.Options{})
			if err != nil {
				t.Fatal(err)
			}
			compute, err := ComputeWith(tc.with)
			if err != nil {
				t.Fatal(err)
			}
			src := config.Sources{Env: env, Home: home, Cwd: work}
			for _, st := range f.Steps {
				mf := shown.Steps[st.Name].Image
				if mf == nil {
					continue // the step runs locally under Metaflow
				}
				got, err := StepBase(st, compute, src, interp)
				if err != nil {
					t.Errorf("step %s: envbuild: %v; Metaflow gives %s", st.Name, err, *mf)
					continue
				}
				if got != *mf {
					t.Errorf("step %s: envbuild's base %s, Metaflow's image %s", st.Name, got, *mf)
				}
			}
			if t.Failed() {
				t.Log(fmt.Sprintf("env %v, with %q", tc.env, tc.with))
			}
		})
	}
}
