// Package target describes what a lock is for: the Python full
// version and implementation, the operating system (always linux), the
// architecture, and the C library kind and version of the image the
// environment will run in. It is read from a base image's files by the
// builder, or built from flags with documented defaults.
//
// Standard library only; it must not import the builder or any network code.
package target

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/envbuild/envbuild/lock/platform"
)

// Target is one platform an environment is locked for.
type Target struct {
	// Platform is the OCI platform, "linux/amd64" or "linux/arm64".
	Platform string
	// Python is the full interpreter version, "3.11.2".
	Python string
	// Implementation is "cpython".
	Implementation string
	// FreeThreaded is set for a free-threaded (3.13t) interpreter.
	FreeThreaded bool
	// Libc is "glibc" or "musl".
	Libc string
	// LibcVersion is "2.36".
	LibcVersion string
	// Interpreter is the path of the base image's interpreter, when the
	// target was read from a base ("/usr/bin/python3.11"); empty otherwise.
	Interpreter string
	// Base is the base image's per-platform reference ("repo@sha256:…"),
	// when the target was read from a base; empty otherwise.
	Base string
}

// Default values used when no base image says otherwise.
const (
	DefaultPlatform    = "linux/amd64"
	DefaultGlibc       = "2.28"
	DefaultImplementer = "cpython"
)

// FromFlags builds a target from --python, --platform and --glibc values,
// applying the documented defaults: X.Y means X.Y.0, platform linux/amd64,
// glibc 2.28.
func FromFlags(python, platform, glibc string) (Target, error) {
	if python == "" {
		return Target{}, fmt.Errorf("no Python version for the lock target: pass --python X.Y, a base image with --base, or a python pin among the conda specs (--conda python=3.11)")
	}
	py, ft, err := NormalizePython(python)
	if err != nil {
		return Target{}, err
	}
	t, err := ForCondaPython(platform, glibc)
	t.Python, t.FreeThreaded = py, ft
	return t, err
}

// ForCondaPython is FromFlags for an environment whose conda specs pin
// python: the target's Python is left empty, for the conda solve to
// choose; the lock records the version it chose.
func ForCondaPython(platform, glibc string) (Target, error) {
	if platform == "" {
		platform = DefaultPlatform
	}
	if _, err := Arch(platform); err != nil {
		return Target{}, err
	}
	if glibc == "" {
		glibc = DefaultGlibc
	}
	if _, _, err := splitMajorMinor(glibc); err != nil {
		return Target{}, fmt.Errorf("reading --glibc %q: want MAJOR.MINOR, like 2.28", glibc)
	}
	return Target{Platform: platform, Implementation: DefaultImplementer, Libc: "glibc", LibcVersion: glibc}, nil
}

// NormalizePython turns "3.11", "3.11.4" or "3.13t" into a full version
// ("3.11.0", "3.11.4", "3.13.0") and whether the free-threaded build is
// asked for.
func NormalizePython(s string) (full string, freeThreaded bool, err error) {
	v := strings.TrimSpace(s)
	if strings.HasSuffix(v, "t") {
		freeThreaded = true
		v = strings.TrimSuffix(v, "t")
	}
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return "", false, fmt.Errorf("reading Python version %q: want X.Y or X.Y.Z, like 3.11", s)
	}
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			return "", false, fmt.Errorf("reading Python version %q: %q is not a number", s, p)
		}
	}
	if len(parts) == 2 {
		parts = append(parts, "0")
	}
	return strings.Join(parts, "."), freeThreaded, nil
}

// Arch maps an OCI platform to the machine name Python reports
// (platform.machine()): linux/amd64 → x86_64, linux/arm64 → aarch64.
func Arch(p string) (string, error) {
	switch platform.Canonical(p) {
	case "linux/amd64":
		return "x86_64", nil
	case "linux/arm64":
		return "aarch64", nil
	}
	return "", fmt.Errorf("unsupported platform %q: envbuild builds linux/amd64 and linux/arm64", p)
}

// Machine is Arch for a target whose platform is known to be valid.
func (t Target) Machine() string {
	a, _ := Arch(t.Platform)
	return a
}

// PythonMajorMinor returns the interpreter's major and minor version.
func (t Target) PythonMajorMinor() (int, int) {
	maj, min, _ := splitMajorMinor(t.Python)
	return maj, min
}

// PythonShort is "3.11" (or "3.13t" for a free-threaded interpreter).
func (t Target) PythonShort() string { return ShortVersion(t.Python, t.FreeThreaded) }

// ShortVersion is a Python version's MAJOR.MINOR ("3.11.2" is "3.11"),
// with "t" for a free-threaded interpreter: the one spelling of an
// environment's Python in paths, layer keys and the installer's flags.
func ShortVersion(version string, freeThreaded bool) string {
	s := version
	if parts := strings.SplitN(version, ".", 3); len(parts) >= 2 {
		s = parts[0] + "." + parts[1]
	}
	if freeThreaded {
		s += "t"
	}
	return s
}

// LibcString is the C library as people (and the lock file) spell it:
// "glibc 2.36".
func (t Target) LibcString() string { return t.Libc + " " + t.LibcVersion }

// String is a human description: "CPython 3.11.2 on linux/amd64 (glibc 2.36)".
func (t Target) String() string {
	ft := ""
	if t.FreeThreaded {
		ft = " free-threaded"
	}
	return fmt.Sprintf("CPython %s%s on %s (%s)", t.Python, ft, t.Platform, t.LibcString())
}

// Equal reports whether two targets would lock to the same artifacts: same
// Python full version and implementation, platform and libc.
func (t Target) Equal(o Target) bool {
	return t.Python == o.Python && t.Implementation == o.Implementation && t.FreeThreaded == o.FreeThreaded &&
		platform.Same(t.Platform, o.Platform) && t.Libc == o.Libc && t.LibcVersion == o.LibcVersion
}

func splitMajorMinor(s string) (int, int, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return 0, 0, fmt.Errorf("version %q has no minor part", s)
	}
	maj, err := strconv.Atoi(parts[0])
	if err != nil {
		return 0, 0, err
	}
	min, err := strconv.Atoi(parts[1])
	if err != nil {
		return 0, 0, err
	}
	return maj, min, nil
}
