package uvlock

import (
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	r, err := Load("testdata/uv.lock", []string{"socks"}, []string{"test"})
	if err != nil {
		t.Fatal(err)
	}
	if r.RequiresPython != ">=3.10" || !strings.HasPrefix(r.Digest, "sha256:") {
		t.Errorf("requires-python %q digest %q", r.RequiresPython, r.Digest)
	}
	roots := map[string]bool{}
	for _, d := range r.Roots {
		roots[d.Name] = true
	}
	for _, n := range []string{"requests", "tomli", "colorama", "iniconfig"} {
		if !roots[n] {
			t.Errorf("root %s missing: %+v", n, r.Roots)
		}
	}
	for _, p := range r.Packages {
		if p.Name == "report-service" {
			t.Errorf("the project itself is a package")
		}
		if len(p.Wheels) == 0 && p.Sdist == nil {
			t.Errorf("%s has no files", p.Name)
		}
		if !strings.HasPrefix(p.Where, "testdata/uv.lock:") {
			t.Errorf("where %q", p.Where)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src    string
		extra, group []string
		want         string
	}{
		{"version", "version = 2\n", nil, nil, "envbuild reads uv.lock version 1"},
		{"no root", "version = 1\n[[package]]\nname = 'a'\nversion = '1'\nsource = { registry = 'https://pypi.org/simple' }\n", nil, nil, "no package is the project itself"},
		{"unknown extra", "version = 1\n[[package]]\nname = 'p'\nversion = '1'\nsource = { virtual = '.' }\n", []string{"gpu"}, nil, "u.lock:2: --extra gpu"},
		{"unknown group", "version = 1\n[[package]]\nname = 'p'\nversion = '1'\nsource = { editable = '.' }\n", nil, []string{"docs"}, "--group docs"},
		{"md5", "version = 1\n[[package]]\nname = 'a'\nversion = '1'\nsource = { registry = 'https://pypi.org/simple' }\nwheels = [{ url = 'https://x/a-1-py3-none-any.whl', hash = 'md5:00' }]\n", nil, nil, "u.lock:2: a: a-1-py3-none-any.whl has hash \"md5:00\""},
		{"syntax", "version = \n", nil, nil, "u.lock:1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src), "u.lock", tc.extra, tc.group)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("version = 1\n[[package]]\nname = 'p'\nversion = '1'\nsource = { virtual = '.' }\ndependencies = [{ name = 'a', marker = \"python_version < '3.11'\" }]\n[package.optional-dependencies]\nx = [{ name = 'a', extra = ['y'] }]\n")
	f.Add("version = 1\nrequires-python = '>=3.10'\n[[package]]\nname = 'a'\nversion = '1'\nsource = { git = 'https://x' }\n")
	f.Fuzz(func(t *testing.T, src string) {
		_, _ = Parse([]byte(src), "u.lock", []string{"x"}, nil)
	})
}
