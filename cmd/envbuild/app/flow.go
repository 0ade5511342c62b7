package app

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/envbuild/envbuild/builder/build"
	"github.com/envbuild/envbuild/flows"
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
			Flags: concatFlags([]cli.Flag{
				&cli.StringSliceFlag{Name: "with", Usage: "a decorator for every step, as Metaflow's --with: kubernetes, batch, kubernetes:cpu=4,image=IMAGE (the variant and image of steps without @kubernetes/@batch; other decorators change no image)"},
				&cli.StringSliceFlag{Name: "platform", Usage: "linux/amd64 or linux/arm64 (repeatable, or comma-separated)"},
				&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: 2, Usage: "environments built at once"},
				&cli.StringFlag{Name: "metaflow-deps", Usage: "add what Metaflow's task bootstrap needs for this datastore (local, s3, azure, gs: requests, boto3, …) to every environment, as Metaflow does; changes the env ids"},
				&cli.BoolFlag{Name: "allow-mixed", Usage: "accept @pypi and @conda on one step (metaflow-netflixext's mixed mode)"},
				&cli.StringFlag{Name: "python", Usage: "the Python that loads the flow with Metaflow (default python3; without metaflow, the flow is read statically)"},
				&cli.StringFlag{Name: "lock", Usage: "the lock file (default FLOW.envbuild.lock beside the flow)"},
			}, registryFlags(), layerFlags(), indexFlags(), settingsFlags(), lockFlags(),
				[]cli.Flag{frozenFlag(), &cli.BoolFlag{Name: "json", Usage: "print {\"steps\": {...}} as JSON"}},
				buildkitFlags(), layerCacheFlags(), dockerFlags()),
			Action: func(c *cli.Context) error {
				args, help, err := flagsAfterArgs(c)
				if err != nil || help {
					return err
				}
				if len(args) != 1 {
					return failure.Usage(fmt.Errorf("envbuild flow build takes one flow file, got %d arguments", len(args)))
				}
				if _, err := flows.ComputeWith(c.StringSlice("with")); err != nil {
					return failure.Usage(err)
				}
				env := config.EnvMap(os.Environ())
				if err := validateBuildFlags(c, env); err != nil {
					return err
				}
				stderr := c.App.ErrWriter
				policy, err := lockPolicy(c)
				if err != nil {
					return err
				}
				conf, err := config.Resolve(config.Sources{Flags: config.Values{Repository: c.String("registry")}, Env: env, ConfigPath: c.String("config")}, "")
				if err != nil {
					return err
				}
				if err := validateConfigValues(conf); err != nil {
					return err
				}
				bo, err := buildOptions(c, env, conf, policy)
				if err != nil {
					return err
				}
				bo.LockPath = c.String("lock")
				fo := flows.Options{
					FlowPath:          args[0],
					Load:              metaflow.Options{Python: c.String("python"), AllowMixed: c.Bool("allow-mixed")},
					With:              c.StringSlice("with"),
					Sources:           config.Sources{Flags: config.Values{Registry: c.String("registry-prefix"), Repository: c.String("registry")}, Env: env, ConfigPath: c.String("config")},
					Jobs:              c.Int("jobs"),
					MetaflowDatastore: c.String("metaflow-deps"),
					Table:             stderr,
					Build:             bo,
				}
				fo.Build.Spec.Platforms = platformFlag(c)
				fo.Build.Spec.Options.NoBytecode = c.Bool("no-bytecode")
				fo.Build.Spec.Conda.Channels = c.StringSlice("channel")
				fo.Build.Spec.PyPI.IndexURL = c.String("index-url")
				fo.Build.Spec.PyPI.ExtraIndexURLs = c.StringSlice("extra-index-url")
				res, err := flows.Build(c.Context, fo)
				if err != nil {
					return err
				}
				if c.Bool("load") {
					var built []*build.Result
					for _, st := range res.Steps {
						if !st.Disabled && st.Result != nil {
							built = append(built, st.Result)
						}
					}
					if err := loadIntoDocker(c.Context, fo.Build.Registry, built, fo.Build.Log); err != nil {
						return err
					}
				}
				if c.Bool("json") {
					return printJSON(c.App.Writer, res)
				}
				return nil
			},
		}},
	}
}

// flagsAfterArgs returns the command's arguments, setting on c the flags
// written after the first of them: `envbuild flow build FLOW.py --json`, as
// the README writes it (urfave/cli stops reading flags at the first
// argument). "--" ends the flags. help reports that --help came after an
// argument and the command's help was shown.
func flagsAfterArgs(c *cli.Context) (args []string, help bool, err error) {
	in := c.Args().Slice()
	for i := 0; i < len(in); i++ {
		a := in[i]
		if a == "--" {
			args = append(args, in[i+1:]...)
			break
		}
		if a == "-" || !strings.HasPrefix(a, "-") {
			args = append(args, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if cli.HelpFlag != nil && slices.Contains(cli.HelpFlag.Names(), name) {
			return nil, true, cli.ShowSubcommandHelp(c)
		}
		var flag cli.Flag
		for _, f := range c.Command.Flags {
			for _, n := range f.Names() {
				if n == name {
					flag = f
				}
			}
		}
		if flag == nil {
			return nil, false, failure.Usage(fmt.Errorf("flag %q after %q is not a flag of envbuild flow build; see envbuild flow build --help", a, in[0]))
		}
		if _, isBool := flag.(*cli.BoolFlag); isBool && !hasVal {
			val, hasVal = "true", true
		}
		if !hasVal {
			if i+1 == len(in) {
				return nil, false, failure.Usage(fmt.Errorf("flag %q needs a value", a))
			}
			i++
			val = in[i]
		}
		if err := c.Set(name, val); err != nil {
			return nil, false, failure.Usage(fmt.Errorf("flag %q: %w", a, err))
		}
	}
	return args, false, nil
}
