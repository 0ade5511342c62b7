package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/envbuild/envbuild/integration/testbed"
)

// BuildKit killed or frozen in the middle of a build: envbuild exits 4
// naming BuildKit, pushes no env-* tag and records no layer, and a rerun on
// a working BuildKit succeeds. Concurrent builds of one environment, on one
// BuildKit and on two, all succeed with one digest.
func TestBuildkitFaultsAndConcurrency(t *testing.T) {
	bed := testbed.Require(t)
	ns := uniqueName(t)
	report := newReportTo(t, "ENVBUILD_RELIABILITY_BUILDKIT_OUT")
	// numpy: big enough that the build is still running when the fault
	// comes.
	pkgs := []string{"--pypi", "numpy==1.26.4", "--pypi", "six==1.16.0", "--base", bed.Base}
	for _, c := range []struct {
		name, tried string
		sig         syscall.Signal
	}{
		{"BuildKit killed mid-build", "buildkitd gets SIGKILL once the build's first step started", syscall.SIGKILL},
		{"BuildKit frozen mid-build", "buildkitd gets SIGSTOP once the build's first step started; ENVBUILD_BUILDKIT_TIMEOUT=20", syscall.SIGSTOP},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr, err := bed.StartExtraBuildkitd(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			pid := bed.BuildkitdPID(addr)
			if pid == 0 {
				t.Fatalf("no PID for %s", addr)
			}
			repo := bed.Registry + "/" + ns + "/" + strings.Fields(c.name)[1]
			dir := t.TempDir()
			args := append([]string{"build", "--json", "--progress", "plain", "--registry", repo, "--buildkit-addr", addr}, pkgs...)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, envbuildBin, args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cacheHome(t), "XDG_CONFIG_HOME="+filepath.Join(dir, ".config"), "ENVBUILD_BUILDKIT_TIMEOUT=20")
			var out bytes.Buffer
			stderr := &watched{want: "#1 ", seen: make(chan struct{})}
			cmd.Stdout, cmd.Stderr = &out, stderr
			start := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-stderr.seen:
			case <-time.After(2 * time.Minute):
				t.Fatal("the build never reached BuildKit")
			}
			if err := syscall.Kill(pid, c.sig); err != nil {
				t.Fatal(err)
			}
			if c.sig == syscall.SIGSTOP {
				defer syscall.Kill(pid, syscall.SIGKILL)
			}
			err = cmd.Wait()
			took := time.Since(start)
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if ctx.Err() != nil {
				t.Fatalf("envbuild hung for 5 minutes after %s", c.tried)
			}
			row := reportRow{name: c.name, tried: c.tried, code: code, message: strings.TrimPrefix(lastLine(stderr.String()), "envbuild: "), took: took}
			row.message = strings.ReplaceAll(row.message, addr, "ADDR")
			if len(row.message) > 220 {
				row.message = row.message[:220] + "…"
			}
			if code != 4 || !strings.Contains(stderr.String(), "BuildKit") {
				t.Errorf("exit %d, want 4 naming BuildKit:\n%s", code, tail(stderr.String(), 10))
			}
			tags := listTags(t, repo)
			row.kept = "no env-* tag, no layer-* record"
			if countPrefix(tags, "env-") != 0 || countPrefix(tags, "layer-") != 0 {
				t.Errorf("a failed build left tags %v", tags)
				row.kept = fmt.Sprintf("TAGS LEFT: %v", tags)
			}
			again := envbuild(t, dir, nil, append([]string{"build", "--json", "--registry", repo}, pkgs...)...)
			row.rerun = fmt.Sprintf("exit %d", again.code)
			if again.code != 0 {
				t.Errorf("the rerun on the test bed's BuildKit failed: exit %d\n%s", again.code, tail(again.stderr, 20))
			}
			report.add(row)
		})
	}

	t.Run("concurrent builds of one environment", func(t *testing.T) {
		other, err := bed.StartExtraBuildkitd(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		repo := bed.Registry + "/" + ns + "/concurrent"
		addrs := []string{bed.BuildkitAddr, bed.BuildkitAddr, other, other}
		results := make([]result, len(addrs))
		codes := make([]int, len(addrs))
		var wg sync.WaitGroup
		start := time.Now()
		for i, a := range addrs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := envbuild(t, t.TempDir(), nil, append([]string{"build", "--json", "--progress", "quiet", "--registry", repo, "--buildkit-addr", a, "--pypi", "idna==3.7"}, pkgs[4:]...)...)
				codes[i] = r.code
				if r.code == 0 {
					_ = jsonUnmarshal(r.stdout, &results[i])
				}
			}()
		}
		wg.Wait()
		digests := map[string]bool{}
		for i := range addrs {
			if codes[i] != 0 {
				t.Errorf("build %d of %d exited %d", i+1, len(addrs), codes[i])
			}
			digests[results[i].Digest] = true
		}
		row := reportRow{name: "concurrent builds of one environment", tried: "4 builds of the same environment at once, two on each of two BuildKits, one repository and layer cache", took: time.Since(start), kept: fmt.Sprintf("%d digest(s)", len(digests)), rerun: "—"}
		if len(digests) != 1 {
			t.Errorf("concurrent builds gave %d digests: %v", len(digests), digests)
		}
		report.add(row)
	})
}

// watched is stderr that signals once a line containing want is written.
type watched struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *watched) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return n, err
}

func (w *watched) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
