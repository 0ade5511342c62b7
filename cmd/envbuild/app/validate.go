package app

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/envbuild/envbuild/builder/build"
	"github.com/envbuild/envbuild/builder/plan"
	"github.com/envbuild/envbuild/builder/registry"
	"github.com/envbuild/envbuild/frontends/config"
	"github.com/envbuild/envbuild/lock/failure"
)

// progressModes are --progress's values (BuildKit's display modes).
var progressModes = []string{"auto", "plain", "tty", "quiet", "rawjson"}

// validateBuildFlags checks the values of build's and flow build's flags
// that no later step can make right, before anything is locked, built or
// dialed: a bad value is a usage error (exit 2), not a failure after work.
func validateBuildFlags(c *cli.Context, env map[string]string) error {
	if v := c.String("progress"); !oneOf(v, progressModes) {
		return failure.Usage(fmt.Errorf("--progress %s: want %s", failure.Quote(v), strings.Join(progressModes, ", ")))
	}
	v := c.String("compression")
	if !oneOf(v, []string{"gzip", "zstd"}) {
		return failure.Usage(fmt.Errorf("--compression %s: want gzip or zstd", failure.Quote(v)))
	}
	if c.IsSet("compression-level") {
		top := map[string]int{"gzip": 9, "zstd": 22}[v]
		if l := c.Int("compression-level"); l < 1 || l > top {
			return failure.Usage(fmt.Errorf("--compression-level %d: want 1-%d for %s", l, top, v))
		}
	}
	if c.Bool("layers-from-wheels") && !plan.LayersFromWheelsFit(v, c.Int("compression-level")) {
		given := "--compression " + v
		if v == "gzip" {
			given = fmt.Sprintf("--compression-level %d", c.Int("compression-level"))
		}
		return failure.Usage(fmt.Errorf("--layers-from-wheels copies the wheels' DEFLATE data into gzip layers: it works with --compression gzip at its default level only, not with %s", given))
	}
	if v := env[layersFromWheelsEnv]; v != "" {
		if _, err := strconv.ParseBool(v); err != nil {
			return failure.Usage(fmt.Errorf("%s=%s: want true or false (1 or 0)", layersFromWheelsEnv, failure.Quote(v)))
		}
	}
	if v := c.String("layer-cache"); v != "" && !oneOf(v, []string{build.LayerCacheWrite, build.LayerCacheRead, build.LayerCacheOff}) {
		return failure.Usage(fmt.Errorf("--layer-cache %s: want write, read or off", failure.Quote(v)))
	}
	if v := env["ENVBUILD_LAYER_CACHE_MODE"]; v != "" && !oneOf(v, []string{build.LayerCacheWrite, build.LayerCacheRead, build.LayerCacheOff}) {
		return failure.Usage(fmt.Errorf("ENVBUILD_LAYER_CACHE_MODE=%s: want write, read or off", failure.Quote(v)))
	}
	for _, f := range []string{"registry", "layer-cache-repo"} {
		if err := checkRepository("--"+f, c.String(f)); err != nil {
			return err
		}
	}
	for _, k := range []string{"ENVBUILD_REPOSITORY", "ENVBUILD_LAYER_CACHE"} {
		if err := checkRepository(k, env[k]); err != nil {
			return err
		}
	}
	for _, k := range []string{"ENVBUILD_PUSH_TIMEOUT", "ENVBUILD_DOWNLOAD_TIMEOUT", "ENVBUILD_INDEX_TIMEOUT", "ENVBUILD_BUILDKIT_TIMEOUT"} {
		if _, err := durationSetting(env, k, 0); err != nil {
			return err
		}
	}
	return nil
}

// validateConfigValues checks the settings the configuration lookup chose
// (config file, Metaflow's configuration) the same way, naming where each
// came from.
func validateConfigValues(conf config.Resolved) error {
	if err := checkRepository("repository (from "+conf.Repository.Source+")", conf.Repository.Value); err != nil {
		return err
	}
	if v := conf.File.LayerCacheMode; v != "" && !oneOf(v, []string{build.LayerCacheWrite, build.LayerCacheRead, build.LayerCacheOff}) {
		return failure.Usage(fmt.Errorf("layer_cache_mode %s in the config file: want write, read or off", failure.Quote(v)))
	}
	return checkRepository("layer_cache in the config file", conf.File.LayerCache)
}

// checkRepository refuses a repository written as a URL: a repository is
// HOST[:PORT]/NAME, and plain HTTP is chosen with --insecure-registry.
func checkRepository(what, v string) error {
	if v == "" {
		return nil
	}
	if strings.Contains(v, "://") {
		return failure.Usage(fmt.Errorf("%s %s: a repository has no URL scheme; write HOST[:PORT]/NAME (plain HTTP is used for loopback hosts and for --insecure-registry HOST)", what, failure.Quote(v)))
	}
	if strings.ContainsAny(v, " \t\n@") || strings.HasSuffix(v, ":") {
		return failure.Usage(fmt.Errorf("%s %s: want a repository HOST[:PORT]/NAME", what, failure.Quote(v)))
	}
	return nil
}

// pushTimeout is ENVBUILD_PUSH_TIMEOUT: how long a push may make no
// progress before it is stopped; seconds, or a Go duration ("90s", "5m").
func pushTimeout(env map[string]string) (time.Duration, error) {
	return durationSetting(env, "ENVBUILD_PUSH_TIMEOUT", registry.DefaultPushTimeout)
}

// durationSetting reads a duration from env[name]: a number of seconds or
// a Go duration; unset is def.
func durationSetting(env map[string]string, name string, def time.Duration) (time.Duration, error) {
	v := strings.TrimSpace(env[name])
	if v == "" {
		return def, nil
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && n > 0 {
		return time.Duration(n * float64(time.Second)), nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d, nil
	}
	return 0, failure.Usage(fmt.Errorf("%s=%s: want a positive number of seconds or a duration such as 90s or 5m", name, failure.Quote(v)))
}

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}
