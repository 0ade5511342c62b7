package repodata

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A private channel, behind basic auth or a /t/<token>/ prefix: the fetch
// uses the credentials, and the channel's name and URL, the records' URLs,
// the cache and the errors are without them.
func TestPrivateChannel(t *testing.T) {
	const user, pass, token = "alice", "S3cret-pass", "tk-0123456789abcdef"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if rest, ok := strings.CutPrefix(p, "/t/"+token+"/"); ok {
			p = "/" + rest
		} else if u, pw, ok := r.BasicAuth(); !ok || u != user || pw != pass {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		if p == "/private/noarch/repodata.json" {
			w.Write([]byte(noarchRepodata))
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	clean := srv.URL + "/private"
	for _, tc := range []struct{ name, url string }{
		{"basic", "http://" + user + ":" + pass + "@" + host + "/private"},
		{"token", srv.URL + "/t/" + token + "/private"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chs, err := ResolveChannels([]string{tc.url}, "")
			if err != nil {
				t.Fatal(err)
			}
			ch := chs[0]
			if ch.Name != clean || ch.URL != clean || ch.Auth != tc.url {
				t.Fatalf("channel %+v; want name and URL %s", ch, clean)
			}
			cache := t.TempDir()
			recs, err := NewFetcher(cache, WithBackoff(time.Millisecond), WithNetrc(filepath.Join(cache, "none"))).Fetch(context.Background(), ch, "noarch", "linux-64")
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 1 || recs[0].URL != clean+"/noarch/six-1.16.0-pyh_0.conda" || recs[0].Channel != clean {
				t.Errorf("records %+v; want the URL and channel without credentials", recs)
			}
			filepath.Walk(cache, func(p string, info os.FileInfo, err error) error {
				if err == nil && !info.IsDir() {
					data, _ := os.ReadFile(p)
					if strings.Contains(string(data), pass) || strings.Contains(string(data), token) {
						t.Errorf("cache file %s holds the secret", p)
					}
				}
				return nil
			})
		})
	}
	t.Run("refused", func(t *testing.T) {
		bad := "http://" + user + ":wrong-pass@" + host + "/private"
		chs, _ := ResolveChannels([]string{bad, srv.URL + "/t/wrong-token/private"}, "")
		for _, ch := range chs {
			_, err := NewFetcher("", WithRetries(0), WithNetrc(filepath.Join(t.TempDir(), "none"))).Fetch(context.Background(), ch, "noarch")
			if err == nil {
				t.Fatalf("%s: no error", ch.URL)
			}
			msg := err.Error()
			if strings.Contains(msg, "wrong-pass") || strings.Contains(msg, "wrong-token") || !strings.Contains(msg, "401") || !strings.Contains(msg, clean) {
				t.Errorf("error %q: want the 401 and the channel %s, without the secret", msg, clean)
			}
		}
	})
	t.Run("netrc", func(t *testing.T) {
		netrc := filepath.Join(t.TempDir(), "netrc")
		os.WriteFile(netrc, []byte("machine 127.0.0.1 login "+user+" password "+pass+"\n"), 0o600)
		chs, _ := ResolveChannels([]string{clean}, "")
		if _, err := NewFetcher("", WithNetrc(netrc)).Fetch(context.Background(), chs[0], "noarch"); err != nil {
			t.Errorf("with netrc: %v", err)
		}
	})
}
