// Package config looks up the three settings — the default
// base image, the registry prefixed to base images without a registry part
// (the seed's METAFLOW_DEFAULT_CONTAINER_REGISTRY rule), and the repository
// images are pushed to — through envbuild's precedence, first found wins:
//
//  1. the command-line flag (--base, --registry-prefix, --registry);
//  2. ENVBUILD_DEFAULT_CONTAINER_IMAGE, ENVBUILD_DEFAULT_CONTAINER_REGISTRY,
//     ENVBUILD_REPOSITORY;
//  3. envbuild's config file, $XDG_CONFIG_HOME/envbuild/config.toml (or
//     --config);
//  4. Metaflow's own configuration, read as metaflow_config.py reads it
//     (from_conf): for a flow step on Kubernetes or AWS Batch,
//     METAFLOW_KUBERNETES_CONTAINER_* / METAFLOW_BATCH_CONTAINER_* in the
//     environment, the local .metaflow/config.json, the profile
//     ($METAFLOW_HOME or ~/.metaflowconfig, config.json or
//     config_$METAFLOW_PROFILE.json), then METAFLOW_DEFAULT_CONTAINER_* in
//     the same three; otherwise the DEFAULT keys only. As in Metaflow, the
//     first place that has the key wins even when its value is empty;
//  5. for the base only: for `build`, python:X.Y-slim when the Python
//     version is known; for a flow step, Metaflow's python:X.Y of the
//     interpreter running the flow.
//
// It reads files and the environment it is given; it never talks to a
// registry.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/envbuild/envbuild/internal/tomlcheck"
	"github.com/envbuild/envbuild/lock/failure"
)

// Values are the settings as one source gives them; "" means unset.
type Values struct {
	Image      string
	Registry   string
	Repository string
}

// File is envbuild's config.toml.
type File struct {
	DefaultContainerImage    string   `toml:"default_container_image"`
	DefaultContainerRegistry string   `toml:"default_container_registry"`
	Repository               string   `toml:"repository"`
	InsecureRegistries       []string `toml:"insecure_registries"`
	BuildkitAddr             string   `toml:"buildkit_addr"`
	// LayerCache is the repository of the team layer cache's records
	// (default: the image's repository); LayerCacheMode is read, write or
	// off; LayerCacheSalt enters every layer key.
	LayerCache     string `toml:"layer_cache"`
	LayerCacheMode string `toml:"layer_cache_mode"`
	LayerCacheSalt string `toml:"layer_cache_salt"`
	// LayersFromWheels turns --layers-from-wheels on (or off) for every
	// gzip build at the default level; nil when the file does not say.
	LayersFromWheels *bool `toml:"layers_from_wheels"`
	// TLS files for a tcp:// buildkit_addr (relative paths are relative to
	// the config file's directory) and the server name to verify.
	TLSCACert     string `toml:"tlscacert"`
	TLSCert       string `toml:"tlscert"`
	TLSKey        string `toml:"tlskey"`
	TLSServerName string `toml:"tlsservername"`
	// BuildkitImage and BuildkitRunOptions: the BuildKit container envbuild
	// starts on Docker (its image; `docker run` arguments replacing
	// --privileged).
	BuildkitImage      string   `toml:"buildkit_image"`
	BuildkitRunOptions []string `toml:"buildkit_run_options"`
}

// Sources are where the lookup reads from.
type Sources struct {
	Flags Values
	// Env is the process environment as a map.
	Env map[string]string
	// ConfigPath is --config; "" means $XDG_CONFIG_HOME/envbuild/config.toml.
	ConfigPath string
	// Home is the user's home directory ("" means os.UserHomeDir).
	Home string
	// Cwd is where Metaflow's local config (.metaflow/config.json) is
	// looked for, upwards ("" means the working directory).
	Cwd string
}

// Setting is a resolved value and where it came from, for messages.
type Setting struct {
	Value  string
	Source string
}

// Resolved is the outcome of the lookup.
type Resolved struct {
	Image      Setting
	Registry   Setting
	Repository Setting
	File       File
}

