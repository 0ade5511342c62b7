package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	// docker-container://NAME: `docker exec -i NAME buildctl dial-stdio`.
	_ "github.com/moby/buildkit/client/connhelper/dockercontainer"

	"github.com/envbuild/envbuild/lock/failure"
)

// The BuildKit container envbuild starts where only Docker is available.
const (
	BuildkitContainer = "envbuild-buildkitd"
	BuildkitVolume    = "envbuild-buildkitd-state"
	// containerCABundle is where the user's CA bundle is mounted.
	containerCABundle = "/etc/envbuild/ca-certificates.crt"
)

// DockerOptions say how envbuild starts its BuildKit container.
type DockerOptions struct {
	// RunOptions replace the default `--privileged` of `docker run`; each
	// element is one argument (`--cap-add=SYS_ADMIN`).
	RunOptions []string
	// Registries are the registry hosts of the build (base image and
	// target); a loopback one gives the container the host's network.
	Registries []string
	// Env is the process environment (proxy variables, SSL_CERT_FILE);
	// nil means os.Environ.
	Env map[string]string
}

// DefaultBuildkitImage is moby/buildkit at the BuildKit version this
// binary was built with (go.mod's), read from the module's build info.
func DefaultBuildkitImage() string {
	bi, _ := debug.ReadBuildInfo()
	return buildkitImageFor(bi)
}

// fallbackBuildkitImage is used when the binary carries no module
// information (a test binary) or a pseudo-version.
const fallbackBuildkitImage = "moby/buildkit:buildx-stable-1"

func buildkitImageFor(bi *debug.BuildInfo) string {
	if bi == nil {
		return fallbackBuildkitImage
	}
	for _, d := range bi.Deps {
		if d.Path != "github.com/moby/buildkit" {
			continue
		}
		v := d.Version
		if d.Replace != nil && d.Replace.Version != "" {
			v = d.Replace.Version
		}
		if strings.HasPrefix(v, "v") && !strings.Contains(v, "-0.") {
			return "moby/buildkit:" + v
		}
	}
	return fallbackBuildkitImage
}

var dockerStartMu sync.Mutex

// docker runs the Docker CLI against one endpoint.
type docker struct {
	ep DockerEndpoint
}

// run runs `docker ARGS`, returning stdout; a failure carries stderr.
func (d docker) run(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", append(d.ep.cliArgs(), args...)...)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return out.String(), errors.New(msg)
	}
	return strings.TrimSpace(out.String()), nil
}

// ping reports whether the daemon answers; the error says why not.
func (d docker) ping(ctx context.Context) error {
	if _, err := exec.LookPath("docker"); err != nil {
		return errors.New("the docker command is not installed (envbuild drives Docker with it)")
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := d.run(cctx, nil, "version", "--format", "{{.Server.Version}}")
	return err
}

// containerState returns "" when the container does not exist, else its
// state ("running", "exited", …) and image.
func (d docker) containerState(ctx context.Context, name string) (state, image string, err error) {
	out, err := d.run(ctx, nil, "container", "inspect", "--format", "{{.State.Status}} {{.Config.Image}}", name)
	if err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "no such") {
			return "", "", nil
		}
		return "", "", err
	}
	state, image, _ = strings.Cut(out, " ")
	return state, image, nil
}

func (d docker) hasImage(ctx context.Context, image string) bool {
	_, err := d.run(ctx, nil, "image", "inspect", "--format", "{{.Id}}", image)
	return err == nil
}

// dockerAddr is the docker-container:// address of a container on ep.
func dockerAddr(ep DockerEndpoint, name string) string {
	a := "docker-container://" + name
	if ep.Context != "" {
		a += "?context=" + url.QueryEscape(ep.Context)
	}
	return a
}

// runArgs are the `docker run` arguments that start the BuildKit
// container: detached, named, the state volume, the CA bundle, proxies,
// and the host's network when a registry is on loopback.
func runArgs(image string, opts DockerOptions, caBundle string) []string {
	args := []string{"run", "-d", "--name", BuildkitContainer,
		"--label", "dev.envbuild.buildkitd=1",
		"-v", BuildkitVolume + ":/var/lib/buildkit"}
	if len(opts.RunOptions) == 0 {
		args = append(args, "--privileged")
	} else {
		args = append(args, opts.RunOptions...)
	}
	if caBundle != "" {
		args = append(args, "-v", caBundle+":"+containerCABundle+":ro", "-e", "SSL_CERT_FILE="+containerCABundle)
	}
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"} {
		if v := opts.Env[k]; v != "" {
			args = append(args, "-e", k+"="+v)
		}
	}
	if needsHostNetwork(opts) {
		args = append(args, "--network", "host")
	}
	return append(args, image)
}

