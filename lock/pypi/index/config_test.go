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

func TestParseNetrc(t *testing.T) {
	tests := []struct {
		name, text, host string
		want             netrcEntry
		found            bool
	}{
		{"one line", "machine a.example login u password p", "a.example", netrcEntry{"u", "p"}, true},
		{"multi-line with comment", "# creds\nmachine a.example\n\tlogin u # me\n\tpassword p\n", "a.example", netrcEntry{"u", "p"}, true},
		{"port stripped", "machine 127.0.0.1 login u password p", "127.0.0.1:8080", netrcEntry{"u", "p"}, true},
		{"exact host:port first", "machine h login a password b\nmachine h:1 login c password d", "h:1", netrcEntry{"c", "d"}, true},
		{"default", "machine a login u password p\ndefault login d password dp", "b", netrcEntry{"d", "dp"}, true},
		{"first entry wins", "machine a login u1 password p1\nmachine a login u2 password p2", "a", netrcEntry{"u1", "p1"}, true},
		{"macdef skipped", "macdef init\ncd /pub\nmachine fake login x\n\nmachine a login u password p", "a", netrcEntry{"u", "p"}, true},
		{"account ignored", "machine a login u account acct password p", "a", netrcEntry{"u", "p"}, true},
		{"missing", "machine a login u password p", "b", netrcEntry{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := parseNetrc(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			got, found := n.lookup(tt.host)
			if got != tt.want || found != tt.found {
				t.Errorf("lookup(%q) = %v, %v; want %v, %v", tt.host, got, found, tt.want, tt.found)
			}
		})
	}
	for _, bad := range []string{"machine", "login u", "machine a login", "machine a frobnicate x"} {
		if _, err := parseNetrc(bad); err == nil {
			t.Errorf("parseNetrc(%q) gave no error", bad)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://user:pass@host/simple", "https://user:****@host/simple"},
		{"https://token@host/simple", "https://****@host/simple"},
		{"https://host/simple", "https://host/simple"},
		{"https://us%40er:p%3Ass@host/", "https://us%40er:****@host/"},
		{`Get "https://a:b@x/y": fail; also http://c:d@z/`, `Get "https://a:****@x/y": fail; also http://c:****@z/`},
		{"email me at bob@example.com", "email me at bob@example.com"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
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
