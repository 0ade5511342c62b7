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
	if c.String("export-platform") != "" && c.String("export") == "" {
		return failure.Usage(fmt.Errorf("--export-platform chooses the platform of --export: give --export too"))
	}
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
	// --export-platform picks one platform of the lock without changing
	// the spec (--platform would lock for that platform alone).
	if want := c.String("export-platform"); want != "" {
		var one []lockfile.Target
		var have []string
		for _, t := range targets {
			have = append(have, t.Platform)
			if t.Platform == want || (want == "linux/arm64/v8" && t.Platform == "linux/arm64") {
				one = append(one, t)
			}
		}
		if len(one) == 0 {
			return failure.Usage(fmt.Errorf("--export-platform %s: the lock of environment %q has %s", want, e.Name, strings.Join(have, ", ")))
		}
		targets = one
	}
	out, err := export.Write(f, e, targets)
	if err != nil {
		return err
	}
	_, err = c.App.Writer.Write(out)
	return err
}
