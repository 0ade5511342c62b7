package index

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/lock/failure"
)

// protectedIndex serves one project behind basic auth (alice / s3cret)
// whose wheel lives on the same host, and another whose wheel lives on
// other (a second server, so another host:port).
func protectedIndex(t *testing.T) (fi, other *fakeIndex) {
	fi, other = newFakeIndex(t), newFakeIndex(t)
	fi.auth = func(r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		return ok && u == "alice" && p == "s3cret"
	}
	w := makeWheel(t, "secret-pkg", "1.0", simpleMetadata("secret-pkg", "1.0"), 0)
	fi.files["/files/"+w.filename] = w.data
	fi.json("secret-pkg", `{"meta":{"api-version":"1.0"},"files":[{"filename":"`+w.filename+`","url":"/files/`+w.filename+`","hashes":{"sha256":"`+w.sha256+`"}}]}`)
	w2 := makeWheel(t, "elsewhere", "1.0", simpleMetadata("elsewhere", "1.0"), 0)
	other.files["/files/"+w2.filename] = w2.data
	fi.json("elsewhere", `{"meta":{"api-version":"1.0"},"files":[{"filename":"`+w2.filename+`","url":"`+other.url("/files/"+w2.filename)+`","hashes":{"sha256":"`+w2.sha256+`"}}]}`)
	return fi, other
}

func withUserinfo(u, userinfo string) string {
	return strings.Replace(u, "http://", "http://"+userinfo+"@", 1)
}

func TestBasicAuthFromURL(t *testing.T) {
	fi, other := protectedIndex(t)
	c, log := newTestClient(t, Options{Indexes: []Index{{URL: withUserinfo(fi.url("/simple"), "alice:s3cret")}}})
	p, err := c.Project(ctx, "secret-pkg")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(p.Files[0].URL, "s3cret") || strings.Contains(p.Files[0].URL, "alice") {
		t.Errorf("file URL %q carries credentials", p.Files[0].URL)
	}
	md, err := c.Metadata(ctx, p.Files[0])
	if err != nil {
		t.Fatal(err)
	}
	if md.Name != "secret-pkg" {
		t.Errorf("got metadata for %q, want secret-pkg", md.Name)
	}
	for _, r := range fi.requests() {
		if r.auth != "alice:s3cret" {
			t.Errorf("request %s %s sent auth %q, want alice's", r.method, r.path, r.auth)
		}
	}
	// A file on another host gets no credentials.
	p, err = c.Project(ctx, "elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Metadata(ctx, p.Files[0]); err != nil {
		t.Fatal(err)
	}
	for _, r := range other.requests() {
		if r.auth != "" {
			t.Errorf("the other host got credentials %q on %s", r.auth, r.path)
		}
	}
	if strings.Contains(log.String(), "s3cret") {
		t.Errorf("log shows the password:\n%s", log.String())
	}
}

func TestBasicAuthFromNetrc(t *testing.T) {
	fi, _ := protectedIndex(t)
	netrc := filepath.Join(t.TempDir(), "netrc")
	os.WriteFile(netrc, []byte("machine example.org login x password y\nmachine 127.0.0.1\n  login alice\n  password s3cret\n"), 0o600)
	c, _ := newTestClient(t, Options{Netrc: netrc, Indexes: []Index{{URL: fi.url("/simple")}}})
	if _, err := c.Project(ctx, "secret-pkg"); err != nil {
		t.Fatal(err)
	}
}

func TestBasicAuthRefused(t *testing.T) {
	fi, _ := protectedIndex(t)
	host := strings.TrimPrefix(fi.url(""), "http://")
	netrc := filepath.Join(t.TempDir(), "netrc")
	os.WriteFile(netrc, []byte("machine 127.0.0.1 login alice password netrcWrongPass\n"), 0o600)
	tests := []struct {
		name, url, netrc, want string
	}{
		{"wrong password in URL", withUserinfo(fi.url("/simple"), "alice:wrongPass"), "",
			"the index refused the credentials for " + host + " (from the index URL): 401 Unauthorized"},
		{"wrong token in URL", withUserinfo(fi.url("/simple"), "wrongPass"), "",
			"the index refused the credentials for " + host + " (from the index URL)"},
		{"wrong password in netrc", fi.url("/simple"), netrc,
			"the index refused the credentials for " + host + " (from netrc)"},
		{"no credentials", fi.url("/simple"), "",
			host + " answered 401 Unauthorized and no credentials are known for it; put them in the index URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, log := newTestClient(t, Options{Netrc: tt.netrc, Indexes: []Index{{URL: tt.url}}})
			_, err := c.Project(ctx, "secret-pkg")
			if err == nil {
				t.Fatal("got no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error()+log.String(), "rongPass") {
				t.Errorf("the password shows in the error or log: %q\n%s", err, log.String())
			}
			if failure.KindOf(err) != failure.KindInfra {
				t.Errorf("got kind %v, want infrastructure", failure.KindOf(err))
			}
			if n := len(fi.requests()); n != 1 {
				t.Errorf("got %d requests, want 1 (a refusal is not retried)", n)
			}
		})
	}
}

func TestNoSuchProjectRedactsCredentials(t *testing.T) {
	fi := newFakeIndex(t)
	c, _ := newTestClient(t, Options{Indexes: []Index{{URL: withUserinfo(fi.url("/simple"), "alice:hunter2")}}})
	_, err := c.Project(ctx, "nothing")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("got %v, want an error without the password", err)
	}
}

func TestRedirectToAnotherHostDropsCredentials(t *testing.T) {
	a, b := newFakeIndex(t), newFakeIndex(t)
	a.pages["/simple/pkg/"] = func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, b.url("/mirror/pkg/"), http.StatusFound)
	}
	b.pages["/mirror/pkg/"] = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", mediaJSON)
		w.Write([]byte(`{"meta":{"api-version":"1.0"},"files":[{"filename":"pkg-1.0.tar.gz","url":"pkg-1.0.tar.gz","hashes":{}}]}`))
	}
	c, _ := newTestClient(t, Options{Indexes: []Index{{URL: withUserinfo(a.url("/simple"), "alice:s3cret")}}})
	p, err := c.Project(ctx, "pkg")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Files[0].URL, b.url("/mirror/pkg/pkg-1.0.tar.gz"); got != want {
		t.Errorf("relative link resolved to %q, want %q (against the page's final URL)", got, want)
	}
	if reqs := a.requests(); len(reqs) != 1 || reqs[0].auth != "alice:s3cret" {
		t.Errorf("the index got %+v, want one request with alice's credentials", reqs)
	}
	for _, r := range b.requests() {
		if r.auth != "" {
			t.Errorf("the redirect target got credentials %q", r.auth)
		}
	}
}
