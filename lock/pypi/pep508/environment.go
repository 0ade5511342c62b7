package pep508

import (
	"fmt"
	"strings"
)

// Environment maps marker variable names (VarPythonVersion, ...) to their
// values on a target. A missing variable reads as "".
type Environment map[string]string

// EnvironmentFor returns the marker environment of a Linux target, as the
// interpreter there would report it, from what a lock target knows:
//
//   - pythonFullVersion: "3.11.2" (a trailing "t" for free-threaded builds
//     is dropped); python_version is its first two segments.
//   - implementation: "cpython" or "pypy" (case-insensitive), giving
//     implementation_name ("cpython") and platform_python_implementation
//     ("CPython"). implementation_version is pythonFullVersion, which is
//     right for CPython; for PyPy it is the PyPy version, which the caller
//     must set when it knows it.
//   - arch: "x86_64" or "aarch64" (the OCI names "amd64" and "arm64" are
//     accepted) for platform_machine.
//
// os_name is "posix", sys_platform "linux", platform_system "Linux".
// platform_release (the kernel release) and platform_version (the kernel
// build string) depend on the machine that runs the image, not on its
// files, so they are "": markers comparing them only hold for "" (and the
// "!=" of any other value).
func EnvironmentFor(pythonFullVersion, implementation, arch string) (Environment, error) {
	full := strings.TrimSuffix(strings.TrimSpace(pythonFullVersion), "t")
	parts := strings.Split(full, ".")
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return nil, fmt.Errorf("building marker environment for Python %q: want X.Y or X.Y.Z, like 3.11.2", pythonFullVersion)
	}
	var implName, platImpl string
	switch strings.ToLower(implementation) {
	case "cpython", "cp", "":
		implName, platImpl = "cpython", "CPython"
	case "pypy", "pp":
		implName, platImpl = "pypy", "PyPy"
	default:
		return nil, fmt.Errorf("building marker environment for implementation %q: want cpython or pypy", implementation)
	}
	var machine string
	switch arch {
	case "x86_64", "amd64":
		machine = "x86_64"
	case "aarch64", "arm64":
		machine = "aarch64"
	default:
		return nil, fmt.Errorf("building marker environment for architecture %q: want x86_64 (amd64) or aarch64 (arm64)", arch)
	}
	return Environment{
		VarOSName:                       "posix",
		VarSysPlatform:                  "linux",
		VarPlatformSystem:               "Linux",
		VarPlatformMachine:              machine,
		VarPlatformRelease:              "",
		VarPlatformVersion:              "",
		VarPlatformPythonImplementation: platImpl,
		VarImplementationName:           implName,
		VarImplementationVersion:        full,
		VarPythonVersion:                parts[0] + "." + parts[1],
		VarPythonFullVersion:            full,
	}, nil
}
