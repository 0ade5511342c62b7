package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/envbuild/envbuild/integration/testbed"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: testbed up|env|logs|down|run [-state DIR] [-cache DIR] [IMAGE -- COMMAND...]

  up     start buildkitd, two registries, the base images and (-docker, default) dockerd
         with a BuildKit image; print and write STATE/env.sh
  env    print the export lines of the running bed
  logs   print the end of every daemon's log
  down   stop the bed and remove STATE
  run    run COMMAND in IMAGE through the bed's buildkitd (IMAGE -- COMMAND [ARGS...])

STATE defaults to $ENVBUILD_TESTBED_STATE, else /tmp/envbuild-testbed.
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	verb := args[0]
	fs := flag.NewFlagSet("testbed "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	state := fs.String("state", defaultState(), "state directory of the bed")
	cache := fs.String("cache", testbed.DefaultCacheDir(), "cache of the base images' layers")
	withDocker := fs.Bool("docker", true, "up: also start dockerd and make the BuildKit image in it (skipped, saying why, where dockerd cannot run)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	var err error
	switch verb {
	case "up":
		err = up(ctx, *state, *cache, *withDocker, stdout, stderr)
	case "env":
		var b *testbed.Bed
		if b, err = testbed.Attach(ctx, *state); err == nil {
			fmt.Fprint(stdout, b.ExportLines())
		}
	case "logs":
		var b *testbed.Bed
		b, err = testbed.Attach(ctx, *state)
		if b != nil {
			b.DumpLogs(stdout)
		}
	case "down":
		err = down(ctx, *state, stderr)
	case "run":
		// testbed run IMAGE -- ARGV...: run a command in a pushed image
		// through the bed's buildkitd (no Docker needed), for the demo.
		rest := fs.Args()
		if len(rest) < 3 || rest[1] != "--" {
			fmt.Fprintf(stderr, "testbed run: want IMAGE -- COMMAND [ARGS...]\n")
			return 2
		}
		var b *testbed.Bed
		if b, err = testbed.Attach(ctx, *state); err == nil {
			var out, errOut []byte
			var code int
			out, errOut, code, err = b.Run(ctx, rest[0], "", rest[2:], nil)
			stdout.Write(out)
			stderr.Write(errOut)
			if err == nil && code != 0 {
				return code
			}
		}
	default:
		fmt.Fprintf(stderr, "testbed: unknown command %q\n%s", verb, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "testbed %s: %v\n", verb, err)
		return 1
	}
	return 0
}

func defaultState() string {
	if s := os.Getenv("ENVBUILD_TESTBED_STATE"); s != "" {
		return s
	}
	return filepath.Join(os.TempDir(), "envbuild-testbed")
}

func up(ctx context.Context, state, cache string, withDocker bool, stdout, stderr io.Writer) error {
	if b, err := testbed.Attach(ctx, state); err == nil {
		fmt.Fprintf(stderr, "testbed: already up in %s\n", state)
		fmt.Fprint(stdout, b.ExportLines())
		return nil
	} else if b != nil {
		fmt.Fprintf(stderr, "testbed: stopping the stale bed in %s: %v\n", state, err)
		if err := b.Stop(); err != nil {
			return err
		}
	}
	if err := testbed.Setup(ctx, stderr); err != nil {
		return err
	}
	b, err := testbed.Start(ctx, testbed.Options{StateDir: state, CacheDir: cache, Detach: true, Log: stderr})
	if err != nil {
		return err
	}
	if withDocker {
		if reason := testbed.CannotRunDocker(); reason != "" {
			fmt.Fprintf(stderr, "testbed: no Docker daemon: %s\n", reason)
		} else if _, err := b.StartDocker(ctx); err != nil {
			_ = b.Stop()
			return err
		}
	}
	fmt.Fprint(stdout, b.ExportLines())
	fmt.Fprintf(stderr, "testbed: up; `. %s` to use it, `testbed down` to stop it\n", filepath.Join(b.StateDir, "env.sh"))
	return nil
}

func down(ctx context.Context, state string, stderr io.Writer) error {
	b, err := testbed.Attach(ctx, state)
	if b == nil {
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stderr, "testbed: no bed in %s\n", state)
			return nil
		}
		return err
	}
	return b.Stop()
}
