package testbed

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

// Options configure Start. The zero value starts everything with defaults.
type Options struct {
	// StateDir holds every daemon's state, socket, configuration and log.
	// Stop removes it when Start created it. Default: a new directory
	// under os.TempDir().
	StateDir string
	// CacheDir keeps the base images' layers between runs.
	// Default: DefaultCacheDir().
	CacheDir string
	// Buildkitd is the daemon binary. Default: bin/buildkitd at the root
	// of the envbuild module (found from the working directory), else
	// buildkitd on PATH.
	Buildkitd string
	// Mirror is the Debian mirror debootstrap uses. Default: the first
	// ".../debian" URI of the machine's apt sources.
	Mirror string
	// NoBases skips building and pushing the base images. Default: false.
	NoBases bool
	// Detach leaves the daemons running when the calling process exits
	// (for `testbed up`). Default: false, the daemons get SIGTERM when the
	// caller dies.
	Detach bool
	// Log receives progress lines. Default: discarded.
	Log io.Writer
}

// Bed is a running test bed. Its fields are what tests connect to; image
// references are complete (registry host included).
type Bed struct {
	StateDir string `json:"state_dir"`

	// BuildkitAddr is the daemon's address, unix://STATE/buildkitd/buildkitd.sock.
	BuildkitAddr string `json:"buildkit_addr"`
	// Buildkitd is the daemon binary, for StartExtraBuildkitd.
	Buildkitd string `json:"buildkitd"`

	// Registry is host:port of the registry without authentication.
	Registry string `json:"registry"`
	// AuthRegistry is host:port of the registry that requires AuthUser and
	// AuthPassword (HTTP basic auth, htpasswd).
	AuthRegistry string `json:"auth_registry"`
	AuthUser     string `json:"auth_user"`
	AuthPassword string `json:"auth_password"`
	// DockerConfig is a directory whose config.json holds AuthRegistry's
	// credentials: set DOCKER_CONFIG to it to log a client in.
	DockerConfig string `json:"docker_config"`

	// Base is a Debian bookworm linux/amd64 image with python3, venv and
	// python3-yaml; Env BASE_MARKER=from-base, Entrypoint
	// /usr/local/bin/base-entrypoint, WorkingDir /srv, label
	// org.example.base=debian, file /etc/base-marker.txt ("base-file-ok").
	Base string `json:"base"`
	// BaseSwap has Base's root file system layer and Python under a
	// different top layer (marker "swap-base-file-ok", BASE_MARKER=from-swap-base).
	BaseSwap string `json:"base_swap"`
	// BaseARM64 is the same Debian for linux/arm64/v8 (nothing in it runs here).
	BaseARM64 string `json:"base_arm64"`
	// BaseMulti is an OCI index of Base and BaseARM64.
	BaseMulti string `json:"base_multi"`
	// BaseNoPython is a static busybox root file system without Python.
	BaseNoPython string `json:"base_nopython"`

	// DockerHost is DOCKER_HOST of the bed's Docker daemon and
	// BuildkitImage the BuildKit image made in it, once StartDocker ran.
	DockerHost    string `json:"docker_host,omitempty"`
	BuildkitImage string `json:"buildkit_image,omitempty"`

	dockerMu       sync.Mutex
	mu             sync.Mutex
	procs          []*process
	removeStateDir bool
	extraBuildkitd int
	detach         bool
	logf           func(string, ...any)
}

// stateFile is what a bed records in STATE/bed.json, so `testbed down` and
// Attach can find it again.
type stateFile struct {
	Bed            *Bed       `json:"bed"`
	Processes      []*process `json:"processes"`
	RemoveStateDir bool       `json:"remove_state_dir"`
	Detach         bool       `json:"detach"`
}

