package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

// fakeDocker writes a Docker CLI config dir with the given current context
// and context endpoints.
func fakeDocker(t *testing.T, current string, contexts map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if current != "" {
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"auths":{},"currentContext":"`+current+`"}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for name, host := range contexts {
		sum := sha256.Sum256([]byte(name))
		meta := filepath.Join(dir, "contexts", "meta", hex.EncodeToString(sum[:]))
		if err := os.MkdirAll(meta, 0o755); err != nil {
			t.Fatal(err)
		}
		// As `docker context create` writes it.
		js := `{"Name":"` + name + `","Metadata":{"Description":""},"Endpoints":{"docker":{"Host":"` + host + `","SkipTLSVerify":false}}}`
		if err := os.WriteFile(filepath.Join(meta, "meta.json"), []byte(js), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFindDockerEndpoint(t *testing.T) {
	home := t.TempDir()
	withCtx := fakeDocker(t, "remote", map[string]string{"remote": "ssh://builder@build.example.com", "desktop-linux": "unix:///Users/me/.docker/run/docker.sock"})
	noCtx := fakeDocker(t, "", nil)
	brokenCtx := fakeDocker(t, "gone", nil)
	macSock := filepath.Join(home, ".docker", "run", "docker.sock")
	for _, tc := range []struct {
		name    string
		env     map[string]string
		goos    string
		exists  []string
		host    string
		context string
		args    []string
		err     string
	}{
		{name: "DOCKER_HOST wins over a context", env: map[string]string{"DOCKER_HOST": "tcp://10.0.0.1:2376", "DOCKER_CONFIG": withCtx, "DOCKER_CONTEXT": "desktop-linux"}, goos: "linux", host: "tcp://10.0.0.1:2376"},
		{name: "current context from config.json", env: map[string]string{"DOCKER_CONFIG": withCtx}, goos: "linux", host: "ssh://builder@build.example.com", context: "remote", args: []string{"--context", "remote"}},
		{name: "DOCKER_CONTEXT over config.json", env: map[string]string{"DOCKER_CONFIG": withCtx, "DOCKER_CONTEXT": "desktop-linux"}, goos: "darwin", host: "unix:///Users/me/.docker/run/docker.sock", context: "desktop-linux", args: []string{"--context", "desktop-linux"}},
		{name: "default context is the socket", env: map[string]string{"DOCKER_CONFIG": withCtx, "DOCKER_CONTEXT": "default"}, goos: "linux", host: "unix:///var/run/docker.sock"},
		{name: "no config", env: map[string]string{"DOCKER_CONFIG": noCtx}, goos: "linux", host: "unix:///var/run/docker.sock"},
		{name: "missing context", env: map[string]string{"DOCKER_CONFIG": brokenCtx}, goos: "linux", err: `Docker context "gone"`},
		{name: "macOS per-user socket", env: map[string]string{"DOCKER_CONFIG": noCtx}, goos: "darwin", exists: []string{macSock}, host: "unix://" + macSock, args: []string{"--host", "unix://" + macSock}},
		{name: "macOS with the system socket", env: map[string]string{"DOCKER_CONFIG": noCtx}, goos: "darwin", exists: []string{macSock, "/var/run/docker.sock"}, host: "unix:///var/run/docker.sock"},
		{name: "config in ~/.docker", env: map[string]string{}, goos: "linux", host: "unix:///var/run/docker.sock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep, err := findDockerEndpoint(dockerLookup{
				env:    func(k string) string { return tc.env[k] },
				home:   home,
				goos:   tc.goos,
				exists: func(p string) bool { return slices.Contains(tc.exists, p) },
			})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ep.Host != tc.host || ep.Context != tc.context || !slices.Equal(ep.cliArgs(), tc.args) {
				t.Errorf("got host %q context %q args %q; want %q %q %q", ep.Host, ep.Context, ep.cliArgs(), tc.host, tc.context, tc.args)
			}
		})
	}
}

