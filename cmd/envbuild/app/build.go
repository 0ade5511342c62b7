package app

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/envbuild/envbuild/builder/build"
	"github.com/envbuild/envbuild/frontends/config"
	"github.com/envbuild/envbuild/lock"
)

func buildCommand() *cli.Command {
	return &cli.Command{
		Name:      "build",
		Usage:     "lock (when needed), build and push an environment image",
		ArgsUsage: " ",
		Flags: concatFlags(specFlags(), buildkitFlags(),
			[]cli.Flag{&cli.StringFlag{Name: "base", Usage: "the base image (default: ENVBUILD_DEFAULT_CONTAINER_IMAGE, the config file, Metaflow's settings; see docs/configuration.md)"}},
			registryFlags(),
			[]cli.Flag{&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "OCI layout directory, when no repository is configured"}},
			layerFlags(),
			[]cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print the result as JSON"}, frozenFlag()},
			layerCacheFlags(), dockerFlags()),
		Action: func(c *cli.Context) error {
			env := config.EnvMap(os.Environ())
			if err := validateBuildFlags(c, env); err != nil {
				return err
			}
			s, lockPath, err := loadSpec(c)
			if err != nil {
				return err
			}
			policy, err := lockPolicy(c)
			if err != nil {
				return err
			}
			if err := lock.CheckPolicy(lockPath, s, policy); err != nil {
				return err
			}
			if c.Bool("no-bytecode") {
				s.Options.NoBytecode = true
			}
			conf, err := resolveConfig(c, env, s.Base, s.Repository)
			if err != nil {
				return err
			}
			if err := validateConfigValues(conf); err != nil {
				return err
			}
			if s.Base, err = conf.BaseImage("", s.Python); err != nil {
				return err
			}
			s.Repository = conf.Repository.Value
			bo, err := buildOptions(c, env, conf, policy)
			if err != nil {
				return err
			}
			bo.Spec, bo.LockPath, bo.OCIDir = s, lockPath, c.String("output")
			stderr := c.App.ErrWriter
			res, err := build.Build(c.Context, bo)
			if err != nil {
				return err
			}
			build.AttachIfAbsent(c.Context, bo, res)
			if c.Bool("load") {
				if err := loadIntoDocker(c.Context, registryClient(c, conf), []*build.Result{res}, func(l string) { fmt.Fprintln(stderr, l) }); err != nil {
					return err
				}
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, res)
			}
			if res.Image != "" {
				fmt.Fprintln(c.App.Writer, res.Image)
			} else {
				fmt.Fprintln(c.App.Writer, res.OCILayout)
			}
			return nil
		},
	}
}