// needsHostNetwork: a registry on the host's loopback is reachable from
// the container only on the host's network (and the user did not choose
// a network).
func needsHostNetwork(opts DockerOptions) bool {
	for _, o := range opts.RunOptions {
		if o == "--network" || o == "--net" || strings.HasPrefix(o, "--network=") || strings.HasPrefix(o, "--net=") {
			return false
		}
	}
	for _, r := range opts.Registries {
		host := r
		if i := strings.LastIndex(host, ":"); i > 0 && !strings.HasSuffix(host, "]") {
			host = host[:i]
		}
		host = strings.Trim(host, "[]")
		if host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1" {
			return true
		}
	}
	return false
}

// caBundle is the user's CA bundle: SSL_CERT_FILE, else the system's
// (symlinks resolved, so Docker Desktop's file sharing sees the file).
func caBundle(env map[string]string) string {
	cands := []string{env["SSL_CERT_FILE"], "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem", "/etc/ssl/cert.pem"}
	for _, c := range cands {
		if c == "" {
			continue
		}
		if p, err := filepath.EvalSymlinks(c); err == nil {
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return p
			}
		}
	}
	return ""
}

// connectDocker starts (or starts again, or reuses) the BuildKit container
// on the Docker daemon and connects to it. ok is false when no Docker
// daemon answers (why says why), so the caller can report every way it
// tried.
func connectDocker(ctx context.Context, opts ConnectOptions) (e *Engine, ok bool, why error, err error) {
	// A flow's environments connect concurrently: one of them starts the
	// container, the others find it running.
	dockerStartMu.Lock()
	defer dockerStartMu.Unlock()
	ep, err := FindDockerEndpoint()
	if err != nil {
		return nil, false, err, nil
	}
	d := docker{ep}
	if err := d.ping(ctx); err != nil {
		return nil, false, fmt.Errorf("no Docker daemon answers at %s: %v", ep, err), nil
	}
	if ep.viaHost {
		// The connection helper runs the docker CLI, which reads DOCKER_HOST.
		os.Setenv("DOCKER_HOST", ep.Host)
	}
	addr := dockerAddr(ep, BuildkitContainer)
	image := opts.BuildkitImage
	if image == "" {
		image = DefaultBuildkitImage()
	}
	log := opts.Log
	if log == nil {
		log = func(string) {}
	}
	state, running, err := d.containerState(ctx, BuildkitContainer)
	if err != nil {
		return nil, true, nil, failure.Infra(fmt.Errorf("asking Docker at %s about container %s: %v", ep, BuildkitContainer, err))
	}
	switch state {
	case "running":
		if running != image {
			log(fmt.Sprintf("note: %s runs %s, not %s; `envbuild daemon stop` removes it so the next build starts %s", BuildkitContainer, running, image, image))
		}
	case "":
		if !d.hasImage(ctx, image) {
			log(fmt.Sprintf("pulling %s into Docker at %s", image, ep.Host))
			if _, err := d.run(ctx, nil, "pull", image); err != nil {
				return nil, true, nil, failure.Infra(fmt.Errorf("the BuildKit image %s is not in Docker at %s and pulling it failed (%v); `docker pull %s` (or `docker load -i FILE.tar` on a machine without registry access), or point --buildkit-image / ENVBUILD_BUILDKIT_IMAGE / buildkit_image in the config file at a BuildKit image Docker has", image, ep, firstLine(err), image))
			}
		}
		env := opts.Docker.Env
		if env == nil {
			env = environMap()
		}
		dopts := opts.Docker
		dopts.Env = env
		args := runArgs(image, dopts, caBundle(env))
		log(fmt.Sprintf("starting a BuildKit container (docker %s) on Docker at %s; `envbuild daemon stop` stops it", strings.Join(args, " "), ep.Host))
		if _, err := d.run(ctx, nil, args...); err != nil {
			if strings.Contains(err.Error(), "is already in use") {
				// Another envbuild created it a moment ago: use that one.
				log(fmt.Sprintf("another envbuild created %s meanwhile; using it", BuildkitContainer))
				break
			}
			// A half-created container would be started next time as is.
			_, _ = d.run(context.WithoutCancel(ctx), nil, "rm", "-f", BuildkitContainer)
			return nil, true, nil, failure.Infra(fmt.Errorf("starting the BuildKit container %s from %s on Docker at %s: %v; if Docker refuses --privileged, give the options it accepts with --buildkit-run-option (or buildkit_run_options in the config file)", BuildkitContainer, image, ep, firstLine(err)))
		}
	default:
		log(fmt.Sprintf("starting the stopped BuildKit container %s (%s) on Docker at %s", BuildkitContainer, state, ep.Host))
		if _, err := d.run(ctx, nil, "start", BuildkitContainer); err != nil {
			return nil, true, nil, failure.Infra(fmt.Errorf("starting the stopped container %s on Docker at %s: %v; `envbuild daemon stop` removes it so the next build creates it again", BuildkitContainer, ep, firstLine(err)))
		}
	}
	e, err = waitDockerBuildkit(ctx, d, addr)
	return e, true, nil, err
}

