package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envbuild/envbuild/integration/testbed"
	"github.com/envbuild/envbuild/lock/lockfile"
)

// podJob is the part of the Kubernetes Job Metaflow builds that says what
// the pod runs.
type podJob struct {
	Metadata struct {
		Annotations map[string]string `json:"annotations"`
		Labels      map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Template struct {
			Spec struct {
				Containers []struct {
					Image   string   `json:"image"`
					Command []string `json:"command"`
					Args    []string `json:"args"`
					Env     []struct {
						Name      string          `json:"name"`
						Value     *string         `json:"value"`
						ValueFrom json.RawMessage `json:"valueFrom"`
					} `json:"env"`
				} `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

// taskRun is one pod the test ran.
type taskRun struct {
	step, image    string
	stdout, stderr string
	code           int
}

// requirePython skips (or with ENVBUILD_REQUIRE_METAFLOW=1 fails) unless
// python3 imports every module (scripts/setup.sh installs them).
func requirePython(t *testing.T, modules ...string) {
	t.Helper()
	if out, err := exec.Command("python3", "-c", "import "+strings.Join(modules, ", ")).CombinedOutput(); err != nil {
		msg := fmt.Sprintf("python3 cannot import %s (scripts/setup.sh installs them): %s", strings.Join(modules, ", "), strings.TrimSpace(string(out)))
		if os.Getenv("ENVBUILD_REQUIRE_METAFLOW") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// startMoto runs moto's S3 server on 127.0.0.1 and creates bucket in it;
// it returns the endpoint URL.
func startMoto(t *testing.T, bucket string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	logPath := filepath.Join(t.TempDir(), "moto.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting moto's server: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(endpoint)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("moto's server on %s did not answer: %v\n%s", endpoint, err, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	mk := exec.Command("python3", "-c", "import boto3, sys; boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing').create_bucket(Bucket=sys.argv[2])", endpoint, bucket)
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("creating bucket %s: %v\n%s", bucket, err, out)
	}
	return endpoint
}

// Issue 11's end-to-end check: `python FLOW.py --environment=envbuild
// --datastore=s3 run --with kubernetes`, one user command, builds the
// flow's images (the extension runs envbuild on the client, adding boto3
// and requests for the S3 datastore) on a base without boto3, and
// Metaflow's runtime launches each step as a Kubernetes job. The job
// Metaflow builds (its real kubernetes client models; no cluster) is handed
// to this test, which runs the pod's container command, unmodified, in the
// pod's image through BuildKit, with the image's config (Env, WorkingDir,
// User; the command replaces the entrypoint, as in Kubernetes) and the
// host's network, the datastore on moto's S3 server. Each step checks,
// inside its image, its packages at the locked versions, a file of the
// base, that the base's packages are not importable, and the artifact of
// the step before (another image).
func TestMetaflowTasksRunInTheirImages(t *testing.T) {
	bed := testbed.Require(t)
	requirePython(t, "metaflow", "kubernetes", "moto.server", "boto3")
	root, err := testbed.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()

	bucket := "envbuild-e2e"
	endpoint := startMoto(t, bucket)

	// The extension, pip-installed from a copy as a user would.
	ext := filepath.Join(t.TempDir(), "metaflow-envbuild")
	if out, err := exec.Command("cp", "-r", filepath.Join(root, "frontends", "metaflow", "extension"), ext).CombinedOutput(); err != nil {
		t.Fatalf("copying the extension: %v\n%s", err, out)
	}
	site := filepath.Join(t.TempDir(), "site")
	if out, err := exec.Command("python3", "-m", "pip", "install", "--quiet", "--no-deps", "--target", site, ext).CombinedOutput(); err != nil {
		t.Fatalf("pip install of the extension: %v\n%s", err, out)
	}

	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(root, "integration", "testdata", "metaflow_k8s", "three_envs_flow.py"))
	if err != nil {
		t.Fatal(err)
	}
	flow := filepath.Join(dir, "three_envs_flow.py")
	if err := os.WriteFile(flow, src, 0o644); err != nil {
		t.Fatal(err)
	}
	spool := t.TempDir()
	repo := fmt.Sprintf("%s/envs/metaflow-tasks-%d", bed.Registry, time.Now().UnixNano())
	awsEnv := []string{"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_DEFAULT_REGION=us-east-1"}
	runEnv := append(os.Environ(), awsEnv...)
	runEnv = append(runEnv,
		// sitecustomize hands the jobs to this test (client side only).
		"PYTHONPATH="+filepath.Join(root, "integration", "testdata", "metaflow_k8s")+":"+site,
		"ENVBUILD_K8S_SPOOL="+spool,
		"ENVBUILD="+envbuildBin,
		"ENVBUILD_FLOW_BUILD_ARGS=--registry "+repo,
		"ENVBUILD_FLOW_IMAGES=",
		"ENVBUILD_FLOW_BUILD=",
		// The base, through Metaflow's own setting: Debian with python3 and
		// python3-yaml, no boto3.
		"METAFLOW_KUBERNETES_CONTAINER_IMAGE="+bed.Base,
		"METAFLOW_DATASTORE_SYSROOT_S3=s3://"+bucket+"/metaflow",
		"METAFLOW_S3_ENDPOINT_URL="+endpoint,
		"METAFLOW_DEFAULT_METADATA=local",
		"METAFLOW_USER=envbuild-e2e",
		"METAFLOW_HOME="+t.TempDir(),
	)

	// The pods: every job Metaflow submits, run in its image.
	var mu sync.Mutex
	var tasks []taskRun
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		seen := map[string]bool{}
		for {
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
			}
			specs, _ := filepath.Glob(filepath.Join(spool, "*.json"))
			sort.Strings(specs)
			for _, p := range specs {
				if seen[p] {
					continue
				}
				seen[p] = true
				tr := runPod(ctx, t, bed, p, awsEnv)
				mu.Lock()
				tasks = append(tasks, tr)
				mu.Unlock()
				if err := os.WriteFile(strings.TrimSuffix(p, ".json")+".rc", []byte(fmt.Sprint(tr.code)), 0o644); err != nil {
					t.Error(err)
				}
			}
		}
	}()

	cmd := exec.CommandContext(ctx, "python3", flow, "--environment=envbuild", "--datastore=s3", "run", "--with", "kubernetes")
	cmd.Dir, cmd.Env = dir, runEnv
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for _, tr := range tasks {
		t.Logf("pod of step %s in %s: exit %d\nstdout:\n%s\nstderr:\n%s", tr.step, tr.image, tr.code, tail(tr.stdout, 30), tail(tr.stderr, 30))
	}
	if runErr != nil {
		t.Fatalf("metaflow run --with kubernetes: %v\n%s", runErr, tail(out.String(), 80))
	}
	t.Logf("metaflow run:\n%s", tail(out.String(), 60))

	byStep := map[string]taskRun{}
	for _, tr := range tasks {
		byStep[tr.step] = tr
	}
	if got := sortedKeys(byStep); strings.Join(got, " ") != "end middle start" {
		t.Fatalf("pods ran for steps %q, want start, middle, end", got)
	}
	for _, n := range []string{"start", "middle", "end"} {
		tr := byStep[n]
		if tr.code != 0 || !strings.HasPrefix(tr.image, repo+":env-") {
			t.Errorf("step %s: exit %d in %s; want 0 in an image of %s", n, tr.code, tr.image, repo)
		}
	}
	if byStep["start"].image != byStep["end"].image || byStep["start"].image == byStep["middle"].image {
		t.Errorf("images: start %s, middle %s, end %s; want start and end to share one environment, middle another", byStep["start"].image, byStep["middle"].image, byStep["end"].image)
	}
	if !strings.Contains(out.String(), "ENVBUILD-E2E ['start', 'middle', 'end']") {
		t.Errorf("the end step did not print the trail of artifacts through the three images:\n%s", tail(out.String(), 40))
	}

	// What each step found inside its image, as it printed it (Metaflow
	// tails the task's log from the datastore).
	var checks []map[string]any
	for _, l := range strings.Split(out.String(), "\n") {
		_, js, ok := strings.Cut(l, "ENVBUILD-CHECK ")
		if !ok {
			continue
		}
		var c map[string]any
		if err := json.Unmarshal([]byte(js), &c); err != nil {
			t.Errorf("a step printed %q: %v", js, err)
			continue
		}
		checks = append(checks, c)
	}
	baseDebian, err := bed.ReadFile(ctx, bed.Base, "linux/amd64", "/etc/debian_version")
	if err != nil {
		t.Fatal(err)
	}
	wantEnvs := []string{"six", "yaml", "six"}
	if len(checks) != 3 {
		t.Fatalf("%d steps reported their checks, want 3:\n%s", len(checks), tail(out.String(), 40))
	}
	for i, c := range checks {
		pk, _ := json.Marshal(c["packages"])
		wantPk := map[string]string{"six": `{"six":"1.16.0"}`, "yaml": `{"PyYAML":"6.0.2"}`}[wantEnvs[i]]
		if c["env"] != wantEnvs[i] || string(pk) != wantPk || c["debian_version"] != strings.TrimSpace(string(baseDebian)) || c["python"] != "/opt/envbuild/env/bin/python" || c["boto3"] == "" {
			t.Errorf("step %d found %v; want environment %s with %s, the base's /etc/debian_version %q, the environment's python and boto3", i+1, c, wantEnvs[i], wantPk, strings.TrimSpace(string(baseDebian)))
		}
	}
	// boto3 came in at the version the flow's lock holds.
	lf, err := lockfile.Read(filepath.Join(dir, "three_envs_flow.envbuild.lock"))
	if err != nil || lf == nil {
		t.Fatalf("reading the flow's lock: %v", err)
	}
	for _, e := range lf.Envs {
		for _, p := range e.Targets[0].Packages {
			if p.Name == "boto3" && p.Version != checks[0]["boto3"] {
				t.Errorf("lock environment %s has boto3 %s; the steps imported %v", e.Name, p.Version, checks[0]["boto3"])
			}
		}
	}

	// The base itself has no boto3: the environments got it from the run.
	if _, stderr, code, err := bed.Run(ctx, bed.Base, "linux/amd64", []string{"python3", "-c", "import boto3"}, nil); err != nil || code == 0 {
		t.Errorf("the base imports boto3 (exit %d, %v, %s); the test needs a base without it", code, err, stderr)
	}

	// The images were built by the run itself, with the datastore's
	// packages: FLOW.envbuild.json records it.
	var doc struct {
		Inputs struct {
			With         []string `json:"with"`
			MetaflowDeps string   `json:"metaflow_deps"`
		} `json:"inputs"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "three_envs_flow.envbuild.json"))
	if err != nil {
		t.Fatalf("the run did not leave FLOW.envbuild.json: %v", err)
	}
	if err := json.Unmarshal(data, &doc); err != nil || doc.Inputs.MetaflowDeps != "s3" || strings.Join(doc.Inputs.With, " ") != "kubernetes" {
		t.Errorf("FLOW.envbuild.json inputs %+v (%v); want --with kubernetes and the s3 deps", doc.Inputs, err)
	}
}

// runPod runs the container of the job Metaflow wrote to path: its command
// and args as written, in its image, with its env (a value taken from the
// pod's fields gets a stand-in) and the AWS credentials a pod's service
// account would give, on the host's network.
func runPod(ctx context.Context, t *testing.T, bed *testbed.Bed, path string, extraEnv []string) taskRun {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Error(err)
		return taskRun{code: -1}
	}
	var job podJob
	if err := json.Unmarshal(data, &job); err != nil || len(job.Spec.Template.Spec.Containers) != 1 {
		t.Errorf("the job Metaflow built (%s): %v, %d containers", path, err, len(job.Spec.Template.Spec.Containers))
		return taskRun{code: -1}
	}
	c := job.Spec.Template.Spec.Containers[0]
	step := job.Metadata.Annotations["metaflow/step_name"]
	if step == "" {
		step = job.Metadata.Labels["app.kubernetes.io/name"]
	}
	var env []string
	for _, e := range c.Env {
		switch {
		case e.Value != nil:
			env = append(env, e.Name+"="+*e.Value)
		case len(e.ValueFrom) > 0:
			env = append(env, e.Name+"=envbuild-e2e-"+strings.ToLower(e.Name))
		}
	}
	env = append(env, extraEnv...)
	argv := append(append([]string(nil), c.Command...), c.Args...)
	stdout, stderr, code, err := bed.RunOpts(ctx, c.Image, "linux/amd64", argv, env, testbed.RunOptions{HostNetwork: true})
	if err != nil {
		t.Errorf("running the pod of step %s in %s: %v", step, c.Image, err)
		return taskRun{step: step, image: c.Image, code: -1}
	}
	return taskRun{step: step, image: c.Image, stdout: string(stdout), stderr: string(stderr), code: code}
}