// EnvMap turns os.Environ() into a map.
func EnvMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// Resolve applies the precedence. variant is "" for `build`, or
// "kubernetes" / "batch" for a flow step whose image comes from that
// decorator (its METAFLOW_<VARIANT>_CONTAINER_* variables are consulted
// before the default ones).
func Resolve(src Sources, variant string) (Resolved, error) {
	var r Resolved
	home := src.Home
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	f, fpath, err := readFile(src, home)
	if err != nil {
		return r, err
	}
	r.File = f
	mf, err := readMetaflow(src, home)
	if err != nil {
		return r, err
	}
	first := func(cands ...Setting) Setting {
		for _, c := range cands {
			if c.Value != "" {
				return c
			}
		}
		return Setting{}
	}
	envS := func(k string) Setting { return Setting{src.Env[k], "$" + k} }

	r.Image = first(Setting{src.Flags.Image, "--base"}, envS("ENVBUILD_DEFAULT_CONTAINER_IMAGE"), Setting{f.DefaultContainerImage, fpath + " default_container_image"})
	if r.Image.Value == "" {
		r.Image = mf.lookup(variant, "CONTAINER_IMAGE")
	}
	r.Registry = first(Setting{src.Flags.Registry, "--registry-prefix"}, envS("ENVBUILD_DEFAULT_CONTAINER_REGISTRY"), Setting{f.DefaultContainerRegistry, fpath + " default_container_registry"})
	if r.Registry.Value == "" {
		r.Registry = mf.lookup(variant, "CONTAINER_REGISTRY")
	}
	r.Repository = first(Setting{src.Flags.Repository, "--registry"}, envS("ENVBUILD_REPOSITORY"), Setting{f.Repository, fpath + " repository"})
	return r, nil
}

// BaseImage decides the base image of `build`: stepImage when given, else
// the resolved default, else python:X.Y-slim when python is known; then
// the registry prefix is added when the name has no registry part.
func (r Resolved) BaseImage(stepImage, python string) (string, error) {
	img := stepImage
	if img == "" {
		img = r.Image.Value
	}
	if img == "" {
		if python == "" {
			return "", failure.User(errors.New("no base image: pass --base IMAGE, set ENVBUILD_DEFAULT_CONTAINER_IMAGE or default_container_image in the config file, or set python so envbuild can use python:X.Y-slim"))
		}
		img = "python:" + majorMinor(python) + "-slim"
	}
	return WithRegistry(img, r.Registry.Value), nil
}

// StepBaseImage decides a flow step's base image as Metaflow's
// @kubernetes/@batch step_init does: the step's image (its decorator's, or
// --with's), else the resolved default, else python:X.Y of interpreter,
// the Python running the flow; then the registry prefix when the name has
// no registry part (the default image included, as in Metaflow).
func (r Resolved) StepBaseImage(stepImage, interpreter string) (string, error) {
	img := stepImage
	if img == "" {
		img = r.Image.Value
	}
	if img == "" {
		if interpreter == "" {
			return "", failure.User(errors.New("no base image and no Python to take Metaflow's default python:X.Y from: pass --base IMAGE, set ENVBUILD_DEFAULT_CONTAINER_IMAGE or METAFLOW_DEFAULT_CONTAINER_IMAGE, or --python"))
		}
		img = "python:" + majorMinor(interpreter)
	}
	return WithRegistry(img, r.Registry.Value), nil
}

func majorMinor(python string) string {
	if parts := strings.Split(strings.TrimSuffix(python, "t"), "."); len(parts) >= 2 {
		return parts[0] + "." + parts[1]
	}
	return python
}

// HasRegistry reports whether an image name has a registry part, by
// Docker's reference grammar: its first component contains "." or ":" or is
// "localhost". (Metaflow's own check, get_docker_registry, uses a regular
// expression that also treats a first component with "." or ":" as a
// registry; the two differ only for names Docker itself rejects.)
func HasRegistry(image string) bool {
	first, _, ok := strings.Cut(image, "/")
	if !ok {
		return false
	}
	return strings.ContainsAny(first, ".:") || first == "localhost"
}

// WithRegistry prefixes registry to image when image has no registry part.
func WithRegistry(image, registry string) string {
	if registry == "" || HasRegistry(image) {
		return image
	}
	return strings.TrimSuffix(registry, "/") + "/" + image
}

