package app

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/envbuild/envbuild/builder/build"
	"github.com/envbuild/envbuild/builder/engine"
	"github.com/envbuild/envbuild/builder/plan"
	"github.com/envbuild/envbuild/builder/registry"
	"github.com/envbuild/envbuild/frontends/config"
	"github.com/envbuild/envbuild/frontends/envtoml"
	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/lock"
	"github.com/envbuild/envbuild/lock/failure"
)

// specFlags are the flags that describe an environment (build and lock).
func specFlags() []cli.Flag {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "the environment's file: envbuild.toml, requirements.txt, pyproject.toml, uv.lock, pylock.toml or environment.yml, recognised by name and content (default: ./envbuild.toml when no --pypi/--conda/-r is given)"},
		&cli.StringFlag{Name: "env", Usage: "the environment of envbuild.toml to use, when it has several"},
		&cli.StringSliceFlag{Name: "pypi", Usage: "a PEP 508 requirement (repeatable)"},
		&cli.StringSliceFlag{Name: "conda", Usage: "a conda MatchSpec (repeatable)"},
		channelFlag(),
		&cli.StringFlag{Name: "python", Usage: "Python version X.Y[.Z] (default: the base image's)"},
		&cli.StringSliceFlag{Name: "platform", Usage: "linux/amd64 or linux/arm64 (repeatable, or comma-separated as buildx takes it; default linux/amd64)"},
		indexURLFlag(),
		extraIndexURLFlag(),
		&cli.BoolFlag{Name: "allow-sdist", Usage: "allow source distributions, built into wheels during the build"},
		&cli.StringFlag{Name: "lock", Usage: "the lock file (default: envbuild.lock beside envbuild.toml, or ./envbuild.lock)"},
	}
	flags = append(flags, lockFlags()...)
	flags = append(flags, settingsFlags()...)
	return append(flags, inputFlags()...)
}

// indexFlags name where packages come from (build, lock and flow build):
// they win over the spec's own indexes and channels.
func indexFlags() []cli.Flag {
	return []cli.Flag{channelFlag(), indexURLFlag(), extraIndexURLFlag()}
}

func channelFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "channel", Aliases: []string{"c"}, Usage: "a conda channel name or URL (repeatable, highest priority first; default: CONDA_CHANNELS, .condarc, conda-forge)"}
}

func indexURLFlag() cli.Flag {
	return &cli.StringFlag{Name: "index-url", Usage: "the package index (default: pip's configuration)"}
}

func extraIndexURLFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "extra-index-url", Usage: "further package indexes (repeatable)"}
}

// lockFlags say how an environment is locked (build, lock and flow
// build); lockRequest and lockPolicy read them.
func lockFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "exclude-newer", Usage: "ignore files uploaded after this date (RFC 3339 or YYYY-MM-DD), for reproducible locks"},
		&cli.BoolFlag{Name: "offline", Usage: "use only the HTTP cache"},
		&cli.BoolFlag{Name: "upgrade", Usage: "ignore the versions of the existing lock"},
		&cli.StringSliceFlag{Name: "upgrade-package", Usage: "ignore the existing lock's version of NAME (repeatable)"},
		lockedFlag(),
	}
}

// settingsFlags are envbuild's own files (every command that locks or
// builds).
func settingsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config", Usage: "envbuild's config file (default: $XDG_CONFIG_HOME/envbuild/config.toml)"},
		&cli.StringFlag{Name: "cache-dir", Usage: "envbuild's cache (default: $XDG_CACHE_HOME/envbuild)"},
	}
}

// registryFlags say where images are pushed and how registries are
// reached (build and flow build).
func registryFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "registry-prefix", Usage: "registry prefixed to a base image name without one"},
		&cli.StringFlag{Name: "registry", Usage: "repository to push to (registry.example.com/team/envs)"},
		&cli.StringSliceFlag{Name: "insecure-registry", Usage: "a registry HOST[:PORT] spoken to over plain HTTP (loopback ones always are)"},
	}
}

