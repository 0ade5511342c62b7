package index

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/lock/failure"
)

func TestFromPipConfig(t *testing.T) {
	home := t.TempDir()
	write := func(rel, text string) string {
		p := filepath.Join(home, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("user/.config/pip/pip.conf", "[global]\nindex-url = https://user.example/simple\nextra-index-url =\n  https://e1.example/simple\n  https://e2.example/simple\n")
	write("both/.pip/pip.conf", "[global]\nindex-url = https://legacy.example/simple\n")
	write("both/.config/pip/pip.conf", "[global]\nindex_url: https://new.example/simple\n")
	write("install/.config/pip/pip.conf", "[install]\nindex-url = https://install.example/simple\n")
	write("install/venv/pip.conf", "[global]\nindex-url = https://global.example/simple\n")
	envFile := write("envfile.conf", "[global]\nindex-url = https://envfile.example/simple\n")
	xdgDir := write("xdg/pip/pip.conf", "[global]\nindex-url = https://xdg.example/simple\n")
	bad := write("bad.conf", "[global]\nindex-url = ftp://nope.example/simple\n")
	garbled := write("garbled.conf", "index-url = https://x.example/\n")

	tests := []struct {
		name  string
		env   map[string]string
		index string
		extra []string
		want  []Index
	}{
		{"default", map[string]string{"HOME": filepath.Join(home, "none")}, "", nil,
			[]Index{{"pypi", "https://pypi.org/simple"}}},
		{"flags win", map[string]string{"HOME": filepath.Join(home, "user"), "PIP_INDEX_URL": "https://env.example/simple"},
			"https://flag.example/simple", []string{"https://x1.example/simple"},
			[]Index{{"pypi", "https://flag.example/simple"}, {"extra-1", "https://x1.example/simple"}}},
		{"env beats config, extras split on whitespace", map[string]string{"HOME": filepath.Join(home, "user"),
			"PIP_INDEX_URL": "https://env.example/simple", "PIP_EXTRA_INDEX_URL": " https://a.example/simple\n\thttps://b.example/simple "}, "", nil,
			[]Index{{"pypi", "https://env.example/simple"}, {"extra-1", "https://a.example/simple"}, {"extra-2", "https://b.example/simple"}}},
		{"user config with multi-line extras", map[string]string{"HOME": filepath.Join(home, "user")}, "", nil,
			[]Index{{"pypi", "https://user.example/simple"}, {"extra-1", "https://e1.example/simple"}, {"extra-2", "https://e2.example/simple"}}},
		{"XDG_CONFIG_HOME file beats ~/.pip, underscores and colons accepted", map[string]string{"HOME": filepath.Join(home, "both")}, "", nil,
			[]Index{{"pypi", "https://new.example/simple"}}},
		{"[install] beats [global] of a later file", map[string]string{"HOME": filepath.Join(home, "install"), "VIRTUAL_ENV": filepath.Join(home, "install", "venv")}, "", nil,
			[]Index{{"pypi", "https://install.example/simple"}}},
		{"PIP_CONFIG_FILE beats and hides user files", map[string]string{"HOME": filepath.Join(home, "user"), "PIP_CONFIG_FILE": envFile}, "", nil,
			[]Index{{"pypi", "https://envfile.example/simple"}}},
		{"PIP_CONFIG_FILE=/dev/null reads nothing", map[string]string{"HOME": filepath.Join(home, "user"), "PIP_CONFIG_FILE": os.DevNull}, "", nil,
			[]Index{{"pypi", "https://pypi.org/simple"}}},
		{"XDG_CONFIG_DIRS", map[string]string{"HOME": filepath.Join(home, "none"), "XDG_CONFIG_DIRS": filepath.Dir(filepath.Dir(xdgDir))}, "", nil,
			[]Index{{"pypi", "https://xdg.example/simple"}}},
		{"duplicates dropped", map[string]string{"HOME": filepath.Join(home, "none")}, "https://a.example/simple/",
			[]string{"https://a.example/simple", "https://b.example/simple", "https://b.example/simple"},
			[]Index{{"pypi", "https://a.example/simple/"}, {"extra-1", "https://b.example/simple"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := tt.env["XDG_CONFIG_DIRS"]; !ok {
				tt.env["XDG_CONFIG_DIRS"] = filepath.Join(home, "no-xdg")
			}
			got, err := FromPipConfig(tt.env, tt.index, tt.extra)
			if err != nil {
				t.Fatal(err)
			}
			if etcNamesIndex(t) && tt.env["PIP_CONFIG_FILE"] == "" {
				t.Skip("this machine's /etc/pip.conf names an index, which every case but PIP_CONFIG_FILE's would see")
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	errTests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"bad scheme in config", map[string]string{"PIP_CONFIG_FILE": bad}, `reading the index URL from ` + bad + `: index URL "ftp://nope.example/simple" must start with https:// or http://`},
		{"key before section", map[string]string{"PIP_CONFIG_FILE": garbled}, `reading pip configuration "` + garbled + `": line 1: key "index-url" before any [section]`},
		{"credentials redacted", map[string]string{"PIP_INDEX_URL": "https://u:topsecret@/simple"}, `reading the index URL from PIP_INDEX_URL: index URL "https://u:****@/simple" has no host`},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			tt.env["HOME"] = filepath.Join(home, "none")
			tt.env["XDG_CONFIG_DIRS"] = filepath.Join(home, "no-xdg")
			_, err := FromPipConfig(tt.env, "", nil)
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v\nwant %s", err, tt.want)
			}
			if failure.KindOf(err) != failure.KindUser {
				t.Errorf("got kind %v, want user", failure.KindOf(err))
			}
		})
	}
}

// etcNamesIndex reports whether /etc/pip.conf sets an index, which the
// cases above do not expect.
func etcNamesIndex(t *testing.T) bool {
	data, err := os.ReadFile("/etc/pip.conf")
	if err != nil {
		return false
	}
	found := false
	parseINI(data, func(_, k, _ string) { found = found || strings.Contains(strings.ReplaceAll(k, "_", "-"), "index-url") })
	return found
}

func TestParseINIErrors(t *testing.T) {
	for _, text := range []string{"  continued\n", "[global\n", "[global]\nnovalue\n"} {
		if err := parseINI([]byte(text), func(string, string, string) {}); err == nil {
			t.Errorf("parseINI(%q) gave no error", text)
		}
	}
	var got []string
	parseINI([]byte("; c\n[global]\n# c\nkey = a = b\nother:x\n"), func(s, k, v string) { got = append(got, s+"."+k+"="+v) })
	if want := "global.key=a = b global.other=x"; strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
}
