package app

import (
	"testing"

	"github.com/urfave/cli/v2"
)

// build and flow build take the same image, index, lock and settings
// flags, from the same groups; lock takes the same index, lock and
// settings flags.
func TestSharedFlagGroups(t *testing.T) {
	a := newApp(nil, nil)
	commands := map[string]*cli.Command{}
	for _, c := range a.Commands {
		commands[c.Name] = c
		for _, sub := range c.Subcommands {
			commands[c.Name+" "+sub.Name] = sub
		}
	}
	has := func(c *cli.Command, name string) bool {
		for _, f := range c.Flags {
			for _, n := range f.Names() {
				if n == name {
					return true
				}
			}
		}
		return false
	}
	groups := map[string][]cli.Flag{}
	groups["index"] = indexFlags()
	groups["lock"] = lockFlags()
	groups["settings"] = settingsFlags()
	groups["registry"] = registryFlags()
	groups["layer"] = layerFlags()
	for cmd, names := range map[string][]string{
		"build":      {"index", "lock", "settings", "registry", "layer"},
		"flow build": {"index", "lock", "settings", "registry", "layer"},
		"lock":       {"index", "lock", "settings"},
	} {
		c := commands[cmd]
		if c == nil {
			t.Fatalf("no command %q", cmd)
		}
		for _, g := range names {
			for _, f := range groups[g] {
				if !has(c, f.Names()[0]) {
					t.Errorf("%s lacks --%s of the %s flags", cmd, f.Names()[0], g)
				}
			}
		}
	}
}
