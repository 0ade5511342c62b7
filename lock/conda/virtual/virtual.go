package virtual

import (
	"fmt"
	"strings"

	"github.com/envbuild/envbuild/lock/conda/repodata"
	"github.com/envbuild/envbuild/lock/conda/version"
	"github.com/envbuild/envbuild/lock/target"
)

// DefaultGlibc is the glibc version assumed when neither the target nor
// CONDA_OVERRIDE_GLIBC gives one.
const DefaultGlibc = "2.28"

// DefaultLinux is the __linux version when the target's kernel is unknown.
const DefaultLinux = "0"

// Channel is the channel name virtual records carry.
const Channel = "@virtual"

// Subdir returns the conda subdir of a platform: linux/amd64 → linux-64,
// linux/arm64 → linux-aarch64.
func Subdir(platform string) (string, error) {
	switch platform {
	case "linux/amd64", "linux-64", "linux/x86_64":
		return "linux-64", nil
	case "linux/arm64", "linux/arm64/v8", "linux-aarch64", "linux/aarch64":
		return "linux-aarch64", nil
	}
	return "", fmt.Errorf("mapping platform %q to a conda subdir: only linux/amd64 and linux/arm64 are supported", platform)
}

func archOf(subdir string) string {
	if subdir == "linux-aarch64" {
		return "aarch64"
	}
	return "x86_64"
}

// Packages returns the virtual records for the image of t, sorted by name:
// __glibc is t's glibc (CONDA_OVERRIDE_GLIBC or DefaultGlibc when t names
// no C library; a musl target is an error, conda packages need glibc),
// __linux is CONDA_OVERRIDE_LINUX or DefaultLinux, and __cuda is cuda (the
// driver version, "12.4"), else CONDA_OVERRIDE_CUDA, else absent. getenv
// reads the CONDA_OVERRIDE_* variables (os.Getenv in production, nil for
// none).
func Packages(t target.Target, cuda string, getenv func(string) string) ([]repodata.Record, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var glibc string
	switch t.Libc {
	case "glibc":
		glibc = t.LibcVersion
	case "":
	default:
		return nil, fmt.Errorf("conda packages need glibc, and the target has %s", t.LibcString())
	}
	subdir, err := Subdir(t.Platform)
	if err != nil {
		return nil, err
	}
	pick := func(given, env, def string) string {
		if given != "" {
			return given
		}
		if v := strings.TrimSpace(getenv(env)); v != "" {
			return v
		}
		return def
	}
	glibc = pick(glibc, "CONDA_OVERRIDE_GLIBC", DefaultGlibc)
	linux := pick("", "CONDA_OVERRIDE_LINUX", DefaultLinux)
	cuda = pick(cuda, "CONDA_OVERRIDE_CUDA", "")

	var out []repodata.Record
	add := func(name, ver, build string) error {
		r := repodata.Record{Name: name, Version: ver, Build: build, Subdir: subdir, Channel: Channel,
			Fn: name + "-" + ver + "-" + build}
		v, err := version.Parse(ver)
		if err != nil {
			return fmt.Errorf("making virtual package %s: %w", name, err)
		}
		r.ParsedVersion = v
		out = append(out, r)
		return nil
	}
	if err := add("__archspec", "1", archOf(subdir)); err != nil {
		return nil, err
	}
	if cuda != "" {
		if err := add("__cuda", cuda, "0"); err != nil {
			return nil, err
		}
	}
	if err := add("__glibc", glibc, "0"); err != nil {
		return nil, err
	}
	if err := add("__linux", linux, "0"); err != nil {
		return nil, err
	}
	if err := add("__unix", "0", "0"); err != nil {
		return nil, err
	}
	return out, nil
}