func readFile(src Sources, home string) (File, string, error) {
	var f File
	path := src.ConfigPath
	explicit := path != ""
	if path == "" {
		dir := src.Env["XDG_CONFIG_HOME"]
		if dir == "" {
			dir = filepath.Join(home, ".config")
		}
		path = filepath.Join(dir, "envbuild", "config.toml")
	}
	data, err := tomlcheck.ReadFile(path, tomlcheck.MaxSpecFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !explicit {
			return f, path, nil
		}
		return f, path, failure.User(fmt.Errorf("reading config file %s: %w", path, err))
	}
	if err := tomlcheck.Check(path, data, tomlcheck.MaxSpecFile); err != nil {
		return f, path, err
	}
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		return f, path, failure.User(fmt.Errorf("reading config file %s: %w", path, err))
	}
	if und := md.Undecoded(); len(und) > 0 {
		return f, path, failure.User(fmt.Errorf("reading config file %s: unknown key %q; known keys: default_container_image, default_container_registry, repository, insecure_registries, buildkit_addr, tlscacert, tlscert, tlskey, tlsservername, buildkit_image, buildkit_run_options, layer_cache, layer_cache_mode, layer_cache_salt, layers_from_wheels", path, und[0].String()))
	}
	for _, p := range []*string{&f.TLSCACert, &f.TLSCert, &f.TLSKey} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(filepath.Dir(path), *p)
		}
	}
	return f, path, nil
}

// metaflowConf holds the three places Metaflow's from_conf reads
// (metaflow_config_funcs.py): the environment, the local config
// (.metaflow/config.json of the nearest directory above the working
// directory that has a .metaflow directory) and the profile
// ($METAFLOW_HOME/config.json or config_$METAFLOW_PROFILE.json).
type metaflowConf struct {
	env                    map[string]string
	local, profile         map[string]any
	localPath, profilePath string
}

// get is from_conf(name) without a default: the first place that HAS the
// key wins, even with an empty value (Metaflow then imputes its own
// default rather than reading further).
func (m metaflowConf) get(key string) (Setting, bool) {
	if v, ok := m.env[key]; ok {
		return Setting{v, "$" + key}, true
	}
	for _, src := range []struct {
		vals map[string]any
		path string
	}{{m.local, m.localPath}, {m.profile, m.profilePath}} {
		if v, ok := src.vals[key]; ok {
			s, isString := v.(string)
			if !isString && v != nil {
				s = fmt.Sprint(v)
			}
			return Setting{s, src.path + " " + key}, true
		}
	}
	return Setting{}, false
}

// lookup is Metaflow's KUBERNETES_/BATCH_ lookup of metaflow_config.py,
// from_conf("<VARIANT>_" + suffix, DEFAULT_<suffix>): the variant's key in
// the environment, the local config and the profile, then the default key
// in the same three; with no variant, the default key only. A Setting with
// a Source and an empty Value is Metaflow finding the key set to "".
func (m metaflowConf) lookup(variant, suffix string) Setting {
	if v := strings.ToUpper(variant); v != "" {
		if s, ok := m.get("METAFLOW_" + v + "_" + suffix); ok {
			return s
		}
	}
	s, _ := m.get("METAFLOW_DEFAULT_" + suffix)
	return s
}

func readMetaflow(src Sources, home string) (metaflowConf, error) {
	m := metaflowConf{env: src.Env}
	// init_config: $METAFLOW_HOME (default ~/.metaflowconfig), config.json or
	// config_$METAFLOW_PROFILE.json; a named profile that does not exist is
	// an error, as in Metaflow.
	dir := src.Env["METAFLOW_HOME"]
	if dir == "" {
		dir = "~/.metaflowconfig"
	}
	if dir == "~" || strings.HasPrefix(dir, "~/") {
		dir = filepath.Join(home, dir[1:])
	}
	name := "config.json"
	profile := src.Env["METAFLOW_PROFILE"]
	if profile != "" {
		name = "config_" + profile + ".json"
	}
	m.profilePath = filepath.Join(dir, name)
	var err error
	if m.profile, err = readJSONObject(m.profilePath); err != nil {
		return m, err
	}
	if m.profile == nil && profile != "" {
		return m, failure.User(fmt.Errorf("Metaflow profile %q (METAFLOW_PROFILE) not found: %s does not exist", profile, m.profilePath))
	}
	// init_local_config: the nearest .metaflow directory at or above the
	// working directory, and its config.json.
	cwd := src.Cwd
	if cwd == "" {
		cwd, _ = os.Getwd()
	}
	for d := cwd; d != ""; {
		if fi, err := os.Stat(filepath.Join(d, ".metaflow")); err == nil && fi.IsDir() {
			m.localPath = filepath.Join(d, ".metaflow", "config.json")
			if m.local, err = readJSONObject(m.localPath); err != nil {
				return m, err
			}
			break
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	return m, nil
}

// readJSONObject reads a Metaflow config file; nil when it does not exist.
func readJSONObject(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, failure.User(fmt.Errorf("reading Metaflow config %s: %w", path, err))
	}
	raw := map[string]any{}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, failure.User(fmt.Errorf("reading Metaflow config %s: %w", path, err))
	}
	return raw, nil
}
