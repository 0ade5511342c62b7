package app

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/envbuild/envbuild/builder/build"
	"github.com/envbuild/envbuild/frontends/config"
	"github.com/envbuild/envbuild/lock"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/target"
)

func lockCommand() *cli.Command {
	return &cli.Command{
		Name:      "lock",
		Usage:     "resolve an environment for its target and write envbuild.lock",
		ArgsUsage: " ",
		Flags: append(specFlags(),
			&cli.StringFlag{Name: "base", Usage: "read the target from this base image (default: configuration; without one, --python/--platform/--glibc)"},
			&cli.StringFlag{Name: "registry-prefix", Usage: "registry prefixed to a base image name without one"},
			&cli.StringSliceFlag{Name: "insecure-registry", Usage: "a registry HOST[:PORT] spoken to over plain HTTP"},
			&cli.StringFlag{Name: "glibc", Usage: "target glibc X.Y when no base image is used (default 2.28)"},
			&cli.BoolFlag{Name: "check", Usage: "exit 3 when the lock is out of date with the spec; write nothing (the same as --locked)"},
			&cli.BoolFlag{Name: "json", Usage: "print the lock as JSON"},
			&cli.StringFlag{Name: "export-platform", Usage: "with --export: only this `PLATFORM` of the lock (a conda explicit file is for one platform)"},
			&cli.StringFlag{Name: "export", Usage: "print the lock as `FORMAT`: requirements (pip, --require-hashes ready), pylock (PEP 751 pylock.toml) or conda-explicit (conda create --file)"},
		),
		Action: func(c *cli.Context) error {
			s, lockPath, err := loadSpec(c)
			if err != nil {
				return err
			}
			if err := checkExportFlag(c); err != nil {
				return err
			}
			existing, err := lockfile.Read(lockPath)
			if err != nil {
				return err
			}
			if c.Bool("check") || c.Bool("locked") {
				// --locked is --check under uv's and cargo's name: the
				// lock must already be what locking would write.
				if why := lock.StaleReason(existing, lockPath, s, false); why != "" {
					return failure.Stale(fmt.Errorf("%s; run `envbuild lock`", why))
				}
				fmt.Fprintf(c.App.ErrWriter, "%s is up to date\n", lockPath)
				return printExport(c, existing.Env(s.Name), s)
			}
			env := config.EnvMap(os.Environ())
			conf, err := resolveConfig(c, env, s.Base, "")
			if err != nil {
				return err
			}
			cd := cacheDir(c)
			var targets []target.Target
			if conf.Image.Value != "" {
				img := config.WithRegistry(conf.Image.Value, conf.Registry.Value)
				if _, targets, err = build.Targets(c.Context, registryClient(c, conf), img, s.PlatformsOrDefault(), cd); err != nil {
					return err
				}
			} else {
				for _, p := range s.PlatformsOrDefault() {
					var t target.Target
					if s.Python == "" && lock.CondaPythonPin(s) != "" {
						t, err = target.ForCondaPython(p, c.String("glibc"))
					} else {
						t, err = target.FromFlags(s.Python, p, c.String("glibc"))
					}
					if err != nil {
						return failure.Usage(err)
					}
					targets = append(targets, t)
				}
			}
			req, err := lockRequest(c, cd, c.App.ErrWriter)
			if err != nil {
				return err
			}
			req.Spec = s
			req.Targets = targets
			ens, err := lock.Ensure(c.Context, lockPath, lock.Relock, req, nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.ErrWriter, "wrote %s (%d environment(s))\n", lockPath, len(ens.File.Envs))
			if c.String("export") != "" {
				return printExport(c, ens.Env, s)
			}
			if c.Bool("json") {
				ens.File.Sort()
				return printJSON(c.App.Writer, ens.File)
			}
			return nil
		},
	}
}
