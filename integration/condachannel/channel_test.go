package condachannel

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/builder/installer"
	"github.com/envbuild/envbuild/builder/layout"
	"github.com/envbuild/envbuild/lock/conda/envlock"
	"github.com/envbuild/envbuild/lock/target"
)

const placeholder = "/tmp/build/_h_env_placehold_placehold_placehold"

func testPackages() []Package {
	return []Package{
		{Name: "prog", Version: "1.0", Build: "h0_0", Subdir: "linux-64", Format: "conda", Files: []File{
			{Path: "bin/prog", Data: []byte("\x7fELF\x00" + placeholder + "/share\x00\x00tail"), Exec: true, Placeholder: placeholder, PlaceholderMode: "binary"},
			{Path: "etc/prog.conf", Data: []byte("prefix=" + placeholder + "\n"), Placeholder: placeholder, PlaceholderMode: "text"},
			{Path: "bin/prog-link", Symlink: "prog"},
		}},
		{Name: "hello", Version: "1.0", Build: "pyh_0", Subdir: "noarch", Noarch: "python", Format: "tar.bz2", Depends: []string{"prog"},
			EntryPoints: []string{"hello = hello:main"},
			Files:       []File{{Path: "site-packages/hello.py", Data: []byte("def main():\n    print('hi')\n")}}},
	}
}

// The channel's packages install with envbuild's own installer, and its
// repodata locks with envlock: both formats are valid.
func TestChannelInstallsAndLocks(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, testPackages()); err != nil {
		if err == ErrNoBzip2 {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, p := range testPackages() {
		src := filepath.Join(dir, p.Subdir, p.Filename())
		if _, err := installer.InstallConda(src, root, installer.CondaOptions{Python: "3.11"}); err != nil {
			t.Fatalf("installing %s: %v", p.Filename(), err)
		}
	}
	prefix := filepath.Join(root, layout.Prefix)
	bin, err := os.ReadFile(filepath.Join(prefix, "bin/prog"))
	if err != nil {
		t.Fatal(err)
	}
	wantBin := "\x7fELF\x00" + layout.Prefix + "/share" + strings.Repeat("\x00", len(placeholder)-len(layout.Prefix)) + "\x00\x00tail"
	if !bytes.Equal(bin, []byte(wantBin)) {
		t.Errorf("bin/prog = %q, want %q", bin, wantBin)
	}
	if conf, _ := os.ReadFile(filepath.Join(prefix, "etc/prog.conf")); string(conf) != "prefix="+layout.Prefix+"\n" {
		t.Errorf("etc/prog.conf = %q", conf)
	}
	if l, err := os.Readlink(filepath.Join(prefix, "bin/prog-link")); err != nil || l != "prog" {
		t.Errorf("bin/prog-link -> %q, %v", l, err)
	}
	if _, err := os.Stat(filepath.Join(prefix, "lib/python3.11/site-packages/hello.py")); err != nil {
		t.Errorf("noarch module not relocated: %v", err)
	}
	if ep, err := os.ReadFile(filepath.Join(prefix, "bin/hello")); err != nil || !strings.HasPrefix(string(ep), "#!"+layout.Python) {
		t.Errorf("entry point: %q, %v", ep, err)
	}

	srv := Serve(dir)
	defer srv.Close()
	pkgs, err := envlock.Lock(context.Background(), envlock.Request{Specs: []string{"hello"}, Channels: []string{srv.URL},
		Target: target.Target{Platform: "linux/amd64", Libc: "glibc", LibcVersion: "2.36"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pkgs {
		got = append(got, p.Filename)
	}
	if strings.Join(got, " ") != "hello-1.0-pyh_0.tar.bz2 prog-1.0-h0_0.conda" {
		t.Errorf("locked %q", got)
	}
}

func TestArchiveRefusesBadInput(t *testing.T) {
	for _, p := range []Package{
		{Name: "x", Version: "1", Build: "0", Subdir: "noarch", Format: "zip"},
		{Name: "x", Version: "1", Subdir: "noarch", Format: "conda"},
		{Name: "x", Version: "1", Build: "0", Subdir: "noarch", Format: "conda", Files: []File{{Path: "../escape", Data: []byte("x")}}},
		{Name: "x", Version: "1", Build: "0", Subdir: "noarch", Format: "conda", Files: []File{{Path: "a", Data: []byte("x"), Placeholder: "/nowhere"}}},
	} {
		if _, err := Archive(p); err == nil {
			t.Errorf("Archive(%+v) gave no error", p)
		}
	}
}
