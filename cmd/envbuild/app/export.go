package app

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/lock/export"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
)

// checkExportFlag refuses a bad --export before anything is locked.
func checkExportFlag(c *cli.Context) error {
	f := c.String("export")
	if f == "" {
		return nil
	}
	if c.Bool("json") {
		return failure.Usage(fmt.Errorf("--export and --json both choose what is printed: give one"))
	}
	for _, ok := range export.Formats {
		if f == ok {
			return nil
		}
	}
	return failure.Usage(fmt.Errorf("--export %q: want one of %s", f, strings.Join(export.Formats, ", ")))
}

// printExport writes --export's rendering of e's targets for s's
// platforms to stdout, and nothing when --export is not given.
func printExport(c *cli.Context, e *lockfile.Env, s spec.Spec) error {
	f := c.String("export")
	if f == "" || e == nil {
		return nil
	}
	var targets []lockfile.Target
	for _, p := range s.PlatformsOrDefault() {
		if t := e.Target(p); t != nil {
			targets = append(targets, *t)
		}
	}
	out, err := export.Write(f, e, targets)
	if err != nil {
		return err
	}
	_, err = c.App.Writer.Write(out)
	return err
}
