package step

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/builder/installstep"
)

// The fetch step puts the token from its secret file back into the URL,
// checks the sha256, and names the URL without the token when it fails.
func TestFetchWithToken(t *testing.T) {
	const token = "tk-0a1b2c"
	data := []byte("conda package bytes")
	sum := sha256.Sum256(data)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/t/"+token+"/team/noarch/p-1-0.conda" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		w.Write(data)
	}))
	defer srv.Close()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte(token+"\n"), 0o600)
	s := installstep.Step{Kind: installstep.Fetch, Root: filepath.Join(dir, "out"), URL: srv.URL + "/team/noarch/p-1-0.conda", Secret: secret, TokenAt: len(srv.URL), SHA256: hex.EncodeToString(sum[:]), Filename: "p-1-0.conda"}
	var stdout, stderr bytes.Buffer
	if rc := Main(append([]string{}, installstep.Encode([]installstep.Step{s})...), &stdout, &stderr); rc != 0 {
		t.Fatalf("exit %d: %s", rc, stderr.String())
	}
	if got, _ := os.ReadFile(filepath.Join(s.Root, s.Filename)); !bytes.Equal(got, data) {
		t.Errorf("fetched %q", got)
	}
	if strings.Contains(stdout.String()+stderr.String(), token) {
		t.Errorf("the token is in the output: %s %s", stdout.String(), stderr.String())
	}

	bad := s
	bad.SHA256 = strings.Repeat("0", 64)
	bad.Root = filepath.Join(dir, "bad")
	stdout.Reset()
	stderr.Reset()
	if rc := Main(installstep.Encode([]installstep.Step{bad}), &stdout, &stderr); rc == 0 || !strings.Contains(stderr.String(), "sha256") {
		t.Errorf("a wrong sha256: exit %d, %s", rc, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(bad.Root, bad.Filename)); err == nil {
		t.Errorf("a file with the wrong sha256 was left in the output")
	}

	os.WriteFile(secret, []byte("tk-wrong"), 0o600)
	stderr.Reset()
	if rc := Main(installstep.Encode([]installstep.Step{s}), &stdout, &stderr); rc == 0 || strings.Contains(stderr.String(), "tk-wrong") || !strings.Contains(stderr.String(), "403") || !strings.Contains(stderr.String(), s.URL) {
		t.Errorf("a refused token: exit %d, %s; want a 403 naming the URL without the token", rc, stderr.String())
	}
}
