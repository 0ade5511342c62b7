package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envbuild/envbuild/internal/httpc"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
)

// The client's fetch of a big wheel checks the lock's size and sha256:
// other bytes are the user's to act on (exit 1), an index failing is
// exit 4, and the right bytes land in the file.
func TestFetchWheel(t *testing.T) {
	body := strings.Repeat("wheel bytes ", 1000)
	sum := sha256.Sum256([]byte(body))
	var serve string
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		w.Write([]byte(serve))
	}))
	defer srv.Close()
	client, err := indexClient(Options{}, httpc.Options{Noun: "index"})
	if err != nil {
		t.Fatal(err)
	}
	pk := lockfile.Package{Name: "bigpkg", Filename: "bigpkg-1.0-py3-none-any.whl", URL: srv.URL + "/bigpkg-1.0-py3-none-any.whl", Sha256: hex.EncodeToString(sum[:]), Size: int64(len(body))}
	dir := t.TempDir()
	for _, c := range []struct {
		name   string
		serve  string
		status int
		size   int64
		kind   failure.Kind
		want   string
	}{
		{"right bytes", body, 200, pk.Size, 0, ""},
		{"other bytes", strings.ToUpper(body), 200, pk.Size, failure.KindUser, "has sha256"},
		{"another size", body + "x", 200, pk.Size, failure.KindUser, "is 12001 bytes, but the lock says 12000"},
		{"no size in the lock", body, 200, 0, 0, ""},
		{"not found", "", 404, pk.Size, failure.KindInfra, "fetching bigpkg-1.0-py3-none-any.whl to write its layers"},
	} {
		t.Run(c.name, func(t *testing.T) {
			serve, status = c.serve, c.status
			p := pk
			p.Size = c.size
			path := filepath.Join(dir, c.name+".whl")
			err := fetchWheel(context.Background(), client, p, path)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if b, _ := os.ReadFile(path); string(b) != body {
					t.Errorf("the file holds %d bytes, not the wheel", len(b))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || failure.KindOf(err) != c.kind {
				t.Errorf("error %v (kind %d), want %q (kind %d)", err, failure.KindOf(err), c.want, c.kind)
			}
		})
	}
}

// Temporary directories go to tmp/ of the cache directory, and what a
// killed build left there more than a day ago goes when the next one
// starts; a recent one (another build's, running) stays.
func TestCacheTemp(t *testing.T) {
	cache := t.TempDir()
	root := filepath.Join(cache, "tmp")
	for _, name := range []string{"wheels-old", "layers-recent"} {
		if err := os.MkdirAll(filepath.Join(root, name, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-25 * time.Hour)
	if err := os.Chtimes(filepath.Join(root, "wheels-old"), old, old); err != nil {
		t.Fatal(err)
	}
	dir, err := cacheTemp(cache, "wheels-")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(dir) != root || !strings.HasPrefix(filepath.Base(dir), "wheels-") {
		t.Errorf("cacheTemp made %s, want a wheels-* directory in %s", dir, root)
	}
	if _, err := os.Stat(filepath.Join(root, "wheels-old")); !os.IsNotExist(err) {
		t.Errorf("the day-old directory is still there (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(root, "layers-recent", "sub")); err != nil {
		t.Errorf("the recent directory went: %v", err)
	}
}
