package app

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/envbuild/envbuild/builder/engine"
	"github.com/envbuild/envbuild/builder/registry"
	"github.com/envbuild/envbuild/frontends/config"
	"github.com/envbuild/envbuild/frontends/envtoml"
	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/lock"
	"github.com/envbuild/envbuild/lock/failure"
)

// specFlags are the flags that describe an environment.
func specFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "envbuild.toml to read (default: ./envbuild.toml when no --pypi/--conda is given)"},
		&cli.StringFlag{Name: "env", Usage: "the environment of envbuild.toml to use, when it has several"},
		&cli.StringSliceFlag{Name: "pypi", Usage: "a PEP 508 requirement (repeatable)"},
		&cli.StringSliceFlag{Name: "conda", Usage: "a conda MatchSpec (repeatable)"},
		&cli.StringSliceFlag{Name: "channel", Aliases: []string{"c"}, Usage: "a conda channel name or URL (repeatable, highest priority first; default: CONDA_CHANNELS, .condarc, conda-forge)"},
		&cli.StringFlag{Name: "python", Usage: "Python version X.Y[.Z] (default: the base image's)"},
		&cli.StringSliceFlag{Name: "platform", Usage: "linux/amd64 or linux/arm64 (repeatable; default linux/amd64)"},
		&cli.StringFlag{Name: "index-url", Usage: "the package index (default: pip's configuration)"},
		&cli.StringSliceFlag{Name: "extra-index-url", Usage: "further package indexes (repeatable)"},
		&cli.BoolFlag{Name: "allow-sdist", Usage: "allow source distributions, built into wheels during the build"},
		&cli.StringFlag{Name: "lock", Usage: "the lock file (default: envbuild.lock beside envbuild.toml, or ./envbuild.lock)"},
		&cli.StringFlag{Name: "exclude-newer", Usage: "ignore files uploaded after this date (RFC 3339 or YYYY-MM-DD), for reproducible locks"},
		&cli.BoolFlag{Name: "offline", Usage: "use only the HTTP cache"},
		&cli.BoolFlag{Name: "upgrade", Usage: "ignore the versions of the existing lock"},
		&cli.StringSliceFlag{Name: "upgrade-package", Usage: "ignore the existing lock's version of NAME (repeatable)"},
		&cli.StringFlag{Name: "config", Usage: "envbuild's config file (default: $XDG_CONFIG_HOME/envbuild/config.toml)"},
		&cli.StringFlag{Name: "cache-dir", Usage: "envbuild's cache (default: $XDG_CACHE_HOME/envbuild)"},
	}
}

// loadSpec builds the one Spec a command works on, from envbuild.toml and
// the flags (flags win), and the lock path.
func loadSpec(c *cli.Context) (spec.Spec, string, error) {
	var s spec.Spec
	file := c.String("file")
	fromFlags := len(c.StringSlice("pypi")) > 0 || len(c.StringSlice("conda")) > 0
	lockPath := c.String("lock")
	if file == "" && !fromFlags {
		if _, err := os.Stat("envbuild.toml"); err == nil {
			file = "envbuild.toml"
		} else {
			return s, "", failure.Usage(fmt.Errorf("nothing to build: give packages with --pypi/--conda, or write an envbuild.toml here (or pass --file)"))
		}
	}
	if file != "" {
		specs, err := envtoml.Load(file)
		if err != nil {
			return s, "", err
		}
		name := c.String("env")
		switch {
		case name != "":
			found := false
			for _, sp := range specs {
				if sp.Name == name {
					s, found = sp, true
				}
			}
			if !found {
				return s, "", failure.User(fmt.Errorf("%s has no environment %q; it has: %s", file, name, envNames(specs)))
			}
		case len(specs) == 1:
			s = specs[0]
		default:
			return s, "", failure.Usage(fmt.Errorf("%s has several environments (%s): choose one with --env", file, envNames(specs)))
		}
		if lockPath == "" {
			lockPath = filepath.Join(filepath.Dir(file), "envbuild.lock")
		}
	} else {
		s.Name = "default"
		if n := c.String("env"); n != "" {
			s.Name = n
		}
	}
	if fromFlags {
		s.PyPI.Requirements = append(s.PyPI.Requirements, c.StringSlice("pypi")...)
		s.Conda.Specs = append(s.Conda.Specs, c.StringSlice("conda")...)
	}
	if v := c.String("python"); v != "" {
		s.Python = v
	}
	if v := c.StringSlice("platform"); len(v) > 0 {
		s.Platforms = v
	}
	for _, p := range s.Platforms {
		if p != "linux/amd64" && p != "linux/arm64" && p != "linux/arm64/v8" {
			return s, "", failure.Usage(fmt.Errorf("--platform %q is not supported; use linux/amd64 or linux/arm64", p))
		}
	}
	if v := c.StringSlice("channel"); len(v) > 0 {
		s.Conda.Channels = v
	}
	if v := c.String("index-url"); v != "" {
		s.PyPI.IndexURL = v
	}
	if v := c.StringSlice("extra-index-url"); len(v) > 0 {
		s.PyPI.ExtraIndexURLs = v
	}
	if c.Bool("allow-sdist") {
		s.Options.AllowSdist = true
	}
	if lockPath == "" {
		lockPath = "envbuild.lock"
	}
	return s, lockPath, nil
}