// layerFlags say how the layers are built and the build shown (build and
// flow build).
func layerFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "progress", Value: "auto", Usage: "progress output: auto, plain, tty or quiet"},
		&cli.BoolFlag{Name: "no-bytecode", Usage: "do not compile .pyc files"},
		&cli.StringFlag{Name: "compression", Value: "gzip", Usage: "layer compression: gzip or zstd"},
		&cli.IntFlag{Name: "compression-level", Usage: "the package layers' compression level, gzip 1-9 or zstd 1-22 (default: the compressor's, gzip 6, zstd 3); lower is faster and larger"},
		&cli.BoolFlag{Name: "layers-from-wheels", Usage: "write the layers of big wheels (over 256 MiB) from the wheels' own compressed data instead of compressing them again (gzip at its default level; envbuild fetches those wheels itself: for a BuildKit on this machine; also set by $ENVBUILD_LAYERS_FROM_WHEELS or the config file's layers_from_wheels)"},
	}
}

// loadSpec builds the one Spec a command works on, from envbuild.toml and
// the flags (flags win), and the lock path.
func loadSpec(c *cli.Context) (spec.Spec, string, error) {
	var s spec.Spec
	file := c.String("file")
	fromFlags := len(c.StringSlice("pypi")) > 0 || len(c.StringSlice("conda")) > 0
	fromReqs := len(c.StringSlice("requirement")) > 0 || len(c.StringSlice("constraint")) > 0
	lockPath := c.String("lock")
	env := config.EnvMap(os.Environ())
	if file == "" && !fromFlags && !fromReqs {
		if _, err := os.Stat("envbuild.toml"); err == nil {
			file = "envbuild.toml"
		} else {
			return s, "", failure.Usage(fmt.Errorf("nothing to build: give packages with --pypi/--conda, or write an envbuild.toml here (or pass --file)"))
		}
	}
	kind := kindEnvToml
	if file != "" {
		kind = fileKind(file, readHead(file))
	}
	if file != "" && kind != kindEnvToml {
		s.Name = "default"
		if n := c.String("env"); n != "" {
			s.Name = n
		}
		if err := loadInputFile(c, kind, file, env, &s); err != nil {
			return s, "", err
		}
		if lockPath == "" {
			lockPath = filepath.Join(filepath.Dir(file), "envbuild.lock")
		}
	} else if file != "" {
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
	if (len(c.StringSlice("extra")) > 0 || len(c.StringSlice("group")) > 0) && kind != kindPyproject && kind != kindUVLock {
		return s, "", failure.Usage(fmt.Errorf("--extra and --group choose parts of a pyproject.toml or uv.lock: give one with --file"))
	}
	if err := loadRequirementFlags(c, env, &s); err != nil {
		return s, "", err
	}
	if s.Resolved != nil && (fromFlags || fromReqs || len(s.PyPI.Requirements) > 0) {
		return s, "", failure.Usage(fmt.Errorf("%s is already resolved: it cannot be combined with --pypi, --conda, -r or --constraint", file))
	}
	if fromFlags {
		s.PyPI.Requirements = append(s.PyPI.Requirements, c.StringSlice("pypi")...)
		s.Conda.Specs = append(s.Conda.Specs, c.StringSlice("conda")...)
	}
	if v := c.String("python"); v != "" {
		s.Python = v
	}
	if v := platformFlag(c); len(v) > 0 {
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

// concatFlags joins flag groups, in order.
func concatFlags(groups ...[]cli.Flag) []cli.Flag {
	var out []cli.Flag
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// lockedFlag and frozenFlag are the CI lock policy, with the meanings uv
// and cargo give these words.
func lockedFlag() cli.Flag {
	return &cli.BoolFlag{Name: "locked", Usage: "exit 3 with the reason when the lock is missing or does not match the spec; never write it (for CI)"}
}

func frozenFlag() cli.Flag {
	return &cli.BoolFlag{Name: "frozen", Usage: "use the lock as it is, without checking it against the spec; exit 3 when it is missing"}
}

// lockPolicy reads --locked and --frozen.
func lockPolicy(c *cli.Context) (lock.Policy, error) {
	return lock.PolicyOf(c.Bool("locked"), c.Bool("frozen"))
}

// platformFlag is --platform, each value also split on commas
// (--platform linux/amd64,linux/arm64, as buildx takes it): no platform
// has a comma of its own.
func platformFlag(c *cli.Context) []string {
	var out []string
	for _, v := range c.StringSlice("platform") {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
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
	var err error
	if req.DownloadTimeout, err = durationSetting(req.Env, "ENVBUILD_DOWNLOAD_TIMEOUT", 0); err != nil {
		return req, err
	}
	if req.IndexDeadline, err = durationSetting(req.Env, "ENVBUILD_INDEX_TIMEOUT", 0); err != nil {
		return req, err
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

// resolveConfig applies docs/reference.md with this command's flags first; the
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
	// A bad ENVBUILD_PUSH_TIMEOUT was refused before (validateBuildFlags);
	// lock, which pushes nothing, takes the default.
	push, _ := pushTimeout(config.EnvMap(os.Environ()))
	return registry.New(registry.Options{InsecureHosts: insecure, PushTimeout: push})
}

// buildkitFlags choose the BuildKit a command uses.
func buildkitFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "buildkit-addr", Usage: "BuildKit address: unix://, tcp://, docker-container://, podman-container://, kube-pod://, ssh:// (default: $BUILDKIT_HOST, else the config file's buildkit_addr, else envbuild's local daemon)"},
		&cli.StringFlag{Name: "builder", Usage: "use the buildx builder `NAME` (docker-container, remote or kubernetes driver) from the Docker CLI's buildx store; \"current\" is the one 'docker buildx use' chose (default: $BUILDX_BUILDER)"},
		&cli.StringFlag{Name: "tlscacert", Usage: "CA certificate that signed a tcp:// BuildKit's certificate (default: the config file's tlscacert, else the system's CAs when other TLS settings are given)"},
		&cli.StringFlag{Name: "tlscert", Usage: "client certificate for a tcp:// BuildKit (mutual TLS; default: the config file's tlscert)"},
		&cli.StringFlag{Name: "tlskey", Usage: "the client certificate's key (default: the config file's tlskey)"},
		&cli.StringFlag{Name: "tlsservername", Usage: "the name to verify in a tcp:// BuildKit's certificate (default: the address's host, or the config file's tlsservername)"},
	}
}

// layerCacheFlags are the team layer cache's flags, on build and flow build.
func layerCacheFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "layer-cache", Usage: "the team layer cache: write (reuse and record layers), read (reuse only) or off (default: $ENVBUILD_LAYER_CACHE_MODE, the config file's layer_cache_mode, else write)"},
		&cli.StringFlag{Name: "layer-cache-repo", Usage: "repository of the layer cache's records (default: $ENVBUILD_LAYER_CACHE, the config file's layer_cache, else the image's repository)"},
	}
}

