package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envbuild/envbuild/integration/testbed"
)

// requireDocker starts the bed's dockerd (once) and returns DOCKER_HOST.
// It skips only where dockerd cannot run at all, and fails under CI.
func requireDocker(t *testing.T, bed *testbed.Bed) string {
	t.Helper()
	if reason := testbed.CannotRunDocker(); reason != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("no Docker daemon under CI: %s", reason)
		}
		t.Skip("no Docker daemon: " + reason)
	}
	host, err := bed.StartDocker(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return host
}

// docker runs the docker CLI against the bed's daemon.
func docker(t *testing.T, host string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+host)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// caMount gives a BuildKit container the machine's CA bundle (the index is
// reached through a company CA here), as a user would.
func caMount() []string {
	ca := os.Getenv("SSL_CERT_FILE")
	if ca == "" {
		ca = "/etc/ssl/certs/ca-certificates.crt"
	}
	if _, err := os.Stat(ca); err != nil {
		return nil
	}
	return []string{"-v", ca + ":/etc/ssl/certs/ca-certificates.crt:ro"}
}

// A BuildKit container the user started, reached with docker-container://;
// the image is the same as through the bed's unix socket; a stopped or
// missing container and a Docker daemon that does not answer are exit 4
// with the fix.
func TestDockerContainerAddress(t *testing.T) {
	bed := testbed.Require(t)
	host := requireDocker(t, bed)
	const name = "envbuild-it-buildkitd"
	_, _ = docker(t, host, "rm", "-f", name)
	args := append(append([]string{"run", "-d", "--name", name}, testbed.BuildkitRunOptions...), caMount()...)
	if out, err := docker(t, host, append(args, bed.BuildkitImage)...); err != nil {
		t.Fatal(out, err)
	}
	t.Cleanup(func() { _, _ = docker(t, host, "rm", "-f", name) })
	dockerEnv := []string{"DOCKER_HOST=" + host}
	addr := "docker-container://" + name
	// Repositories new to the registry, also on a bed reused across runs.
	run := fmt.Sprintf("-%d", time.Now().UnixNano())

	dir := t.TempDir()
	viaDocker := mustBuild(t, dir, dockerEnv, "--pypi", "six==1.16.0", "--base", bed.Base, "--registry", bed.Registry+"/envs/dockerc"+run, "--buildkit-addr", addr)
	if viaDocker.Cached {
		t.Fatalf("first build through %s was a cache hit: %+v", addr, viaDocker)
	}
	// The same lock and base through the bed's own buildkitd (unix
	// socket), into another repository so the registry does not answer
	// "cached".
	viaUnix := mustBuild(t, dir, nil, "--pypi", "six==1.16.0", "--base", bed.Base, "--registry", bed.Registry+"/envs/dockerc-unix"+run, "--buildkit-addr", bed.BuildkitAddr)
	if viaUnix.Cached || viaUnix.Digest != viaDocker.Digest {
		t.Errorf("through %s: %s; through %s: %s (cached %v): not the same image", addr, viaDocker.Digest, bed.BuildkitAddr, viaUnix.Digest, viaUnix.Cached)
	}

	fails := func(repo string, env []string, addr string, want ...string) {
		t.Helper()
		r := envbuild(t, dir, env, "build", "--pypi", "six==1.16.0", "--base", bed.Base, "--registry", bed.Registry+"/envs/"+repo+run, "--buildkit-addr", addr)
		if r.code != 4 {
			t.Errorf("%s: exit %d, want 4\n%s", repo, r.code, r.stderr)
		}
		for _, w := range want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s: the message does not say %q:\n%s", repo, w, r.stderr)
			}
		}
	}
	fails("dockerc-missing", dockerEnv, "docker-container://no-such-buildkitd", "docker-container://no-such-buildkitd", `has no container "no-such-buildkitd"`, "docker run -d --name no-such-buildkitd")
	fails("dockerc-nodocker", []string{"DOCKER_HOST=unix:///nonexistent/docker.sock"}, addr, addr, "no Docker daemon answers at unix:///nonexistent/docker.sock", "start Docker")
	if out, err := docker(t, host, "stop", "-t", "2", name); err != nil {
		t.Fatal(out, err)
	}
	fails("dockerc-stopped", dockerEnv, addr, addr, "not running", "docker start "+name)
}