func TestDockerAddr(t *testing.T) {
	if a := dockerAddr(DockerEndpoint{Host: defaultDockerSocket}, "b"); a != "docker-container://b" {
		t.Error(a)
	}
	if a := dockerAddr(DockerEndpoint{Context: "desktop-linux"}, "b"); a != "docker-container://b?context=desktop-linux" {
		t.Error(a)
	}
}

func TestRunArgs(t *testing.T) {
	join := func(a []string) string { return strings.Join(a, " ") }
	// Defaults: privileged, state volume, CA bundle, proxies, no host network.
	got := join(runArgs("moby/buildkit:v0.34.2", DockerOptions{
		Registries: []string{"registry.example.com", "ghcr.io"},
		Env:        map[string]string{"HTTPS_PROXY": "http://proxy:3128", "no_proxy": "localhost", "PATH": "/bin"},
	}, "/etc/ssl/certs/ca-certificates.crt"))
	want := "run -d --name envbuild-buildkitd --label dev.envbuild.buildkitd=1 -v envbuild-buildkitd-state:/var/lib/buildkit --privileged " +
		"-v /etc/ssl/certs/ca-certificates.crt:/etc/envbuild/ca-certificates.crt:ro -e SSL_CERT_FILE=/etc/envbuild/ca-certificates.crt " +
		"-e HTTPS_PROXY=http://proxy:3128 -e no_proxy=localhost moby/buildkit:v0.34.2"
	if got != want {
		t.Errorf("default run args\n got %s\nwant %s", got, want)
	}
	// Given options replace --privileged; a loopback registry adds host networking.
	got = join(runArgs("img", DockerOptions{RunOptions: []string{"--cap-add=SYS_ADMIN", "--security-opt", "seccomp=unconfined"}, Registries: []string{"127.0.0.1:5000"}}, ""))
	want = "run -d --name envbuild-buildkitd --label dev.envbuild.buildkitd=1 -v envbuild-buildkitd-state:/var/lib/buildkit --cap-add=SYS_ADMIN --security-opt seccomp=unconfined --network host img"
	if got != want {
		t.Errorf("custom run args\n got %s\nwant %s", got, want)
	}
	// The user's own network choice is kept.
	if got := join(runArgs("img", DockerOptions{RunOptions: []string{"--network=bridge"}, Registries: []string{"localhost:5000"}}, "")); strings.Contains(got, "--network host") {
		t.Errorf("host network added over the user's --network: %s", got)
	}
	for reg, want := range map[string]bool{"localhost:5000": true, "127.0.0.1": true, "[::1]:5000": true, "registry.local:5000": false, "10.1.2.3:5000": false} {
		if got := needsHostNetwork(DockerOptions{Registries: []string{reg}}); got != want {
			t.Errorf("needsHostNetwork(%s) = %v", reg, got)
		}
	}
}

func TestCABundle(t *testing.T) {
	f := filepath.Join(t.TempDir(), "corp.pem")
	if err := os.WriteFile(f, []byte("pem"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link.pem")
	if err := os.Symlink(f, link); err != nil {
		t.Fatal(err)
	}
	if got := caBundle(map[string]string{"SSL_CERT_FILE": link}); got != f {
		t.Errorf("caBundle = %q, want the resolved %q", got, f)
	}
}

func TestDefaultBuildkitImage(t *testing.T) {
	bi := &debug.BuildInfo{Deps: []*debug.Module{{Path: "github.com/moby/buildkit", Version: "v0.34.2"}}}
	if got := buildkitImageFor(bi); got != "moby/buildkit:v0.34.2" {
		t.Errorf("got %q", got)
	}
	bi.Deps[0].Version = "v0.35.0-0.20250101000000-abcdef123456"
	if got := buildkitImageFor(bi); got != fallbackBuildkitImage {
		t.Errorf("a pseudo-version gave %q", got)
	}
	// A test binary has no dependencies in its build info.
	if got := buildkitImageFor(&debug.BuildInfo{}); got != fallbackBuildkitImage {
		t.Errorf("got %q", got)
	}
}