// layerCacheOptions fills the layer cache's settings of o: flag, then
// environment, then config file.
func layerCacheOptions(c *cli.Context, env map[string]string, conf config.Resolved, o *build.Options) {
	first := func(vs ...string) string {
		for _, v := range vs {
			if v != "" {
				return v
			}
		}
		return ""
	}
	o.LayerCache = first(c.String("layer-cache"), env["ENVBUILD_LAYER_CACHE_MODE"], conf.File.LayerCacheMode)
	o.LayerCacheRepo = first(c.String("layer-cache-repo"), env["ENVBUILD_LAYER_CACHE"], conf.File.LayerCache)
	o.CacheSalt = first(env["ENVBUILD_LAYER_CACHE_SALT"], conf.File.LayerCacheSalt)
}

// layersFromWheels says whether the big wheels' layers are written from
// their own compressed data: the flag, else ENVBUILD_LAYERS_FROM_WHEELS,
// else the config file's layers_from_wheels, else off. Set by the
// environment or the config file (a team's or a CI runner's choice), it
// applies to the builds it can serve, gzip at the default level, and says
// so when it does not apply; the flag with anything else is refused
// earlier (validateBuildFlags).
func layersFromWheels(c *cli.Context, env map[string]string, conf config.Resolved) bool {
	if c.IsSet("layers-from-wheels") {
		return c.Bool("layers-from-wheels")
	}
	on, from := false, ""
	if v := env[layersFromWheelsEnv]; v != "" {
		on, _ = strconv.ParseBool(v)
		from = layersFromWheelsEnv
	} else if conf.File.LayersFromWheels != nil {
		on, from = *conf.File.LayersFromWheels, "layers_from_wheels in the config file"
	}
	if on && !plan.LayersFromWheelsFit(c.String("compression"), c.Int("compression-level")) {
		fmt.Fprintf(c.App.ErrWriter, "%s does not apply to this build: it needs gzip at its default level; BuildKit compresses every layer\n", from)
		return false
	}
	return on
}

