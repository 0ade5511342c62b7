package build

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestInstallerForAnotherArchitecture(t *testing.T) {
	other := "linux/arm64"
	if runtime.GOARCH == "arm64" {
		other = "linux/amd64"
	}
	saved := embedded
	defer func() { embedded = saved }()

	embedded = func(string) []byte { return nil }
	if _, err := installerDir(t.TempDir(), other); err == nil || !strings.Contains(err.Error(), "make dist") {
		t.Errorf("no embedded installer for %s: err %v, want one saying how to build one", other, err)
	}

	embedded = func(arch string) []byte { return []byte("installer for " + arch) }
	dir, err := installerDir(t.TempDir(), other)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, InstallerName))
	if err != nil || string(got) != "installer for "+strings.TrimPrefix(other, "linux/") {
		t.Errorf("installer sent for %s: %q, %v", other, got, err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, InstallerName)); fi.Mode().Perm()&0o111 == 0 {
		t.Errorf("installer is not executable: %v", fi.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the installer directory holds %d files, want only the installer (BuildKit receives all of it)", len(entries))
	}
}

// A cgo build (what `go install` makes where gcc is installed) cannot be
// the installer: the error gives the command that installs a static one.
func TestDynamicSelfSaysHowToInstall(t *testing.T) {
	dyn := "/bin/sh"
	if isStatic(dyn) {
		t.Skipf("%s is static here; no dynamic ELF to stand for a cgo build", dyn)
	}
	savedExe, savedEmb := executable, embedded
	defer func() { executable, embedded = savedExe, savedEmb }()
	executable = func() (string, error) { return dyn, nil }
	embedded = func(string) []byte { return nil }
	_, err := installerDir(t.TempDir(), "linux/"+runtime.GOARCH)
	if runtime.GOOS != "linux" {
		return
	}
	if err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0 go install github.com/envbuild/envbuild/cmd/envbuild@latest") || !strings.Contains(err.Error(), "C library") {
		t.Errorf("a dynamic envbuild: %v", err)
	}
}