// waitDockerBuildkit dials addr until BuildKit answers in the container,
// up to 30s, and says what the container printed if it never does.
func waitDockerBuildkit(ctx context.Context, d docker, addr string) (*Engine, error) {
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		e, err := Dial(cctx, addr)
		cancel()
		if err == nil {
			return e, nil
		}
		last = err
		if state, _, _ := d.containerState(ctx, BuildkitContainer); state == "" || state == "exited" || state == "dead" {
			break // it will not answer
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
	logs, _ := d.run(ctx, nil, "logs", "--tail", "20", BuildkitContainer)
	return nil, failure.Infra(fmt.Errorf("BuildKit in container %s on Docker at %s did not answer at %s (%v); its last output:\n%s\n`docker logs %s` shows more; `envbuild daemon stop` removes it", BuildkitContainer, d.ep.Host, addr, last, logs, BuildkitContainer))
}

// checkDockerContainer explains why a docker-container:// address cannot
// work before BuildKit's helper fails with less to say: Docker not
// answering, or the container missing or stopped.
func checkDockerContainer(ctx context.Context, addr string) error {
	u, err := url.Parse(addr)
	if err != nil || u.Scheme != "docker-container" {
		return nil
	}
	name := u.Hostname()
	ep, err := FindDockerEndpoint()
	if err != nil {
		return failure.Infra(fmt.Errorf("%s: %w", addr, err))
	}
	if c := u.Query().Get("context"); c != "" {
		ep = DockerEndpoint{Host: "docker context " + c, Context: c, Source: "the address's context"}
	}
	d := docker{ep}
	if err := d.ping(ctx); err != nil {
		return failure.Infra(fmt.Errorf("BuildKit address %s: no Docker daemon answers at %s (%v); start Docker (Docker Desktop, or `sudo systemctl start docker`), or set DOCKER_HOST / `docker context use` to the one that runs %s", addr, ep, firstLine(err), name))
	}
	state, _, err := d.containerState(ctx, name)
	if err != nil {
		return failure.Infra(fmt.Errorf("BuildKit address %s: asking Docker at %s about container %s: %v", addr, ep, name, firstLine(err)))
	}
	switch state {
	case "running":
		return nil
	case "":
		return failure.Infra(fmt.Errorf("BuildKit address %s: Docker at %s has no container %q; start one (`docker run -d --name %s --privileged %s`), or leave --buildkit-addr and BUILDKIT_HOST unset and envbuild starts its own", addr, ep, name, name, DefaultBuildkitImage()))
	default:
		return failure.Infra(fmt.Errorf("BuildKit address %s: container %q on Docker at %s is %s, not running; `docker start %s`", addr, name, ep, state, name))
	}
}

// StopDocker stops and removes the BuildKit container envbuild started,
// keeping its state volume (BuildKit's cache). It reports whether there
// was one; no Docker daemon answering means there is none to stop.
func StopDocker(ctx context.Context) (bool, error) {
	ep, err := FindDockerEndpoint()
	if err != nil {
		return false, nil
	}
	d := docker{ep}
	if d.ping(ctx) != nil {
		return false, nil
	}
	state, _, err := d.containerState(ctx, BuildkitContainer)
	if err != nil {
		return false, failure.Infra(fmt.Errorf("asking Docker at %s about %s: %v", ep, BuildkitContainer, err))
	}
	if state == "" {
		return false, nil
	}
	if _, err := d.run(ctx, nil, "rm", "-f", BuildkitContainer); err != nil {
		return false, failure.Infra(fmt.Errorf("removing container %s on Docker at %s: %v", BuildkitContainer, ep, err))
	}
	return true, nil
}

// runningDocker returns the address of envbuild's BuildKit container when
// it is running, without starting anything.
func runningDocker(ctx context.Context) string {
	ep, err := FindDockerEndpoint()
	if err != nil {
		return ""
	}
	d := docker{ep}
	if d.ping(ctx) != nil {
		return ""
	}
	if state, _, _ := d.containerState(ctx, BuildkitContainer); state == "running" {
		if ep.viaHost {
			os.Setenv("DOCKER_HOST", ep.Host)
		}
		return dockerAddr(ep, BuildkitContainer)
	}
	return ""
}

func environMap() map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(strings.TrimSpace(err.Error()), "\n")
	return s
}
