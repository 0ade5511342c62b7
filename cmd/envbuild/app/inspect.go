package app

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/envbuild/envbuild/builder/build"
	"github.com/envbuild/envbuild/builder/plan"
	"github.com/envbuild/envbuild/builder/registry"
	"github.com/envbuild/envbuild/frontends/config"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/sbom"
)

func registryReadFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "insecure-registry", Usage: "a registry HOST[:PORT] spoken to over plain HTTP (loopback ones always are)"},
		&cli.StringFlag{Name: "config", Usage: "envbuild's config file (default: $XDG_CONFIG_HOME/envbuild/config.toml)"},
	}
}

// imageLock reads the lock attached to IMAGE (the command's argument):
// the registry client, the repository, the image's digest and the lock.
func imageLock(c *cli.Context) (*registry.Client, string, string, *lockfile.File, error) {
	if c.NArg() != 1 {
		return nil, "", "", nil, failure.Usage(fmt.Errorf("give one image: envbuild %s REGISTRY/REPOSITORY:TAG or …@sha256:…", c.Command.Name))
	}
	ref := c.Args().First()
	conf, err := resolveConfig(c, config.EnvMap(os.Environ()), "", "")
	if err != nil {
		return nil, "", "", nil, err
	}
	rc := registryClient(c, conf)
	subject, repo, err := rc.SubjectOf(c.Context, ref)
	if err != nil {
		return nil, "", "", nil, err
	}
	arts, err := rc.Referrers(c.Context, repo, subject.Digest, build.LockArtifactType)
	if err != nil {
		return nil, "", "", nil, err
	}
	if len(arts) == 0 {
		return rc, repo, subject.Digest, nil, failure.User(fmt.Errorf("%s (%s) has no envbuild lock attached: it was not built by envbuild, or by one older than `inspect`, or attaching failed (the build said so)", ref, subject.Digest))
	}
	f, err := lockfile.Parse(ref+" (attached lock)", arts[len(arts)-1].Data)
	if err != nil {
		return nil, "", "", nil, err
	}
	if len(f.Envs) != 1 {
		return nil, "", "", nil, failure.User(fmt.Errorf("the lock attached to %s has %d environments, want 1", ref, len(f.Envs)))
	}
	return rc, repo, subject.Digest, f, nil
}

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show the environment of an image envbuild built: its lock, Python source and packages (no layer is pulled)",
		ArgsUsage: "IMAGE",
		Flags: append(registryReadFlags(),
			&cli.BoolFlag{Name: "json", Usage: "print {image, digest, env} with env as in `envbuild lock --json`"},
			&cli.BoolFlag{Name: "lock", Usage: "print the attached lock as it is (an envbuild.lock)"},
		),
		Action: func(c *cli.Context) error {
			_, repo, digest, f, err := imageLock(c)
			if err != nil {
				return err
			}
			e := f.Envs[0]
			switch {
			case c.Bool("lock"):
				_, err := c.App.Writer.Write(f.Marshal())
				return err
			case c.Bool("json"):
				return printJSON(c.App.Writer, map[string]any{"image": repo + "@" + digest, "digest": digest, "env": e})
			}
			w := c.App.Writer
			fmt.Fprintf(w, "image:       %s@%s\nenvironment: %s\nspec digest: %s\n", repo, digest, e.Name, e.SpecDigest)
			for _, t := range e.Targets {
				src := string(t.PythonSource)
				if t.OnBase() {
					src = string(lockfile.PythonFromBase)
				}
				if t.OnBase() && t.Interpreter != "" {
					src += " (" + t.Interpreter + ")"
				}
				fmt.Fprintf(w, "\n%s: Python %s %s, %s, from %s\n", t.Platform, t.Python, t.Implementation, t.LibcString(), src)
				if t.Base != "" {
					fmt.Fprintf(w, "base: %s\n", t.Base)
				}
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "PACKAGE\tVERSION\tSOURCE\tFILE")
				for _, p := range t.Packages {
					mark := ""
					if p.Requested {
						mark = " *"
					}
					fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\n", p.Name, mark, p.Version, p.Source, p.Filename)
				}
				tw.Flush()
			}
			fmt.Fprintln(w, "\n* asked for by the spec")
			return nil
		},
	}
}

func sbomCommand() *cli.Command {
	return &cli.Command{
		Name:      "sbom",
		Usage:     "print the SPDX 2.3 JSON SBOM of an image envbuild built (its environment; not the base's OS packages)",
		ArgsUsage: "IMAGE",
		Flags:     registryReadFlags(),
		Action: func(c *cli.Context) error {
			rc, repo, digest, f, err := imageLock(c)
			if err != nil && f == nil && rc == nil {
				return err
			}
			arts, aerr := rc.Referrers(c.Context, repo, digest, sbom.ArtifactType)
			if aerr != nil {
				return aerr
			}
			if len(arts) > 0 {
				_, err := c.App.Writer.Write(arts[len(arts)-1].Data)
				return err
			}
			if f == nil {
				return err
			}
			// No SBOM attached: made from the attached lock, the same bytes
			// the build would have attached.
			doc, err := sbom.SPDX(&f.Envs[0], repo, digest, plan.Created)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.App.ErrWriter, "no SBOM attached to "+strings.TrimSpace(repo+"@"+digest)+"; made from its attached lock")
			_, err = c.App.Writer.Write(doc)
			return err
		},
	}
}
