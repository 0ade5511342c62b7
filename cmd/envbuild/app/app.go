// Package app is envbuild's command line: urfave/cli wiring and flag
// structs, each subcommand one call into the library. Errors become exit
// codes here and nowhere else.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/envbuild/envbuild/builder/installstep"
	"github.com/envbuild/envbuild/builder/step"
	"github.com/envbuild/envbuild/lock/failure"
)

// Version is set at build time (-ldflags "-X …app.Version=…").
var Version = "dev"

// Main runs envbuild with args and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	// The installer runs inside BuildKit as this same binary; it must not
	// pay for the CLI's set-up.
	if len(args) > 1 && args[1] == installstep.Command {
		return step.Main(args[2:], stdout, stderr)
	}
	// The shells' completion scripts ask what comes next (help.go).
	if len(args) > 1 && args[1] == "__complete" {
		complete(newApp(stdout, stderr), args[2:], stdout)
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := newApp(stdout, stderr)
	err := a.RunContext(ctx, args)
	if err == nil {
		return 0
	}
	var exitErr cli.ExitCoder
	if errors.As(err, &exitErr) && exitErr.ExitCode() == 0 {
		return 0
	}
	if strings.HasPrefix(err.Error(), "No help topic for") {
		// `envbuild help nosuch`: urfave/cli's exit code (3) means
		// "lock out of date" here.
		err = failure.Usage(fmt.Errorf("%s; the commands are build, lock, flow, daemon and completion", err))
	}
	// One line, except for explanations (a conflict's chain of reasons)
	// that are several lines on purpose.
	fmt.Fprintln(stderr, "envbuild: "+errorText(err))
	return int(failure.KindOf(err))
}

// maxErrorLine bounds each line of an error message: whatever a message
// quotes (an input, a daemon's answer), it stays readable.
const maxErrorLine = 1000

// errorText is err's message as printed: long URLs shortened to their
// host and file, and every line at most maxErrorLine characters.
func errorText(err error) string {
	lines := strings.Split(failure.ShortenURLs(strings.TrimSpace(err.Error())), "\n")
	for i, l := range lines {
		lines[i] = failure.Truncate(l, maxErrorLine)
	}
	return strings.Join(lines, "\n")
}

func newApp(stdout, stderr io.Writer) *cli.App {
	a := &cli.App{
		Name:                 "envbuild",
		Usage:                "build container images of Python environments on your own base image",
		Version:              Version,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		// A requirement or MatchSpec has commas of its own
		// ('requests>=2.31,<3'): every repeatable flag takes each value
		// whole, and the flags users write with commas by habit
		// (--platform) are split where they are read.
		DisableSliceFlagSeparator: true,
		ExitErrHandler:            func(*cli.Context, error) {},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return failure.Usage(fmt.Errorf("unknown command %q; the commands are build, lock, flow, daemon, prune and completion (see `envbuild --help`)", c.Args().First()))
			}
			return cli.ShowAppHelp(c)
		},
		OnUsageError: func(c *cli.Context, err error, isSubcommand bool) error {
			name := "envbuild"
			if c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name {
				name = "envbuild " + c.Command.FullName()
			}
			return failure.Usage(fmt.Errorf("%w (see `%s --help`)", err, name))
		},
		Commands: []*cli.Command{
			buildCommand(),
			lockCommand(),
			inspectCommand(),
			sbomCommand(),
			flowCommand(),
			daemonCommand(),
			completionCommand(),
			pruneCommand(),
		},
	}
	addHelpTails(a)
	// A usage error is exit 2 with one line on stderr, in every
	// subcommand; help goes to stdout only when asked for.
	var setUsage func([]*cli.Command)
	setUsage = func(cmds []*cli.Command) {
		for _, c := range cmds {
			c.OnUsageError = a.OnUsageError
			setUsage(c.Subcommands)
		}
	}
	setUsage(a.Commands)
	return a
}
