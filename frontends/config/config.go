// Package config looks up the three settings of CONTRACT §5 — the default
// base image, the registry prefixed to base images without a registry part
// (the seed's METAFLOW_DEFAULT_CONTAINER_REGISTRY rule), and the repository
// images are pushed to — through envbuild's precedence, first found wins:
//
//  1. the command-line flag (--base, --registry-prefix, --registry);
//  2. ENVBUILD_DEFAULT_CONTAINER_IMAGE, ENVBUILD_DEFAULT_CONTAINER_REGISTRY,
//     ENVBUILD_REPOSITORY;
//  3. envbuild's config file, $XDG_CONFIG_HOME/envbuild/config.toml (or
//     --config);
//  4. Metaflow's METAFLOW_DEFAULT_CONTAINER_IMAGE / _REGISTRY variables, and
//     for flow steps first their METAFLOW_KUBERNETES_CONTAINER_* or
//     METAFLOW_BATCH_CONTAINER_* variants;
//  5. Metaflow's profile config ($METAFLOW_HOME or ~/.metaflowconfig,
//     config.json or config_$METAFLOW_PROFILE.json), same keys;
//  6. for the base only: python:X.Y-slim when the Python version is known.
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
	// TLS files for a tcp:// buildkit_addr (relative paths are relative to
	// the config file's directory) and the server name to verify.
	TLSCACert     string `toml:"tlscacert"`
	TLSCert       string `toml:"tlscert"`
	TLSKey        string `toml:"tlskey"`
	TLSServerName string `toml:"tlsservername"`
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
	mf, mfpath, err := readMetaflowProfile(src.Env, home)
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
	mfS := func(k string) Setting { return Setting{mf[k], mfpath + " " + k} }
	v := strings.ToUpper(variant)

	imageCands := []Setting{{src.Flags.Image, "--base"}, envS("ENVBUILD_DEFAULT_CONTAINER_IMAGE"), {f.DefaultContainerImage, fpath + " default_container_image"}}
	regCands := []Setting{{src.Flags.Registry, "--registry-prefix"}, envS("ENVBUILD_DEFAULT_CONTAINER_REGISTRY"), {f.DefaultContainerRegistry, fpath + " default_container_registry"}}
	if v != "" {
		imageCands = append(imageCands, envS("METAFLOW_"+v+"_CONTAINER_IMAGE"))
		regCands = append(regCands, envS("METAFLOW_"+v+"_CONTAINER_REGISTRY"))
	}
	imageCands = append(imageCands, envS("METAFLOW_DEFAULT_CONTAINER_IMAGE"))
	regCands = append(regCands, envS("METAFLOW_DEFAULT_CONTAINER_REGISTRY"))
	if v != "" {
		imageCands = append(imageCands, mfS("METAFLOW_"+v+"_CONTAINER_IMAGE"))
		regCands = append(regCands, mfS("METAFLOW_"+v+"_CONTAINER_REGISTRY"))
	}
	imageCands = append(imageCands, mfS("METAFLOW_DEFAULT_CONTAINER_IMAGE"))
	regCands = append(regCands, mfS("METAFLOW_DEFAULT_CONTAINER_REGISTRY"))

	r.Image = first(imageCands...)
	r.Registry = first(regCands...)
	r.Repository = first(Setting{src.Flags.Repository, "--registry"}, envS("ENVBUILD_REPOSITORY"), Setting{f.Repository, fpath + " repository"})
	return r, nil
}

// BaseImage decides an environment's base image: the step's own image
// (from @kubernetes/@batch or --with), else the resolved default, else
// python:X.Y-slim when python is known; then the registry prefix is added
// when the name has no registry part.
func (r Resolved) BaseImage(stepImage, python string) (string, error) {
	img := stepImage
	if img == "" {
		img = r.Image.Value
	}
	if img == "" {
		if python == "" {
			return "", failure.User(errors.New("no base image: pass --base IMAGE, set ENVBUILD_DEFAULT_CONTAINER_IMAGE or default_container_image in the config file, or set python so envbuild can use python:X.Y-slim"))
		}
		short := python
		if parts := strings.Split(strings.TrimSuffix(python, "t"), "."); len(parts) >= 2 {
			short = parts[0] + "." + parts[1]
		}
		img = "python:" + short + "-slim"
	}
	return WithRegistry(img, r.Registry.Value), nil
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
		return f, path, failure.User(fmt.Errorf("reading config file %s: unknown key %q; known keys: default_container_image, default_container_registry, repository, insecure_registries, buildkit_addr, tlscacert, tlscert, tlskey, tlsservername", path, und[0].String()))
	}
	for _, p := range []*string{&f.TLSCACert, &f.TLSCert, &f.TLSKey} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(filepath.Dir(path), *p)
		}
	}
	return f, path, nil
}

func readMetaflowProfile(env map[string]string, home string) (map[string]string, string, error) {
	dir := env["METAFLOW_HOME"]
	if dir == "" {
		dir = filepath.Join(home, ".metaflowconfig")
	}
	name := "config.json"
	if p := env["METAFLOW_PROFILE"]; p != "" {
		name = "config_" + p + ".json"
	}
	path := filepath.Join(dir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, path, nil
		}
		return nil, path, failure.User(fmt.Errorf("reading Metaflow profile %s: %w", path, err))
	}
	raw := map[string]any{}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, path, failure.User(fmt.Errorf("reading Metaflow profile %s: %w", path, err))
	}
	out := map[string]string{}
	for k, v := range raw {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out, path, nil
}
