package app

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/envbuild/envbuild/builder/engine"
	"github.com/envbuild/envbuild/frontends/config"
)

func daemonCommand() *cli.Command {
	return &cli.Command{
		Name:  "daemon",
		Usage: "manage envbuild's local BuildKit daemon",
		Subcommands: []*cli.Command{
			{
				Name:  "start",
				Usage: "start the local daemon, or where envbuild cannot, its BuildKit container on Docker (or check that one answers)",
				Flags: append([]cli.Flag{&cli.StringFlag{Name: "config", Usage: "envbuild's config file"}}, dockerFlags()[:2]...),
				Action: func(c *cli.Context) error {
					env := config.EnvMap(os.Environ())
					conf, err := config.Resolve(config.Sources{Env: env, ConfigPath: c.String("config")}, "")
					if err != nil {
						return err
					}
					opts := engine.ConnectOptions{Log: func(l string) { fmt.Fprintln(c.App.ErrWriter, l) }}
					dockerConnect(c, env, conf, &opts)
					e, err := engine.Connect(c.Context, opts)
					if err != nil {
						return err
					}
					defer e.Close()
					fmt.Fprintln(c.App.Writer, e.Addr)
					return nil
				},
			},
			{
				Name:  "stop",
				Usage: "stop the local daemon envbuild started, and its BuildKit container on Docker",
				Action: func(c *cli.Context) error {
					stopped, err := engine.StopLocal()
					if err != nil {
						return err
					}
					if stopped {
						fmt.Fprintln(c.App.ErrWriter, "stopped the local BuildKit daemon")
					} else {
						fmt.Fprintln(c.App.ErrWriter, "no local BuildKit daemon was running")
					}
					// The BuildKit container envbuild starts on Docker; its
					// state volume (the build cache) is kept.
					removed, err := engine.StopDocker(c.Context)
					if err != nil {
						return err
					}
					if removed {
						fmt.Fprintf(c.App.ErrWriter, "stopped and removed the BuildKit container %s (its cache stays in the volume %s)\n", engine.BuildkitContainer, engine.BuildkitVolume)
					}
					return nil
				},
			},
		},
	}
}
