package registry

import "testing"

func TestRepositoryOf(t *testing.T) {
	for ref, want := range map[string]string{
		"host:5000/team/envs:env-0123":             "host:5000/team/envs",
		"host/base@sha256:abcd":                    "host/base",
		"host:5000/base:12@sha256:abcd":            "host:5000/base",
		"host:5000/team/envs":                      "host:5000/team/envs",
		"debian:12":                                "debian",
		"registry.example/a/b/c:tag@sha256:00aa11": "registry.example/a/b/c",
	} {
		if got := RepositoryOf(ref); got != want {
			t.Errorf("RepositoryOf(%q) = %q, want %q", ref, got, want)
		}
	}
}

// A recorded layer just built into an OCI layout is read from its file;
// any other is mounted from the repository holding its record.
func TestRecordBlob(t *testing.T) {
	rec := &LayerRecord{Digest: "sha256:aa", Size: 3, MediaType: "m", Repository: "host/cache"}
	if b := rec.Blob(); b.From != "host/cache" || b.Path != "" || b.Digest != "sha256:aa" || b.Size != 3 || b.MediaType != "m" {
		t.Errorf("pushed record: %+v", b)
	}
	rec.Manifest = "sha256:bb"
	if got := rec.Image(); got != "host/cache@sha256:bb" {
		t.Errorf("record image %q", got)
	}
	rec.Path = "/tmp/layout/blobs/sha256/aa"
	if b := rec.Blob(); b.From != "" || b.Path != rec.Path {
		t.Errorf("record in a layout: %+v", b)
	}
}

func TestIsInsecureRepository(t *testing.T) {
	c := New(Options{InsecureHosts: []string{"reg.internal:5000"}})
	for repo, want := range map[string]bool{
		"reg.internal:5000/team/envs": true,
		"localhost:5000/envs":         true,
		"ghcr.io/team/envs":           false,
		"http://reg.internal/x":       false,
	} {
		if got := c.IsInsecureRepository(repo); got != want {
			t.Errorf("IsInsecureRepository(%q) = %v, want %v", repo, got, want)
		}
	}
}