// With no address and no local buildkitd envbuild may start (no runc on
// PATH, and ENVBUILD_NO_LOCAL_BUILDKITD so that a local daemon another
// test left on this machine is not used), envbuild starts envbuild-buildkitd
// on Docker from --buildkit-image with the config file's run options,
// reuses it, starts it again when stopped; --load puts a runnable image
// into Docker; `envbuild daemon stop` removes the container.
func TestDockerAutoStart(t *testing.T) {
	bed := testbed.Require(t)
	host := requireDocker(t, bed)
	_, _ = docker(t, host, "rm", "-f", "envbuild-buildkitd")
	dir := t.TempDir()
	// Without --network=host: envbuild adds it, the registry being on
	// 127.0.0.1.
	var runOpts []string
	for _, o := range testbed.BuildkitRunOptions {
		if o != "--network=host" {
			runOpts = append(runOpts, o)
		}
	}
	writeRunOptions(t, dir, runOpts)
	env := []string{
		"DOCKER_HOST=" + host,
		"BUILDKIT_HOST=",
		"ENVBUILD_NO_LOCAL_BUILDKITD=1",
		// A proxy setting that changes nothing here, to see it passed in.
		"no_proxy=127.0.0.1,localhost,envbuild-it.invalid",
		"PATH=" + pathWithout(t, "runc", "buildkitd"),
	}
	stop := func() run { return envbuild(t, dir, env, "daemon", "stop") }
	suffix := fmt.Sprintf("-%d", time.Now().UnixNano())
	t.Cleanup(func() { stop() })

	build := func(repo string, extra ...string) (result, run) {
		t.Helper()
		args := append([]string{"build", "--json", "--progress", "plain", "--pypi", "six==1.16.0", "--base", bed.Base, "--registry", bed.Registry + "/envs/" + repo + suffix, "--buildkit-image", bed.BuildkitImage}, extra...)
		r := envbuild(t, dir, env, args...)
		var res result
		if r.code == 0 {
			if err := jsonUnmarshal(r.stdout, &res); err != nil {
				t.Fatalf("no JSON: %v\n%s", err, r.stdout)
			}
		}
		return res, r
	}

	res, r := build("auto", "--load")
	if r.code != 0 || !strings.Contains(r.stderr, "starting a BuildKit container") {
		t.Fatalf("build without an address: exit %d, did not start envbuild-buildkitd:\n%s", r.code, tail(r.stderr, 60))
	}
	if out, err := docker(t, host, "container", "inspect", "--format", "{{.State.Status}} {{.Config.Image}} {{.HostConfig.NetworkMode}} {{range .Mounts}}{{.Destination}},{{end}}", "envbuild-buildkitd"); err != nil ||
		!strings.HasPrefix(out, "running "+bed.BuildkitImage+" host ") || !strings.Contains(out, "/var/lib/buildkit,") || !strings.Contains(out, "/etc/envbuild/ca-certificates.crt,") {
		t.Errorf("envbuild-buildkitd: %q %v; want running, the bed's image, host network, the state volume and the CA bundle", out, err)
	}
	if out, err := docker(t, host, "container", "inspect", "--format", "{{json .Config.Env}}", "envbuild-buildkitd"); err != nil || !strings.Contains(out, `"no_proxy=127.0.0.1,localhost,envbuild-it.invalid"`) || !strings.Contains(out, `"SSL_CERT_FILE=/etc/envbuild/ca-certificates.crt"`) {
		t.Errorf("envbuild-buildkitd's environment %s (%v) lacks no_proxy or SSL_CERT_FILE", out, err)
	}
	tag, _, _ := strings.Cut(res.Image, "@")
	if out, err := docker(t, host, "run", "--rm", "--network", "none", tag, "python", "-c", "import six, sys; print(six.__version__, sys.prefix)"); err != nil || out != "1.16.0 /opt/envbuild/env" {
		t.Errorf("--load: docker run %s: %q %v", tag, out, err)
	}

	// The same environment through the bed's unix socket has the same digest.
	viaUnix := mustBuild(t, dir, nil, "--pypi", "six==1.16.0", "--base", bed.Base, "--registry", bed.Registry+"/envs/auto-unix"+suffix, "--buildkit-addr", bed.BuildkitAddr)
	if viaUnix.Digest != res.Digest {
		t.Errorf("auto-started container built %s, the bed's buildkitd %s", res.Digest, viaUnix.Digest)
	}

	// Running: reused.
	if _, r := build("auto-again"); r.code != 0 || strings.Contains(r.stderr, "starting") {
		t.Errorf("second build did not reuse the running container: exit %d\n%s", r.code, tail(r.stderr, 30))
	}
	// Stopped: started again.
	if out, err := docker(t, host, "stop", "-t", "2", "envbuild-buildkitd"); err != nil {
		t.Fatal(out, err)
	}
	if _, r := build("auto-restarted"); r.code != 0 || !strings.Contains(r.stderr, "starting the stopped BuildKit container") {
		t.Errorf("build with the container stopped: exit %d\n%s", r.code, tail(r.stderr, 30))
	}

	// prune sees the container's cache without starting anything.
	if r := envbuild(t, dir, env, "prune"); r.code != 0 || !strings.Contains(r.stderr, "at docker-container://envbuild-buildkitd") || !strings.Contains(r.stdout, "buildkit\t") {
		t.Errorf("prune (dry run) did not list the container's cache: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	if r := stop(); r.code != 0 || !strings.Contains(r.stderr, "removed the BuildKit container envbuild-buildkitd") {
		t.Errorf("daemon stop: exit %d\n%s", r.code, r.stderr)
	}
	if out, err := docker(t, host, "container", "inspect", "envbuild-buildkitd"); err == nil {
		t.Errorf("envbuild-buildkitd still exists after daemon stop: %s", out)
	}

	// Without run options envbuild asks for --privileged, which this
	// sandbox refuses ("unable to apply caps"): exit 4, saying how to give
	// other options, and no half-made container left behind.
	bare := t.TempDir()
	r = envbuild(t, bare, env, "build", "--pypi", "six==1.16.0", "--base", bed.Base, "--registry", bed.Registry+"/envs/auto-privileged"+suffix, "--buildkit-image", bed.BuildkitImage)
	if privileged, _ := docker(t, host, "run", "--rm", "--privileged", bed.BuildkitImage, "--version"); !strings.Contains(privileged, "unable to apply caps") {
		t.Logf("--privileged works on this Docker: %s", privileged)
	} else if r.code != 4 || !strings.Contains(r.stderr, "--buildkit-run-option") || !strings.Contains(r.stderr, "--privileged") {
		t.Errorf("refused --privileged: exit %d\n%s", r.code, r.stderr)
	}
	if out, err := docker(t, host, "container", "inspect", "envbuild-buildkitd"); err == nil && r.code != 0 {
		t.Errorf("a failed start left envbuild-buildkitd behind: %s", out)
	}
	stop()

	// An image Docker does not have and cannot pull: exit 4 with the fix.
	if _, r := build("auto-noimage", "--buildkit-image", "envbuild-testbed/no-such-buildkit:1"); r.code != 4 || !strings.Contains(r.stderr, "envbuild-testbed/no-such-buildkit:1 is not in Docker at "+host) || !strings.Contains(r.stderr, "--buildkit-image") || !strings.Contains(r.stderr, "docker load") {
		t.Errorf("missing image: exit %d\n%s", r.code, tail(r.stderr, 10))
	}
	// No Docker and no local daemon: both reasons, and what to do.
	noDocker := append(append([]string(nil), env...), "DOCKER_HOST=unix:///nonexistent/docker.sock")
	r = envbuild(t, dir, noDocker, "build", "--pypi", "six==1.16.0", "--base", bed.Base, "--registry", bed.Registry+"/envs/auto-nodocker"+suffix)
	if r.code != 4 || !strings.Contains(r.stderr, "ENVBUILD_NO_LOCAL_BUILDKITD is set") || !strings.Contains(r.stderr, "no Docker daemon answers at unix:///nonexistent/docker.sock") || !strings.Contains(r.stderr, "--buildkit-addr") {
		t.Errorf("no daemon anywhere: exit %d\n%s", r.code, r.stderr)
	}
}

// The default --buildkit-image is moby/buildkit at go.mod's BuildKit
// version, read from the binary's build information.
func TestDefaultBuildkitImage(t *testing.T) {
	want := "moby/buildkit:" + goModVersion(t, "github.com/moby/buildkit")
	r := envbuild(t, t.TempDir(), nil, "build", "--help")
	if !strings.Contains(r.stdout, want) {
		t.Errorf("build --help does not name %s as the default BuildKit image:\n%s", want, r.stdout)
	}
}

func goModVersion(t *testing.T, module string) string {
	t.Helper()
	root, err := testbed.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == module {
			return f[1]
		}
	}
	t.Fatalf("%s is not in go.mod", module)
	return ""
}

