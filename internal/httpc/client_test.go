package httpc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var ctx = context.Background()

func newClient(t *testing.T, o Options) *Client {
	t.Helper()
	if o.Backoff == 0 {
		o.Backoff = time.Millisecond
	}
	if o.Netrc == "" {
		o.Netrc = filepath.Join(t.TempDir(), "no-netrc")
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func get(c *Client, u string) (string, error) {
	var body string
	err := c.Send(ctx, u, func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	}, func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			return &StatusError{URL: u, Status: resp.StatusCode, Tries: 1}
		}
		b, err := ReadBody(resp)
		body = string(b)
		return err
	})
	return body, err
}

func TestRetries(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case 2:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case 3:
			// A connection reset: the server hangs up mid-answer.
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart"))
			conn.Close()
		default:
			io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	start := time.Now()
	body, err := get(newClient(t, Options{}), srv.URL+"/x")
	if err != nil || body != "ok" || n.Load() != 4 {
		t.Fatalf("got %q, %v after %d requests; want ok after 4", body, err, n.Load())
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("took %v: the 429's Retry-After of 1s was not honoured", d)
	}

	n.Store(-100) // every answer a 503 from here on
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, "busy", http.StatusServiceUnavailable)
	})
	_, err = get(newClient(t, Options{Retries: 2}), srv.URL+"/x")
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 503 || se.Tries != 3 {
		t.Errorf("err = %v; want a 503 after 3 tries", err)
	}
	n.Store(0)
	_, err = get(newClient(t, Options{Retries: -1}), srv.URL+"/x")
	if !errors.As(err, &se) || se.Tries != 1 || n.Load() != 1 {
		t.Errorf("Retries -1: err = %v after %d requests; want one try", err, n.Load())
	}
}

func TestNotRetried(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer srv.Close()
	_, err := get(newClient(t, Options{Noun: "conda channel"}), srv.URL+"/x")
	var ae *AuthError
	if !errors.As(err, &ae) || n.Load() != 1 || !strings.Contains(err.Error(), "put them in the conda channel URL") {
		t.Errorf("err = %v after %d requests; want one AuthError", err, n.Load())
	}
}