func envNames(specs []spec.Spec) string {
	var s string
	for i, sp := range specs {
		if i > 0 {
			s += ", "
		}
		s += sp.Name
	}
	return s
}

// lockRequest fills the lock options shared by build and lock.
func lockRequest(c *cli.Context, cacheDir string, stderr io.Writer) (lock.Request, error) {
	req := lock.Request{
		Upgrade:         c.Bool("upgrade"),
		UpgradePackages: c.StringSlice("upgrade-package"),
		Offline:         c.Bool("offline"),
		CacheDir:        filepath.Join(cacheDir, "http"),
		Env:             config.EnvMap(os.Environ()),
		Log:             stderr,
	}
	if v := c.String("exclude-newer"); v != "" {
		t, err := parseDate(v)
		if err != nil {
			return req, failure.Usage(fmt.Errorf("--exclude-newer %q: want RFC 3339 (2024-06-01T00:00:00Z) or a date (2024-06-01)", v))
		}
		req.ExcludeNewer = t
	}
	return req, nil
}

func parseDate(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02", v)
}

func cacheDir(c *cli.Context) string {
	if v := c.String("cache-dir"); v != "" {
		return v
	}
	if v := os.Getenv("XDG_CACHE_HOME"); v != "" {
		return filepath.Join(v, "envbuild")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "envbuild")
}

// resolveConfig applies CONTRACT §5 with this command's flags first; the
// base and repository written in envbuild.toml count as flags.
func resolveConfig(c *cli.Context, env map[string]string, specBase, specRepo string) (config.Resolved, error) {
	base, repo := c.String("base"), c.String("registry")
	if base == "" {
		base = specBase
	}
	if repo == "" {
		repo = specRepo
	}
	return config.Resolve(config.Sources{
		Flags:      config.Values{Image: base, Registry: c.String("registry-prefix"), Repository: repo},
		Env:        env,
		ConfigPath: c.String("config"),
	}, "")
}

// registryClient speaks plain HTTP to loopback registries and to those
// named by --insecure-registry or the config file's insecure_registries.
func registryClient(c *cli.Context, conf config.Resolved) *registry.Client {
	insecure := append(append([]string(nil), c.StringSlice("insecure-registry")...), conf.File.InsecureRegistries...)
	return registry.New(registry.Options{InsecureHosts: insecure})
}

// buildkitAddr is --buildkit-addr, else BUILDKIT_HOST, else the config
// file's buildkit_addr, else "" (envbuild's local daemon, CONTRACT §7).
func buildkitAddr(c *cli.Context, env map[string]string, conf config.Resolved) string {
	if a := engine.Address(c.String("buildkit-addr"), env); a != "" {
		return a
	}
	return conf.File.BuildkitAddr
}

// connectOptions says which BuildKit a command uses (CONTRACT §7).
func connectOptions(c *cli.Context, env map[string]string, conf config.Resolved) engine.ConnectOptions {
	o := engine.ConnectOptions{Addr: buildkitAddr(c, env, conf)}
	dockerConnect(c, env, conf, &o)
	return o
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