// layersFromWheelsEnv is --layers-from-wheels's environment variable.
const layersFromWheelsEnv = "ENVBUILD_LAYERS_FROM_WHEELS"

// buildOptions are the build.Options that build and flow build set alike
// from their shared flags, the environment and the config file: where
// BuildKit and the registry are, how to lock, how layers are compressed
// and cached. The caller adds the spec, the lock file and the output.
func buildOptions(c *cli.Context, env map[string]string, conf config.Resolved, policy lock.Policy) (build.Options, error) {
	connect, err := connectOptions(c, env, conf)
	if err != nil {
		return build.Options{}, err
	}
	cd := cacheDir(c)
	stderr := c.App.ErrWriter
	lreq, err := lockRequest(c, cd, stderr)
	if err != nil {
		return build.Options{}, err
	}
	push, _ := pushTimeout(env)
	o := build.Options{
		Connect:          connect,
		Progress:         c.String("progress"),
		ProgressOut:      stderr,
		Log:              func(l string) { fmt.Fprintln(stderr, l) },
		Registry:         registryClient(c, conf),
		CacheDir:         cd,
		Lock:             lreq,
		Compression:      c.String("compression"),
		CompressionLevel: c.Int("compression-level"),
		LayersFromWheels: layersFromWheels(c, env, conf),
		LockPolicy:       policy,
		PushTimeout:      push,
	}
	layerCacheOptions(c, env, conf, &o)
	return o, nil
}

// connectOptions says which BuildKit a command uses: the
// --buildkit-addr or --builder flag, else BUILDKIT_HOST, else
// BUILDX_BUILDER, else the config file's buildkit_addr, else envbuild's
// local daemon. TLS settings come from the flags, each over the config
// file's, which apply to a tcp:// address only. The result is checked
// (address shape, TLS files) before anything else runs.
func connectOptions(c *cli.Context, env map[string]string, conf config.Resolved) (engine.ConnectOptions, error) {
	home, _ := os.UserHomeDir()
	o := engine.ConnectOptions{BuildxDir: engine.BuildxStoreDir(env, home)}
	addr, builder := c.String("buildkit-addr"), c.String("builder")
	switch {
	case addr != "" && builder != "":
		return o, failure.Usage(fmt.Errorf("--buildkit-addr and --builder both choose a BuildKit: give one"))
	case addr != "":
		o.Addr = addr
	case builder != "":
		o.Builder = builder
	case env["BUILDKIT_HOST"] != "":
		o.Addr = env["BUILDKIT_HOST"]
	case env["BUILDX_BUILDER"] != "":
		o.Builder = env["BUILDX_BUILDER"]
	default:
		o.Addr = conf.File.BuildkitAddr
	}
	if o.Builder == "" && strings.HasPrefix(o.Addr, "tcp://") {
		o.TLS = engine.TLSOptions{CACert: conf.File.TLSCACert, Cert: conf.File.TLSCert, Key: conf.File.TLSKey, ServerName: conf.File.TLSServerName}
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"tlscacert", &o.TLS.CACert}, {"tlscert", &o.TLS.Cert}, {"tlskey", &o.TLS.Key}, {"tlsservername", &o.TLS.ServerName}} {
		if v := c.String(f.name); v != "" {
			*f.dst = v
		}
	}
	dockerConnect(c, env, conf, &o)
	return o, o.Validate()
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
