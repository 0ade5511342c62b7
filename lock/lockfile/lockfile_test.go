package lockfile

import (
	"bytes"
	"github.com/envbuild/envbuild/lock/target"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sample() *File {
	return &File{LockVersion: Version, Envs: []Env{
		{Name: "train", SpecDigest: "sha256:bb", Targets: []Target{
			{Target: target.Target{Platform: "linux/arm64", Python: "3.11.2", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36"}},
			{Target: target.Target{Platform: "linux/amd64", Python: "3.11.2", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36", Base: "r/b@sha256:00", Interpreter: "/usr/bin/python3.11"}, PythonSource: PythonFromBase,
				Packages: []Package{
					{Name: "six", Version: "1.16.0", Source: SourcePyPI, Kind: KindWheel, URL: "https://x/six.whl", Filename: "six-1.16.0-py2.py3-none-any.whl", Sha256: strings.Repeat("a", 64), Size: 11053},
					{Name: "requests", Version: "2.32.3", Source: SourcePyPI, Kind: KindWheel, URL: "https://x/r.whl", Filename: "requests-2.32.3-py3-none-any.whl", Sha256: strings.Repeat("b", 64), Size: 64928, Depends: []string{"urllib3", "idna"}, Requested: true, Index: "pypi"},
				}},
		}},
		{Name: "default", SpecDigest: "sha256:aa"},
	}}
}

func TestMarshalIsCanonicalAndRoundTrips(t *testing.T) {
	a := sample().Marshal()
	if !bytes.HasSuffix(a, []byte("\n")) || bytes.HasSuffix(a, []byte("\n\n")) {
		t.Errorf("lock does not end with exactly one newline")
	}
	if i, j := bytes.Index(a, []byte(`name = "default"`)), bytes.Index(a, []byte(`name = "train"`)); i < 0 || j < i {
		t.Errorf("environments not sorted")
	}
	if i, j := bytes.Index(a, []byte(`platform = "linux/amd64"`)), bytes.Index(a, []byte(`platform = "linux/arm64"`)); j < i {
		t.Errorf("targets not sorted")
	}
	if i, j := bytes.Index(a, []byte(`name = "requests"`)), bytes.Index(a, []byte(`name = "six"`)); j < i {
		t.Errorf("packages not sorted")
	}
	if !bytes.Contains(a, []byte(`depends = ["idna", "urllib3"]`)) {
		t.Errorf("depends not sorted:\n%s", a)
	}
	f, err := Parse("envbuild.lock", a)
	if err != nil {
		t.Fatal(err)
	}
	if b := f.Marshal(); !bytes.Equal(a, b) {
		t.Errorf("round trip changed the bytes:\n%s\n----\n%s", a, b)
	}
	if sample().Digest() != f.Digest() {
		t.Errorf("digest changed after round trip")
	}
}

func TestParseStrict(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"unknown key", "lock-version = 1\nfoo = 2\n", `unknown key "foo"`},
		{"version", "lock-version = 9\n", "lock-version 9 is not supported"},
		{"bad sha", "lock-version = 1\n[[env]]\nname=\"a\"\nspec-digest=\"x\"\n[[env.target]]\nplatform=\"linux/amd64\"\npython=\"3.11.0\"\nimplementation=\"cpython\"\nlibc=\"glibc 2.28\"\n[[env.target.package]]\nname=\"a\"\nversion=\"1\"\nsource=\"pypi\"\nkind=\"wheel\"\nurl=\"u\"\nfilename=\"f\"\nsha256=\"abc\"\nsize=1\ndepends=[]\n", "has no valid sha256"},
		{"sha as a path", lockWithSha("../../../../tmp/x/" + strings.Repeat("0", 47)), "has no valid sha256"},
		{"uppercase sha", lockWithSha(strings.Repeat("AB", 32)), "64 lowercase hex digits"},
	} {
		_, err := Parse("envbuild.lock", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

// lockWithSha is a one-package lock whose sha256 is sum.
func lockWithSha(sum string) string {
	return "lock-version = 1\n[[env]]\nname=\"a\"\nspec-digest=\"x\"\n[[env.target]]\nplatform=\"linux/amd64\"\npython=\"3.11.0\"\nimplementation=\"cpython\"\nlibc=\"glibc 2.28\"\n[[env.target.package]]\nname=\"a\"\nversion=\"1\"\nsource=\"pypi\"\nkind=\"wheel\"\nurl=\"u\"\nfilename=\"f\"\nsha256=\"" + sum + "\"\nsize=1\ndepends=[]\n"
}

func TestIsSha256(t *testing.T) {
	for s, want := range map[string]bool{
		strings.Repeat("0123456789abcdef", 4): true,
		strings.Repeat("0123456789ABCDEF", 4): false,
		strings.Repeat("a", 63):               false,
		strings.Repeat("a", 65):               false,
		strings.Repeat("a", 62) + "/.":        false,
		strings.Repeat("a", 63) + "g":         false,
		"":                                    false,
	} {
		if IsSha256(s) != want {
			t.Errorf("IsSha256(%q) = %v", s, !want)
		}
	}
}

func TestWriteIsAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "envbuild.lock")
	if err := Write(p, sample()); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	f, err := Read(p)
	if err != nil || f.Env("train").Target("linux/arm64/v8") == nil {
		t.Errorf("read back: %v, %+v", err, f)
	}
	if f, err := Read(filepath.Join(dir, "none.lock")); f != nil || err != nil {
		t.Errorf("missing lock: %v, %v; want nil, nil", f, err)
	}
}
