package testbed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
)

// buildkitdConfig marks the bed's registries as plain HTTP. BuildKit already
// treats loopback hosts as plain HTTP; saying so keeps that explicit.
func buildkitdConfig(registries ...string) string {
	var b strings.Builder
	// network.host: Bed.RunOpts runs a command on the host's network (a
	// Metaflow task reaching a datastore on 127.0.0.1).
	b.WriteString("insecure-entitlements = [\"network.host\"]\n\n[worker.oci]\n  enabled = true\n\n[worker.containerd]\n  enabled = false\n")
	for _, r := range registries {
		fmt.Fprintf(&b, "\n[registry.%q]\n  http = true\n  insecure = true\n", r)
	}
	return b.String()
}

// startBuildkitd starts bin under dir with the given config and waits until
// it lists its workers. It returns the daemon's unix:// address. extra are
// further flags (another --addr, TLS files).
func startBuildkitd(ctx context.Context, bin, dir, configPath string, detach bool, extra ...string) (string, *process, error) {
	if _, err := exec.LookPath("runc"); err != nil {
		if _, err2 := os.Stat("/usr/sbin/runc"); err2 != nil {
			return "", nil, fmt.Errorf("finding runc for buildkitd: %w; run scripts/setup.sh (apt-get install runc)", err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "root"), 0o700); err != nil {
		return "", nil, fmt.Errorf("creating buildkitd state %q: %w", dir, err)
	}
	sock := filepath.Join(dir, "buildkitd.sock")
	addr := "unix://" + sock
	argv := []string{bin,
		"--config", configPath,
		"--addr", addr,
		"--root", filepath.Join(dir, "root"),
		"--oci-worker=true",
		"--containerd-worker=false",
	}
	argv = append(argv, extra...)
	p, err := startProcess("buildkitd", filepath.Join(dir, "buildkitd.log"), argv, detach)
	if err != nil {
		return "", nil, err
	}
	if err := waitBuildkitd(ctx, p, addr, 60*time.Second); err != nil {
		_ = p.stop(10 * time.Second)
		return "", nil, err
	}
	return addr, p, nil
}

// waitBuildkitd polls ListWorkers until the daemon reports a worker.
func waitBuildkitd(ctx context.Context, p *process, addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := "no answer yet"
	for {
		if err := pingBuildkitd(ctx, addr); err == nil {
			return nil
		} else {
			last = err.Error()
		}
		if p != nil && p.exited() {
			return fmt.Errorf("buildkitd exited before answering on %q (%s); see %s", addr, last, p.Log)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("buildkitd did not answer on %q within %s (%s)", addr, timeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func pingBuildkitd(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := client.New(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	ws, err := c.ListWorkers(ctx)
	if err != nil {
		return err
	}
	if len(ws) == 0 {
		return fmt.Errorf("buildkitd on %q has no worker", addr)
	}
	return nil
}
