package testbed

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var (
	shared     *Bed
	skipReason string
)

// Main is the TestMain of an integration test package:
//
//	func TestMain(m *testing.M) { testbed.Main(m) }
//
// It runs scripts/setup.sh (which installs what is missing), starts a bed,
// exports it in the environment (see (*Bed).Env: BUILDKIT_HOST,
// ENVBUILD_TEST_REGISTRY, ENVBUILD_TEST_BASE, ...), runs the tests, prints
// the daemons' logs if any test failed and stops the bed.
//
// With ENVBUILD_TESTBED_STATE set (after `testbed up` and sourcing its
// env.sh) it uses that running bed and leaves it running. With -short or
// ENVBUILD_SKIP_INTEGRATION set, or on a machine that cannot run a bed (not
// Linux, not root), the tests run without one and Require skips them,
// saying why; a machine that cannot run a bed is a failure under CI (CI set).
func Main(m *testing.M) {
	os.Exit(runMain(m))
}

// Require returns the bed Main started, or skips the test with the reason
// there is none.
func Require(tb testing.TB) *Bed {
	tb.Helper()
	if shared != nil {
		return shared
	}
	if skipReason != "" {
		tb.Skip("no test bed: " + skipReason)
	}
	tb.Skip("no test bed: the package's TestMain does not call testbed.Main")
	return nil
}

func runMain(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		skipReason = "-short skips tests that need BuildKit and registries"
		return m.Run()
	}
	if os.Getenv("ENVBUILD_SKIP_INTEGRATION") != "" {
		skipReason = "ENVBUILD_SKIP_INTEGRATION is set"
		return m.Run()
	}
	if reason := CannotRun(); reason != "" {
		if os.Getenv("CI") != "" {
			fmt.Fprintf(os.Stderr, "testbed: cannot start the test bed under CI: %s\n", reason)
			return 1
		}
		skipReason = reason
		fmt.Fprintf(os.Stderr, "testbed: skipping integration tests: %s\n", reason)
		return m.Run()
	}

	// A signal stops the daemons Main started; a bed that is still
	// starting is stopped by the kernel (Pdeathsig) when the process exits.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var started atomic.Pointer[Bed]
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		if _, ok := <-sigs; !ok {
			return
		}
		cancel()
		if b := started.Load(); b != nil {
			fmt.Fprintln(os.Stderr, "testbed: interrupted, stopping the test bed")
			_ = b.Stop()
		}
		os.Exit(130)
	}()

	if state := os.Getenv("ENVBUILD_TESTBED_STATE"); state != "" {
		bed, err := Attach(ctx, state)
		if err != nil {
			fmt.Fprintf(os.Stderr, "testbed: using the bed in ENVBUILD_TESTBED_STATE=%q: %v\n"+
				"testbed: start it with `go run ./integration/testbed/cmd/testbed up`, or unset ENVBUILD_TESTBED_STATE to let the tests start their own\n", state, err)
			return 1
		}
		shared = bed
		setEnv(bed)
		code := m.Run()
		if code != 0 {
			bed.DumpLogs(os.Stderr)
		}
		return code
	}

	if err := Setup(ctx, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "testbed: %v\n", err)
		return 1
	}
	bed, err := Start(ctx, Options{Log: os.Stderr})
	if err != nil {
		fmt.Fprintf(os.Stderr, "testbed: %v\n", err)
		return 1
	}
	started.Store(bed)
	shared = bed
	setEnv(bed)
	code := m.Run()
	if code != 0 {
		bed.DumpLogs(os.Stderr)
	}
	if err := bed.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "testbed: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

func setEnv(b *Bed) {
	for _, kv := range b.Env() {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
}

// Setup runs the module's scripts/setup.sh, which installs missing Debian
// packages and (re)builds bin/buildkitd, with its output to w; it does
// nothing when all is in place.
func Setup(ctx context.Context, w io.Writer) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	script := filepath.Join(root, "scripts", "setup.sh")
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Dir = root
	cmd.Env = daemonEnv()
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("running %s: %w", script, err)
	}
	return nil
}
