package build

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/envbuild/envbuild/lock/failure"
)

// executable is os.Executable, replaced in tests.
var executable = os.Executable

// InstallCommand installs a static envbuild with the Go toolchain.
const InstallCommand = "CGO_ENABLED=0 go install github.com/envbuild/envbuild/cmd/envbuild@latest"

// InstallerName is the installer's file name inside its directory.
const InstallerName = "envbuild"

// embedded returns a static Linux envbuild binary for arch, when this
// build of envbuild carries one (embedded_installers.go, built by `make
// dist` with -tags embedinstaller); nil otherwise.
var embedded = func(arch string) []byte { return nil }

// installerDir returns a directory holding only a static Linux envbuild
// binary that runs on hostPlatform: this very program when it is one
// (Linux, same architecture, no dynamic loader), else a copy embedded at
// build time (`make dist` embeds both architectures). The directory is
// keyed by the binary's hash, so BuildKit's cache sees the same content
// for the same program.
func installerDir(cacheDir, hostPlatform string) (string, error) {
	arch := strings.SplitN(hostPlatform+"/", "/", 3)[1]
	var data []byte
	dynamic := ""
	if runtime.GOOS == "linux" && runtime.GOARCH == arch {
		self, err := executable()
		if err == nil && isStatic(self) {
			data, err = os.ReadFile(self)
			if err != nil {
				return "", fmt.Errorf("reading %s to send it to BuildKit: %w", self, err)
			}
		} else if err == nil {
			dynamic = self
		}
	}
	if data == nil {
		data = embedded(arch)
	}
	if data == nil && dynamic != "" {
		// `go install` links against the C library where a C compiler is
		// installed; such a binary cannot run on BuildKit's empty root.
		return "", failure.User(fmt.Errorf("%s is linked against the C library (a cgo build, as `go install` makes where gcc is installed), so it cannot run inside BuildKit as the installer; reinstall it static: `%s`", dynamic, InstallCommand))
	}
	if data == nil {
		return "", failure.User(fmt.Errorf("BuildKit runs on %s, and this envbuild has no static linux/%s build of itself to run there as the installer; use a build made by `make dist` (it carries both Linux installers), or on Linux/%s `make build` or `%s`", hostPlatform, arch, arch, InstallCommand))
	}
	sum := sha256.Sum256(data)
	dir := filepath.Join(cacheDir, "installer", hex.EncodeToString(sum[:12]))
	dst := filepath.Join(dir, InstallerName)
	if fi, err := os.Stat(dst); err == nil && fi.Size() == int64(len(data)) {
		return dir, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", err
	}
	tmp.Close()
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", err
	}
	return dir, nil
}

// isStatic reports whether the ELF file at path has no dynamic loader, so
// it runs on an empty root file system.
func isStatic(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}