// A 304 reuses the cached entry; ETag and Last-Modified are sent back;
// the stored entry holds neither credentials nor a token.
func TestCacheRevalidates(t *testing.T) {
	var full, notMod atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"v1"` && r.Header.Get("If-Modified-Since") == "Mon, 02 Jan 2006 15:04:05 GMT" {
			notMod.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		full.Add(1)
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
		io.WriteString(w, "body")
	}))
	defer srv.Close()
	dir := t.TempDir()
	u, _ := url.Parse(strings.Replace(srv.URL, "http://", "http://alice:s3cret@", 1) + "/t/tk-123abc/chan/repodata.json")
	for i := 0; i < 3; i++ {
		c := newClient(t, Options{CacheDir: dir})
		e, err := c.GetCached(ctx, u, "", "raw", func(b []byte, _ string, _ *url.URL) ([]byte, error) { return b, nil })
		if err != nil || string(e.Body) != "body" {
			t.Fatalf("round %d: %v %q", i, err, e.Body)
		}
	}
	if full.Load() != 1 || notMod.Load() != 2 {
		t.Errorf("%d full answers and %d 304s; want 1 and 2", full.Load(), notMod.Load())
	}
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			data, _ := os.ReadFile(p)
			if strings.Contains(string(data), "s3cret") || strings.Contains(string(data), "tk-123abc") || strings.Contains(string(data), "alice") {
				t.Errorf("cache file %s holds a credential: %s", p, data)
			}
		}
		return nil
	})
	// Offline: the cache alone.
	c := newClient(t, Options{CacheDir: dir, Offline: true})
	if _, err := c.GetCached(ctx, u, "", "raw", nil); err != nil {
		t.Errorf("offline with the entry cached: %v", err)
	}
	other, _ := url.Parse(srv.URL + "/other")
	if _, err := c.GetCached(ctx, other, "", "raw", nil); !errors.Is(err, ErrOffline) {
		t.Errorf("offline without it: %v", err)
	}
}

// The inactivity timeout ends a body that stops, not one that is slow
// but keeps coming; the metadata deadline bounds a request as a whole.
func TestStallTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		w.WriteHeader(http.StatusOK)
		for i := 0; i < 10; i++ {
			if r.URL.Path == "/stall" && i == 3 {
				<-r.Context().Done()
				return
			}
			w.Write([]byte("x"))
			w.(http.Flusher).Flush()
			time.Sleep(60 * time.Millisecond)
		}
	}))
	defer srv.Close()
	c := newClient(t, Options{Timeout: 200 * time.Millisecond, Retries: 1})
	start := time.Now()
	if body, err := get(c, srv.URL+"/slow"); err != nil || body != "xxxxxxxxxx" {
		t.Errorf("a slow body of %v, longer than the timeout: %q, %v", time.Since(start), body, err)
	}
	_, err := get(c, srv.URL+"/stall")
	var te *TransportError
	if !errors.As(err, &te) || te.Timeout != 200*time.Millisecond || te.Tries != 2 || !strings.Contains(err.Error(), "sent nothing for 200ms") {
		t.Errorf("a stalled body: %v; want a TransportError after 2 tries of 200ms silence", err)
	}
	c = newClient(t, Options{Timeout: time.Second, Deadline: 300 * time.Millisecond, Retries: -1})
	err = c.SendMeta(ctx, srv.URL+"/slow", func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/slow", nil)
	}, func(resp *http.Response) error { _, err := ReadBody(resp); return err })
	if !errors.As(err, &te) || !te.Total || !strings.Contains(err.Error(), "did not answer within 300ms") {
		t.Errorf("a metadata request over its deadline: %v", err)
	}
}

// Credentials go to their own host only: those of a URL, else netrc's;
// a redirect to another host drops them; messages never carry them.
func TestCredentialsPerHost(t *testing.T) {
	seen := map[string]string{}
	var other *httptest.Server
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen["a"+r.URL.Path] = r.Header.Get("Authorization")
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, other.URL+"/landed", http.StatusFound)
			return
		}
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "pw-a" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "a")
	}))
	defer a.Close()
	other = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen["b"+r.URL.Path] = r.Header.Get("Authorization")
		io.WriteString(w, "b")
	}))
	defer other.Close()
	hostA := strings.TrimPrefix(a.URL, "http://")
	hostB := strings.TrimPrefix(other.URL, "http://")
	netrc := filepath.Join(t.TempDir(), "netrc")
	os.WriteFile(netrc, []byte("machine "+hostB+" login bob password pw-b\n"), 0o600)

	c := newClient(t, Options{Netrc: netrc, Noun: "index"})
	c.AddCredentials("http://alice:pw-a@"+hostA+"/simple", "the index URL")
	if body, err := get(c, a.URL+"/x"); err != nil || body != "a" {
		t.Errorf("host a with its URL's credentials: %q %v", body, err)
	}
	if body, err := get(c, other.URL+"/y"); err != nil || body != "b" || !strings.HasPrefix(seen["b/y"], "Basic ") {
		t.Errorf("host b with netrc's: %q %v %q", body, err, seen["b/y"])
	}
	get(c, a.URL+"/redirect")
	if seen["b/landed"] == seen["a/redirect"] || seen["b/landed"] != seen["b/y"] {
		t.Errorf("a redirect to host b sent %q; want host b's own credentials, not host a's", seen["b/landed"])
	}

	// Refused: the message names the host and where the credentials came
	// from, never them.
	c = newClient(t, Options{Noun: "index"})
	c.AddCredentials("http://alice:wrong-pw@"+hostA, "the index URL")
	_, err := get(c, a.URL+"/x")
	var ae *AuthError
	if !errors.As(err, &ae) || strings.Contains(err.Error(), "wrong-pw") || !strings.Contains(err.Error(), "the index refused the credentials for "+hostA+" (from the index URL)") {
		t.Errorf("refused credentials: %v", err)
	}
	// A URL's own userinfo is sent, and not printed.
	c = newClient(t, Options{Retries: -1})
	_, err = get(c, "http://alice:pw-a@"+hostA+"/own-userinfo")
	if err != nil {
		t.Errorf("a URL's own credentials: %v", err)
	}
	_, err = get(c, "http://alice:pw-a@127.0.0.1:1/x")
	if err == nil || strings.Contains(err.Error(), "pw-a") {
		t.Errorf("unreachable: %v; want an error without the password", err)
	}
}

func TestSplitTokenAndStripURL(t *testing.T) {
	for _, tt := range []struct{ in, before, token, after, strip string }{
		{"https://conda.example.com/t/tk-1/org/chan", "https://conda.example.com", "tk-1", "/org/chan", "https://conda.example.com/org/chan"},
		{"https://u:p@h:8443/a/t/TOK_2", "https://u:p@h:8443/a", "TOK_2", "", "https://h:8443/a"},
		{"https://h/chan", "", "", "", "https://h/chan"},
		{"https://u:p@h/chan", "", "", "", "https://h/chan"},
	} {
		b, tok, a, ok := SplitToken(tt.in)
		if b != tt.before || tok != tt.token || a != tt.after || ok != (tt.token != "") {
			t.Errorf("SplitToken(%q) = %q %q %q %v", tt.in, b, tok, a, ok)
		}
		if got := StripURL(tt.in); got != tt.strip {
			t.Errorf("StripURL(%q) = %q, want %q", tt.in, got, tt.strip)
		}
	}
}

func TestAuthHeaders(t *testing.T) {
	netrc := filepath.Join(t.TempDir(), "netrc")
	os.WriteFile(netrc, []byte("machine n.example login nu password np\n"), 0o600)
	got, err := AuthHeaders([]string{"https://u:p@a.example/simple", "https://a.example/other", "https://n.example/c", "https://none.example/c"}, netrc)
	if err != nil || len(got) != 2 || got["a.example"] != "Basic dTpw" || got["n.example"] != "Basic bnU6bnA=" {
		t.Errorf("got %v, %v", got, err)
	}
	os.WriteFile(netrc, []byte("machine\n"), 0o600)
	if _, err := AuthHeaders([]string{"https://n.example/c"}, netrc); err == nil || !strings.Contains(err.Error(), netrc) {
		t.Errorf("a bad netrc: %v; want an error naming the file", err)
	}
}
