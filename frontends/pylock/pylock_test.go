package pylock

import (
	"strings"
	"testing"
)

func TestLoadUVExport(t *testing.T) {
	r, err := Load("testdata/pylock.toml")
	if err != nil {
		t.Fatal(err)
	}
	if r.Roots != nil || r.RequiresPython != ">=3.10" {
		t.Errorf("roots %v requires-python %q", r.Roots, r.RequiresPython)
	}
	names := map[string]string{}
	for _, p := range r.Packages {
		names[p.Name] = p.Marker
		for _, w := range p.Wheels {
			if len(w.Sha256) != 64 || !strings.HasSuffix(w.Filename, ".whl") {
				t.Errorf("%s: wheel %+v", p.Name, w)
			}
		}
	}
	if _, ok := names["pysocks"]; !ok {
		t.Errorf("pysocks (the socks extra) missing: %v", names)
	}
	if names["tomli"] == "" {
		t.Errorf("tomli has no marker")
	}
}

func TestNameRE(t *testing.T) {
	for n, want := range map[string]bool{"pylock.toml": true, "pylock.dev.toml": true, "pylock.a.b.toml": false, "pylock.txt": false} {
		if NameRE.MatchString(n) != want {
			t.Errorf("%s: want %v", n, want)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"version", "lock-version = '2.0'\ncreated-by='x'\n", "p.toml:1: lock-version \"2.0\""},
		{"vcs", "lock-version = '1.0'\ncreated-by='x'\n[[packages]]\nname='a'\nvcs = { type='git', url='https://x', commit-id='abc' }\n", "p.toml:3: a comes from version control"},
		{"directory", "lock-version = '1.0'\ncreated-by='x'\n[[packages]]\nname='a'\ndirectory = { path='.' }\n", "p.toml:3: a is a local directory"},
		{"no hashes", "lock-version = '1.0'\ncreated-by='x'\n[[packages]]\nname='a'\nversion='1'\nwheels=[{url='https://x/a-1-py3-none-any.whl', hashes={}}]\n", "has no hashes"},
		{"no version", "lock-version = '1.0'\ncreated-by='x'\n[[packages]]\nname='a'\nwheels=[{url='https://x/a-1-py3-none-any.whl', hashes={sha256='00'}}]\n", "has no version"},
		{"extras marker", "lock-version = '1.0'\ncreated-by='x'\n[[packages]]\nname='a'\nversion='1'\nmarker=\"'x' in extras\"\nwheels=[{url='https://x/a-1-py3-none-any.whl', hashes={sha256='00'}}]\n", "cannot be evaluated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src), "p.toml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("lock-version = '1.0'\ncreated-by='x'\n[[packages]]\nname='a'\nversion='1'\nmarker=\"sys_platform == 'linux'\"\nwheels=[{url='https://x/a-1-py3-none-any.whl', hashes={sha256='00'}}]\n")
	f.Add("lock-version = '1.0'\nenvironments = [\"python_version >= '3.10'\"]\ncreated-by='x'\n")
	f.Fuzz(func(t *testing.T, src string) {
		_, _ = Parse([]byte(src), "p.toml")
	})
}
