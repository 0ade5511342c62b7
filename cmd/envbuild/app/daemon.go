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
				Usage: "stop the local daemon envbuild started",
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
					return nil
				},
			},
		},
	}
}