// CannotRun returns why this machine cannot run a test bed, or "" when it
// can. Missing packages are not a reason: scripts/setup.sh installs them.
func CannotRun() string {
	if runtime.GOOS != "linux" {
		return fmt.Sprintf("the test bed needs Linux (buildkitd with runc), this is %s", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		return "the test bed needs root (buildkitd's OCI worker and debootstrap); run the tests as root"
	}
	return ""
}

// Start starts buildkitd and both registries and pushes the base images.
// On error everything started so far is stopped.
func Start(ctx context.Context, opts Options) (_ *Bed, err error) {
	if reason := CannotRun(); reason != "" {
		return nil, fmt.Errorf("starting the test bed: %s", reason)
	}
	b := &Bed{detach: opts.Detach, logf: func(string, ...any) {}}
	if opts.Log != nil {
		b.logf = func(format string, args ...any) { fmt.Fprintf(opts.Log, "testbed: "+format+"\n", args...) }
	}
	if b.Buildkitd, err = findBuildkitd(opts.Buildkitd); err != nil {
		return nil, err
	}
	if opts.StateDir == "" {
		removeStaleStateDirs(os.TempDir(), b.logf)
		if b.StateDir, err = os.MkdirTemp("", stateDirPattern); err != nil {
			return nil, fmt.Errorf("creating the test bed's state directory: %w", err)
		}
		b.removeStateDir = true
		if err := writeOwner(b.StateDir); err != nil {
			os.RemoveAll(b.StateDir)
			return nil, fmt.Errorf("recording the owner of %q: %w", b.StateDir, err)
		}
	} else {
		if b.StateDir, err = filepath.Abs(opts.StateDir); err != nil {
			return nil, err
		}
		if _, err := os.Stat(b.StateDir); errors.Is(err, os.ErrNotExist) {
			b.removeStateDir = true
		}
		if err := os.MkdirAll(b.StateDir, 0o755); err != nil {
			return nil, fmt.Errorf("creating the test bed's state directory %q: %w", b.StateDir, err)
		}
	}
	defer func() {
		if err != nil {
			if serr := b.Stop(); serr != nil {
				err = errors.Join(err, serr)
			}
		}
	}()
	started := time.Now()

	// Registries first: buildkitd's configuration names them.
	b.AuthUser, b.AuthPassword = "u"+randomHex(4), randomHex(12)
	line, err := htpasswdLine(b.AuthUser, b.AuthPassword)
	if err != nil {
		return nil, err
	}
	htpasswd := filepath.Join(b.StateDir, "auth-registry", "htpasswd")
	if err := os.MkdirAll(filepath.Dir(htpasswd), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(htpasswd, []byte(line), 0o600); err != nil {
		return nil, fmt.Errorf("writing %q: %w", htpasswd, err)
	}
	addr, p, err := startRegistry(ctx, filepath.Join(b.StateDir, "registry"), "registry", "", b.detach)
	if err != nil {
		return nil, err
	}
	b.Registry = addr
	b.addProcess(p)
	addr, p, err = startRegistry(ctx, filepath.Join(b.StateDir, "auth-registry"), "auth-registry", htpasswd, b.detach)
	if err != nil {
		return nil, err
	}
	b.AuthRegistry = addr
	b.addProcess(p)
	if err := b.writeDockerConfig(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(b.buildkitdConfigPath(), []byte(buildkitdConfig(b.Registry, b.AuthRegistry)), 0o644); err != nil {
		return nil, fmt.Errorf("writing buildkitd config: %w", err)
	}
	b.logf("registries up on %s and %s (auth) in %s", b.Registry, b.AuthRegistry, time.Since(started).Round(time.Millisecond))

	// buildkitd starts while the base images are built and pushed.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		t := time.Now()
		addr, p, err := startBuildkitd(gctx, b.Buildkitd, filepath.Join(b.StateDir, "buildkitd"), b.buildkitdConfigPath(), b.detach)
		if err != nil {
			return err
		}
		b.BuildkitAddr = addr
		b.addProcess(p)
		b.logf("buildkitd answering on %s after %s", addr, time.Since(t).Round(time.Millisecond))
		return nil
	})
	if !opts.NoBases {
		g.Go(func() error {
			t := time.Now()
			cacheDir := opts.CacheDir
			if cacheDir == "" {
				cacheDir = DefaultCacheDir()
			}
			mirror := opts.Mirror
			if mirror == "" {
				var err error
				if mirror, err = aptMirror(); err != nil {
					return err
				}
			}
			imgs, err := buildBaseImages(gctx, cacheDir, mirror, b.logf)
			if err != nil {
				return err
			}
			b.logf("base images ready in %s", time.Since(t).Round(time.Millisecond))
			t = time.Now()
			if err := b.pushBases(gctx, imgs); err != nil {
				return err
			}
			b.logf("base images pushed in %s", time.Since(t).Round(time.Millisecond))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := b.writeState(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(b.StateDir, "env.sh"), []byte(b.ExportLines()), 0o644); err != nil {
		return nil, fmt.Errorf("writing env.sh: %w", err)
	}
	b.logf("test bed up in %s (state %s)", time.Since(started).Round(time.Millisecond), b.StateDir)
	return b, nil
}

// pushBases pushes every base image to the plain registry and records the
// references.
func (b *Bed) pushBases(ctx context.Context, imgs *baseImages) error {
	g, gctx := errgroup.WithContext(ctx)
	for rel, img := range imgs.images {
		g.Go(func() error {
			ref, err := name.ParseReference(b.Registry+"/"+rel, name.Insecure)
			if err != nil {
				return fmt.Errorf("parsing base reference %q: %w", rel, err)
			}
			if err := remote.Write(ref, img, remote.WithContext(gctx)); err != nil {
				return fmt.Errorf("pushing base image %q: %w", ref, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for rel, idx := range imgs.index {
		ref, err := name.ParseReference(b.Registry+"/"+rel, name.Insecure)
		if err != nil {
			return fmt.Errorf("parsing base reference %q: %w", rel, err)
		}
		if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx)); err != nil {
			return fmt.Errorf("pushing base index %q: %w", ref, err)
		}
	}
	b.Base = b.Registry + "/" + refDebian
	b.BaseSwap = b.Registry + "/" + refSwap
	b.BaseARM64 = b.Registry + "/" + refARM64
	b.BaseMulti = b.Registry + "/" + refMulti
	b.BaseNoPython = b.Registry + "/" + refNoPython
	return nil
}

func (b *Bed) buildkitdConfigPath() string { return filepath.Join(b.StateDir, "buildkitd.toml") }

func (b *Bed) addProcess(p *process) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.procs = append(b.procs, p)
}

// writeDockerConfig writes DOCKER_CONFIG/config.json with AuthRegistry's
// credentials.
func (b *Bed) writeDockerConfig() error {
	b.DockerConfig = filepath.Join(b.StateDir, "docker-config")
	if err := os.MkdirAll(b.DockerConfig, 0o700); err != nil {
		return err
	}
	cfg := map[string]any{"auths": map[string]any{
		b.AuthRegistry: map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(b.AuthUser + ":" + b.AuthPassword))},
	}}
	data, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(b.DockerConfig, "config.json"), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing docker config for the auth registry: %w", err)
	}
	return nil
}

// extraName names the n-th extra buildkitd this process starts (and its
// directory): the process id keeps apart those of test processes sharing
// one bed (go test runs packages in parallel).
func extraName(n int) string { return fmt.Sprintf("buildkitd-extra-%d-%d", os.Getpid(), n) }

// writeState records the bed in STATE/bed.json. Several test processes may
// share one bed and start daemons of their own: under a lock, the
// processes recorded by the others are kept, so `testbed down` stops all.
func (b *Bed) writeState() error {
	lock, err := os.OpenFile(filepath.Join(b.StateDir, "bed.json.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	b.mu.Lock()
	procs := append([]*process(nil), b.procs...)
	if data, err := os.ReadFile(filepath.Join(b.StateDir, "bed.json")); err == nil {
		var old stateFile
		if json.Unmarshal(data, &old) == nil {
			have := map[string]bool{}
			for _, p := range procs {
				have[p.Name] = true
			}
			for _, p := range old.Processes {
				if !have[p.Name] {
					procs = append(procs, p)
				}
			}
		}
	}
	st := stateFile{Bed: b, Processes: procs, RemoveStateDir: b.removeStateDir, Detach: b.detach}
	data, err := json.MarshalIndent(st, "", "  ")
	b.mu.Unlock()
	if err != nil {
		return fmt.Errorf("encoding the test bed state: %w", err)
	}
	path := filepath.Join(b.StateDir, "bed.json")
	if err := os.WriteFile(path+".tmp", append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return err
	}
	// The same PIDs for people and scripts: "NAME PID" lines.
	var pids strings.Builder
	for _, p := range st.Processes {
		fmt.Fprintf(&pids, "%s %d\n", p.Name, p.PID)
	}
	return os.WriteFile(filepath.Join(b.StateDir, "pids"), []byte(pids.String()), 0o644)
}

// Attach returns the bed recorded in stateDir/bed.json (a bed started by
// `testbed up`), after checking that its buildkitd answers. Stop on the
// returned bed stops its daemons.
func Attach(ctx context.Context, stateDir string) (*Bed, error) {
	path := filepath.Join(stateDir, "bed.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading test bed state: %w", err)
	}
	var st stateFile
	if err := json.Unmarshal(data, &st); err != nil || st.Bed == nil {
		return nil, fmt.Errorf("reading test bed state %q: %v", path, err)
	}
	b := st.Bed
	b.procs, b.removeStateDir, b.detach = st.Processes, st.RemoveStateDir, st.Detach
	b.logf = func(string, ...any) {}
	for _, p := range b.procs {
		if strings.HasPrefix(p.Name, "buildkitd-extra-") {
			b.extraBuildkitd++
		}
	}
	if err := pingBuildkitd(ctx, b.BuildkitAddr); err != nil {
		return b, fmt.Errorf("test bed in %q is not answering (buildkitd on %q: %v); run `testbed down` and `testbed up`", stateDir, b.BuildkitAddr, err)
	}
	return b, nil
}

// StartExtraBuildkitd starts another buildkitd with its own empty state and
// the same configuration, and returns its address. Stop stops it.
func (b *Bed) StartExtraBuildkitd(ctx context.Context) (string, error) {
	return b.StartExtraBuildkitdBinary(ctx, b.Buildkitd)
}

// StartExtraBuildkitdBinary is StartExtraBuildkitd with another buildkitd
// binary (one stamped with another version, say).
func (b *Bed) StartExtraBuildkitdBinary(ctx context.Context, bin string) (string, error) {
	b.mu.Lock()
	b.extraBuildkitd++
	n := b.extraBuildkitd
	b.mu.Unlock()
	dir := filepath.Join(b.StateDir, extraName(n))
	addr, p, err := startBuildkitd(ctx, bin, dir, b.buildkitdConfigPath(), b.detach)
	if err != nil {
		return "", fmt.Errorf("starting extra buildkitd %d: %w", n, err)
	}
	p.Name = extraName(n)
	b.addProcess(p)
	return addr, b.writeState()
}

// StartTLSBuildkitd starts another buildkitd with its own empty state and
// the same configuration that also listens on tcp://127.0.0.1:PORT with
// TLS: it presents cert (with key) and requires a client certificate
// signed by ca. It returns the tcp:// address. Stop stops it.
func (b *Bed) StartTLSBuildkitd(ctx context.Context, ca, cert, key string) (string, error) {
	tcp, err := freeLoopbackAddr()
	if err != nil {
		return "", err
	}
	b.mu.Lock()
	b.extraBuildkitd++
	n := b.extraBuildkitd
	b.mu.Unlock()
	dir := filepath.Join(b.StateDir, extraName(n))
	addr := "tcp://" + tcp
	// The bed waits on the unix socket; the tcp listener needs TLS.
	_, p, err := startBuildkitd(ctx, b.Buildkitd, dir, b.buildkitdConfigPath(), b.detach,
		"--addr", addr, "--tlscacert", ca, "--tlscert", cert, "--tlskey", key)
	if err != nil {
		return "", fmt.Errorf("starting extra buildkitd %d with TLS on %s: %w", n, addr, err)
	}
	p.Name = extraName(n)
	b.addProcess(p)
	return addr, b.writeState()
}

// Buildctl is buildctl of the bed's BuildKit version: bin/buildctl of the
// envbuild module (scripts/setup.sh builds it), else buildctl on PATH.
func Buildctl() (string, error) {
	if root, err := ModuleRoot(); err == nil {
		p := filepath.Join(root, "bin", "buildctl")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("buildctl"); err == nil {
		return p, nil
	}
	return "", errors.New("finding buildctl: no bin/buildctl in the envbuild module and none on PATH; run scripts/setup.sh")
}

// Stop stops every daemon of the bed by PID (the most recently started
// first), unmounts what buildkitd left mounted and removes the state
// directory when Start created it. Calling it again does nothing.
func (b *Bed) Stop() error {
	b.mu.Lock()
	procs := b.procs
	b.procs = nil
	b.mu.Unlock()
	var errs []error
	for i := len(procs) - 1; i >= 0; i-- {
		grace := 5 * time.Second
		if strings.HasPrefix(procs[i].Name, "buildkitd") {
			grace = 20 * time.Second
		}
		if procs[i].Name == "dockerd" {
			// dockerd stops its containers first.
			grace = 40 * time.Second
		}
		if err := procs[i].stop(grace); err != nil {
			errs = append(errs, err)
		}
	}
	if b.StateDir != "" {
		if err := unmountUnder(b.StateDir); err != nil {
			errs = append(errs, err)
		}
		if b.removeStateDir {
			if err := os.RemoveAll(b.StateDir); err != nil {
				errs = append(errs, fmt.Errorf("removing test bed state %q: %w", b.StateDir, err))
			}
		} else if len(procs) > 0 {
			_ = os.Remove(filepath.Join(b.StateDir, "bed.json"))
		}
	}
	return errors.Join(errs...)
}

// DumpLogs writes the last 200 lines of every daemon's log to w.
func (b *Bed) DumpLogs(w io.Writer) {
	b.mu.Lock()
	procs := append([]*process(nil), b.procs...)
	b.mu.Unlock()
	for _, p := range procs {
		fmt.Fprintf(w, "===== %s (pid %d): last lines of %s =====\n", p.Name, p.PID, p.Log)
		lines, err := tailFile(p.Log, 200)
		if err != nil {
			fmt.Fprintf(w, "(cannot read the log: %v)\n", err)
			continue
		}
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
	}
}

// Env returns the bed as environment variables (NAME=value), the ones Main
// sets for integration tests.
func (b *Bed) Env() []string {
	return []string{
		"ENVBUILD_TESTBED_STATE=" + b.StateDir,
		"BUILDKIT_HOST=" + b.BuildkitAddr,
		"ENVBUILD_TEST_BUILDKITD=" + b.Buildkitd,
		"ENVBUILD_TEST_REGISTRY=" + b.Registry,
		"ENVBUILD_TEST_AUTH_REGISTRY=" + b.AuthRegistry,
		"ENVBUILD_TEST_AUTH_USER=" + b.AuthUser,
		"ENVBUILD_TEST_AUTH_PASSWORD=" + b.AuthPassword,
		"ENVBUILD_TEST_AUTH_DOCKER_CONFIG=" + b.DockerConfig,
		"ENVBUILD_TEST_BASE=" + b.Base,
		"ENVBUILD_TEST_BASE_SWAP=" + b.BaseSwap,
		"ENVBUILD_TEST_BASE_ARM64=" + b.BaseARM64,
		"ENVBUILD_TEST_BASE_MULTI=" + b.BaseMulti,
		"ENVBUILD_TEST_BASE_NOPYTHON=" + b.BaseNoPython,
		"ENVBUILD_TEST_DOCKER_HOST=" + b.DockerHost,
		"ENVBUILD_TEST_BUILDKIT_IMAGE=" + b.BuildkitImage,
	}
}

// ExportLines returns Env as shell `export NAME='value'` lines.
func (b *Bed) ExportLines() string {
	var s strings.Builder
	for _, kv := range b.Env() {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&s, "export %s='%s'\n", k, strings.ReplaceAll(v, "'", `'\''`))
	}
	return s.String()
}

// Keychain gives go-containerregistry the bed's credentials for
// AuthRegistry and anonymous access elsewhere.
func (b *Bed) Keychain() authn.Keychain { return bedKeychain{b} }

type bedKeychain struct{ b *Bed }

func (k bedKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() == k.b.AuthRegistry {
		return authn.FromConfig(authn.AuthConfig{Username: k.b.AuthUser, Password: k.b.AuthPassword}), nil
	}
	return authn.Anonymous, nil
}

// ModuleRoot returns the root directory of the envbuild module, found by
// walking up from the working directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if strings.TrimSpace(sc.Text()) == "module github.com/envbuild/envbuild" {
					f.Close()
					return dir, nil
				}
			}
			f.Close()
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding the envbuild module root: no go.mod of github.com/envbuild/envbuild above the working directory")
		}
		dir = parent
	}
}

// findBuildkitd resolves Options.Buildkitd.
func findBuildkitd(explicit string) (string, error) {
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", fmt.Errorf("finding buildkitd %q: %w", explicit, err)
		}
		return filepath.Abs(explicit)
	}
	if root, err := ModuleRoot(); err == nil {
		p := filepath.Join(root, "bin", "buildkitd")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("buildkitd"); err == nil {
		return p, nil
	}
	return "", errors.New("finding buildkitd: no bin/buildkitd in the envbuild module and none on PATH; run scripts/setup.sh")
}

// BuildkitdPID returns the PID of the extra buildkitd listening at addr
// (as StartExtraBuildkitd returned it), or 0: fault tests kill or freeze
// it mid-build.
func (b *Bed) BuildkitdPID(addr string) int {
	name := filepath.Base(filepath.Dir(strings.TrimPrefix(addr, "unix://")))
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.procs {
		if p.Name == name {
			return p.PID
		}
	}
	return 0
}