// writeRunOptions writes dir/.config/envbuild/config.toml (envbuild()
// points XDG_CONFIG_HOME there) with buildkit_run_options.
func writeRunOptions(t *testing.T, dir string, opts []string) {
	t.Helper()
	var q []string
	for _, o := range opts {
		q = append(q, fmt.Sprintf("%q", o))
	}
	writeConfig(t, dir, "buildkit_run_options = ["+strings.Join(q, ", ")+"]\n")
}

// writeConfig writes text as dir/.config/envbuild/config.toml, the config
// file of envbuild() run in dir (it points XDG_CONFIG_HOME there).
func writeConfig(t *testing.T, dir, text string) {
	t.Helper()
	p := filepath.Join(dir, ".config", "envbuild", "config.toml")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pathWithout is PATH without the directories holding any of the commands
// (docker stays: it is in /usr/local/bin or /usr/bin, runc in /usr/sbin).
func pathWithout(t *testing.T, cmds ...string) string {
	t.Helper()
	var keep []string
	for _, d := range strings.Split(os.Getenv("PATH"), ":") {
		drop := false
		for _, c := range cmds {
			if fi, err := os.Stat(filepath.Join(d, c)); err == nil && !fi.IsDir() {
				drop = true
			}
		}
		if !drop {
			keep = append(keep, d)
		}
	}
	p := strings.Join(keep, ":")
	for _, c := range cmds {
		cmd := exec.Command("sh", "-c", "command -v "+c)
		cmd.Env = []string{"PATH=" + p}
		if out, err := cmd.Output(); err == nil {
			t.Fatalf("%s is still on PATH %s: %s", c, p, out)
		}
	}
	return p
}

// --load takes the build's result however it was made: an OCI layout
// (no registry configured) is loaded as envbuild:env-<id>; a flow's built
// steps are loaded under their registry names.
func TestLoadLayoutAndFlow(t *testing.T) {
	bed := testbed.Require(t)
	host := requireDocker(t, bed)
	dir := t.TempDir()
	env := []string{"DOCKER_HOST=" + host}
	layoutDir := filepath.Join(dir, "oci")
	res := mustBuild(t, dir, env, "--pypi", "six==1.16.0", "--base", bed.Base, "--output", layoutDir, "--load")
	if res.OCILayout == "" {
		t.Fatalf("no OCI layout: %+v", res)
	}
	tag := "envbuild:env-" + res.EnvID[:16]
	if out, err := docker(t, host, "run", "--rm", "--network", "none", tag, "python", "-c", "import six; print(six.__version__)"); err != nil || out != "1.16.0" {
		t.Errorf("--load of an OCI layout: docker run %s: %q %v", tag, out, err)
	}

	flow := filepath.Join(dir, "loadflow.py")
	src := `from metaflow import FlowSpec, step, pypi


class LoadFlow(FlowSpec):
    @pypi(packages={"six": "1.16.0"})
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LoadFlow()
`
	if err := os.WriteFile(flow, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	repo := fmt.Sprintf("%s/envs/loadflow-%d", bed.Registry, time.Now().UnixNano())
	out, stderr := mustFlowBuild(t, flow, env, flow, "--registry", repo, "--with", "kubernetes:image="+bed.Base, "--load")
	start := out.Steps["start"]
	if start.Image == "" || start.Disabled {
		t.Fatalf("start step not built: %+v", out.Steps)
	}
	stepTag, _, _ := strings.Cut(start.Image, "@")
	if !strings.Contains(stderr, "loaded "+stepTag+" into Docker") {
		t.Errorf("flow build --load did not say it loaded %s:\n%s", stepTag, tail(stderr, 20))
	}
	if out, err := docker(t, host, "image", "inspect", "--format", "{{.Id}}", stepTag); err != nil {
		t.Errorf("flow build --load: %s is not in Docker: %s %v", stepTag, out, err)
	}
	if strings.Contains(stderr, "loaded "+bed.Base) {
		t.Errorf("a step without an environment (its base) was loaded:\n%s", stderr)
	}
}
