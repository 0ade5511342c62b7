package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/buildkit/client"

	"github.com/envbuild/envbuild/lock/failure"
)

// Local daemon locations.
const (
	LocalSocket   = "/run/envbuild/buildkitd.sock"
	LocalStateDir = "/var/lib/envbuild/buildkit"
	localPidFile  = "/run/envbuild/buildkitd.pid"
	localLogFile  = "/var/lib/envbuild/buildkitd.log"
)

// Address picks the BuildKit address: the flag, else BUILDKIT_HOST, else
// "" meaning the local daemon.
func Address(flag string, env map[string]string) string {
	if flag != "" {
		return flag
	}
	return env["BUILDKIT_HOST"]
}

// TLSOptions are the client's TLS files for a tcp:// address.
type TLSOptions struct {
	CACert, Cert, Key, ServerName string
}

// ConnectOptions say which BuildKit to use and how to reach it.
type ConnectOptions struct {
	// Addr is --buildkit-addr, else BUILDKIT_HOST, else the config file's
	// buildkit_addr; "" means the local daemon.
	Addr string
	// TLS applies to tcp:// addresses.
	TLS TLSOptions
	// Builder is --builder / BUILDX_BUILDER: a buildx builder by name
	// ("current": the one `docker buildx use` chose).
	Builder string
	// BuildxDir is the buildx store ("" means BuildxStoreDir of the
	// process environment).
	BuildxDir string
	// BuildkitImage is the image of the BuildKit container envbuild starts
	// where only a Docker daemon is there.
	BuildkitImage string
	// Docker says how that container is run (docker.go).
	Docker DockerOptions
	// Log receives one line when a daemon is started.
	Log func(string)
}

// Connect dials opts.Addr (with opts.TLS), or the buildx builder
// opts.Builder, or with neither the local daemon, starting
// it when it is not running and this process may (root on Linux with runc
// present). A daemon that cannot run envbuild's builds is refused (fit.go).
func Connect(ctx context.Context, opts ConnectOptions) (*Engine, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Builder != "" {
		return connectBuilder(ctx, opts)
	}
	addr, log := opts.Addr, opts.Log
	if addr != "" {
		if err := checkDockerContainer(ctx, addr); err != nil {
			return nil, err
		}
		return dial(ctx, addr, opts.TLS, log)
	}
	local := "unix://" + LocalSocket
	if !localDisabled() && answers(ctx, local) {
		return dial(ctx, local, TLSOptions{}, log)
	}
	bin, err := "", canStartLocal()
	if err == nil {
		bin, err = findBuildkitd()
	}
	if err != nil {
		// No local daemon envbuild may start: a BuildKit container on
		// Docker, where a Docker daemon answers (docker.go).
		e, ok, why, derr := connectDocker(ctx, opts)
		if ok {
			return e, derr
		}
		return nil, failure.Infra(fmt.Errorf("no BuildKit daemon: %w, and %v; start Docker (envbuild then runs BuildKit in a container), or point --buildkit-addr or BUILDKIT_HOST at one (e.g. unix:///run/buildkit/buildkitd.sock, tcp://host:1234, docker-container://buildkitd)", err, why))
	}
	if log != nil {
		log(fmt.Sprintf("starting a local BuildKit daemon (%s) at %s; `envbuild daemon stop` stops it", bin, local))
	}
	if err := startLocal(bin); err != nil {
		return nil, failure.Infra(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if answers(ctx, local) {
			return dial(ctx, local, TLSOptions{}, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil, failure.Infra(fmt.Errorf("the local BuildKit daemon did not answer at %s within 30s; see %s", local, localLogFile))
}

func answers(ctx context.Context, addr string) bool {
	if _, err := os.Stat(strings.TrimPrefix(addr, "unix://")); err != nil {
		return false
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := client.New(cctx, addr)
	if err != nil {
		return false
	}
	defer c.Close()
	_, err = c.ListWorkers(cctx)
	return err == nil
}

func canStartLocal() error {
	if localDisabled() {
		return errors.New("ENVBUILD_NO_LOCAL_BUILDKITD is set")
	}
	if runtime.GOOS != "linux" {
		return fmt.Errorf("envbuild starts a local daemon only on Linux (this is %s)", runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		return errors.New("envbuild starts a local daemon only as root")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		return errors.New("runc is not installed (apt-get install runc)")
	}
	return nil
}

// findBuildkitd looks next to the envbuild binary, then on PATH.
func findBuildkitd() (string, error) {
	if self, err := os.Executable(); err == nil {
		cand := filepath.Join(filepath.Dir(self), "buildkitd")
		if fi, err := os.Stat(cand); err == nil && !fi.IsDir() {
			return cand, nil
		}
	}
	if p, err := exec.LookPath("buildkitd"); err == nil {
		return p, nil
	}
	return "", errors.New("buildkitd not found next to envbuild or on PATH; `make install` puts one beside envbuild")
}

func startLocal(bin string) error {
	for _, d := range []string{filepath.Dir(LocalSocket), LocalStateDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", d, err)
		}
	}
	logf, err := os.OpenFile(localLogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening %s: %w", localLogFile, err)
	}
	defer logf.Close()
	_ = os.Remove(LocalSocket)
	cmd := exec.Command(bin, "--addr", "unix://"+LocalSocket, "--root", LocalStateDir, "--oci-worker=true", "--containerd-worker=false")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", bin, err)
	}
	if err := os.WriteFile(localPidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", localPidFile, err)
	}
	return cmd.Process.Release()
}

// StopLocal stops the local daemon envbuild started, if any; it reports
// whether one was running.
func StopLocal() (bool, error) {
	b, err := os.ReadFile(localPidFile)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", localPidFile, err)
	}
	p, _ := os.FindProcess(pid)
	if err := p.Signal(syscall.SIGTERM); err != nil {
		_ = os.Remove(localPidFile)
		return false, nil
	}
	for i := 0; i < 100; i++ {
		if p.Signal(syscall.Signal(0)) != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = os.Remove(localPidFile)
	return true, nil
}
