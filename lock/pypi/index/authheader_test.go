package index

import (
	"os"
	"path/filepath"
	"testing"
)

func TestAuthHeaders(t *testing.T) {
	dir := t.TempDir()
	netrcFile := filepath.Join(dir, "netrc")
	if err := os.WriteFile(netrcFile, []byte("machine private.example.com login bob password s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := AuthHeaders([]Index{
		{Name: "pypi", URL: "https://alice:pw@idx.example.com:8443/simple"},
		{Name: "extra-1", URL: "https://private.example.com/simple"},
		{Name: "extra-2", URL: "https://public.example.com/simple"},
	}, netrcFile)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"idx.example.com:8443": "Basic YWxpY2U6cHc=",     // alice:pw
		"private.example.com":  "Basic Ym9iOnMzY3JldA==", // bob:s3cret
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for h, v := range want {
		if got[h] != v {
			t.Errorf("%s: got %q, want %q", h, got[h], v)
		}
	}
}
