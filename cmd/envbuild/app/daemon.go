package app

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/envbuild/envbuild/builder/engine"
)

func daemonCommand() *cli.Command {
	return &cli.Command{
		Name:  "daemon",
		Usage: "manage envbuild's local BuildKit daemon",
		Subcommands: []*cli.Command{
			{
				Name:  "start",
				Usage: "start the local daemon (or check that one answers)",
				Action: func(c *cli.Context) error {
					e, err := engine.Connect(c.Context, engine.ConnectOptions{Log: func(l string) { fmt.Fprintln(c.App.ErrWriter, l) }})
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
