package app

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/envbuild/envbuild/builder/build"
	"github.com/envbuild/envbuild/frontends/config"
	"github.com/envbuild/envbuild/frontends/metaflow"
	"github.com/envbuild/envbuild/lock/failure"
)

func flowCommand() *cli.Command {
	return &cli.Command{
		Name:  "flow",
		Usage: "build one image per step of a Metaflow flow",
		Subcommands: []*cli.Command{{
			Name:      "build",
			Usage:     "build every distinct step environment of FLOW.py once, on its step's base image",
			ArgsUsage: "FLOW.py",
			Flags: []cli.Flag{
				&cli.StringSliceFlag{Name: "with", Usage: "kubernetes:image=IMAGE or batch:image=IMAGE, as Metaflow's --with"},
				&cli.StringFlag{Name: "registry-prefix", Usage: "registry prefixed to a base image name without one"},
				&cli.StringFlag{Name: "registry", Usage: "repository to push to"},
				&cli.StringSliceFlag{Name: "insecure-registry", Usage: "a registry HOST[:PORT] spoken to over plain HTTP"},
				&cli.StringSliceFlag{Name: "platform", Usage: "linux/amd64 or linux/arm64 (repeatable)"},
				&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: 2, Usage: "environments built at once"},
				&cli.StringFlag{Name: "metaflow-deps", Usage: "add what Metaflow's task bootstrap needs for this datastore (local, s3, azure, gs: requests, boto3, …) to every environment, as Metaflow does; changes the env ids"},
				&cli.BoolFlag{Name: "allow-mixed", Usage: "accept @pypi and @conda on one step (metaflow-netflixext's mixed mode)"},
				&cli.StringFlag{Name: "python", Usage: "the Python that loads the flow with Metaflow (default python3; without metaflow, the flow is read statically)"},
				&cli.StringFlag{Name: "lock", Usage: "the lock file (default FLOW.envbuild.lock beside the flow)"},
				&cli.StringFlag{Name: "buildkit-addr", Usage: "BuildKit address"},
				&cli.StringFlag{Name: "progress", Value: "auto", Usage: "auto, plain, tty or quiet"},
				&cli.StringFlag{Name: "config", Usage: "envbuild's config file"},
				&cli.StringFlag{Name: "cache-dir", Usage: "envbuild's cache"},
				&cli.StringFlag{Name: "exclude-newer", Usage: "ignore files uploaded after this date"},
				&cli.BoolFlag{Name: "offline", Usage: "use only the HTTP cache"},
				&cli.BoolFlag{Name: "upgrade", Usage: "ignore the versions of the existing lock"},
				&cli.StringSliceFlag{Name: "upgrade-package", Usage: "ignore the existing lock's version of NAME"},
				&cli.BoolFlag{Name: "json", Usage: "print {\"steps\": {...}} as JSON"},
			},
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return failure.Usage(fmt.Errorf("envbuild flow build takes one flow file, got %d arguments", c.NArg()))
				}
				var withImage string
				for _, w := range c.StringSlice("with") {
					kind, rest, _ := strings.Cut(w, ":")
					img, ok := strings.CutPrefix(rest, "image=")
					if (kind != "kubernetes" && kind != "batch") || !ok || img == "" {
						return failure.Usage(fmt.Errorf("--with %q: want kubernetes:image=IMAGE or batch:image=IMAGE", w))
					}
					withImage = img
				}
				env := config.EnvMap(os.Environ())
				addr := c.String("buildkit-addr")
				if addr == "" {
					addr = env["BUILDKIT_HOST"]
				}
				cd := cacheDir(c)
				stderr := c.App.ErrWriter
				lreq, err := lockRequest(c, cd, stderr)
				if err != nil {
					return err
				}
				conf, err := config.Resolve(config.Sources{Env: env, ConfigPath: c.String("config")}, "")
				if err != nil {
					return err
				}
				fo := build.FlowOptions{
					FlowPath:          c.Args().First(),
					Load:              metaflow.Options{Python: c.String("python"), AllowMixed: c.Bool("allow-mixed")},
					WithImage:         withImage,
					Sources:           config.Sources{Flags: config.Values{Registry: c.String("registry-prefix"), Repository: c.String("registry")}, Env: env, ConfigPath: c.String("config")},
					Jobs:              c.Int("jobs"),
					MetaflowDatastore: c.String("metaflow-deps"),
					Table:             stderr,
					Build: build.Options{
						LockPath:     c.String("lock"),
						BuildkitAddr: addr,
						Progress:     c.String("progress"),
						ProgressOut:  stderr,
						Log:          func(l string) { fmt.Fprintln(stderr, l) },
						Registry:     registryClient(append(c.StringSlice("insecure-registry"), conf.File.InsecureRegistries...)),
						CacheDir:     cd,
						Lock:         lreq,
					},
				}
				fo.Build.Spec.Platforms = c.StringSlice("platform")
				res, err := build.BuildFlow(c.Context, fo)
				if err != nil {
					return err
				}
				if c.Bool("json") {
					return printJSON(c.App.Writer, res)
				}
				return nil
			},
		}},
	}
}
