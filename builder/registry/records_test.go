package registry

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// pushLayer puts a random layer blob in repo and returns it as a record.
func pushLayer(t *testing.T, c *Client, repo, key string) *LayerRecord {
	t.Helper()
	l, err := random.Layer(2048, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.parseRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteLayer(r, l); err != nil {
		t.Fatal(err)
	}
	d, _ := l.Digest()
	diff, _ := l.DiffID()
	size, _ := l.Size()
	return &LayerRecord{Key: key, Platform: "linux/amd64", Digest: d.String(), DiffID: diff.String(), Size: size, MediaType: string(types.OCILayer), Meta: json.RawMessage(`{"dist_info":["/opt/envbuild/env/lib/python3.11/site-packages/six-1.16.0.dist-info"]}`)}
}

func TestRecordsRoundTrip(t *testing.T) {
	isolateCredentials(t)
	ctx := context.Background()
	var refuseOverwrite atomic.Bool
	host := testRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if refuseOverwrite.Load() && r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/layer-") {
				// An immutable tag that already exists.
				http.Error(w, `{"errors":[{"code":"TAG_INVALID","message":"tag is immutable"}]}`, http.StatusBadRequest)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	c := New(Options{})
	repo := host + "/team/cache"
	key := strings.Repeat("a", 64)
	rec := pushLayer(t, c, repo, key)
	if err := c.WriteRecord(ctx, repo, rec); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rec.Manifest, "sha256:") {
		t.Errorf("record manifest %q", rec.Manifest)
	}
	refuseOverwrite.Store(true)
	again := *rec
	if err := c.WriteRecord(ctx, repo, &again); err != nil || again.Manifest != rec.Manifest {
		t.Errorf("rewriting an existing record under an immutable tag: %v (%s vs %s)", err, again.Manifest, rec.Manifest)
	}

	other := strings.Repeat("b", 64)
	hits, warnings := c.LookupRecords(ctx, repo, []string{key, other, key})
	if len(warnings) != 0 || len(hits) != 1 || hits[other] != nil {
		t.Fatalf("hits %v, warnings %q", hits, warnings)
	}
	got := hits[key]
	if got.Digest != rec.Digest || got.DiffID != rec.DiffID || got.Size != rec.Size || string(got.Meta) != string(rec.Meta) || got.Manifest != rec.Manifest || got.Repository != repo {
		t.Errorf("read %+v, wrote %+v", got, rec)
	}
	// The record is a one-layer image of its layer (BuildKit can pull it).
	img, err := remote.Image(mustRef(t, c, repo+"@"+got.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := img.Layers()
	if d, _ := ls[0].Digest(); len(ls) != 1 || d.String() != rec.Digest {
		t.Errorf("the record image's layers: %v", ls)
	}

	// A record whose blob is not in the repository, or of another size,
	// is a miss with a warning: never trusted.
	refuseOverwrite.Store(false)
	gone := *rec
	gone.Key, gone.Digest = strings.Repeat("c", 64), "sha256:"+strings.Repeat("d", 64)
	wrong := *rec
	wrong.Key, wrong.Size = strings.Repeat("e", 64), rec.Size+1
	for _, r := range []*LayerRecord{&gone, &wrong} {
		if err := c.WriteRecord(ctx, repo, r); err != nil {
			t.Fatal(err)
		}
	}
	hits, warnings = c.LookupRecords(ctx, repo, []string{gone.Key, wrong.Key})
	if len(hits) != 0 || len(warnings) != 2 {
		t.Errorf("untrustworthy records: hits %v, warnings %q", hits, warnings)
	}
	for _, w := range warnings {
		if !strings.Contains(w, "building the layer instead") {
			t.Errorf("warning %q does not say what happens", w)
		}
	}
	// A registry that fails is a miss with a warning, not an error.
	hits, warnings = c.LookupRecords(ctx, "127.0.0.1:1/nothing", []string{key})
	if len(hits) != 0 || len(warnings) != 1 {
		t.Errorf("unreachable cache: hits %v, warnings %q", hits, warnings)
	}
}

func mustRef(t *testing.T, c *Client, ref string) name.Reference {
	t.Helper()
	r, err := c.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// PushImage writes the manifest envbuild computes (ImageDigest), tags it
// last, and copies blobs from another registry through the client,
// counting and checking them.
func TestPushImage(t *testing.T) {
	isolateCredentials(t)
	ctx := context.Background()
	c := New(Options{})
	src, dst := testRegistry(t, nil), testRegistry(t, nil)
	rec := pushLayer(t, c, src+"/team/cache", strings.Repeat("a", 64))
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["` + rec.DiffID + `","sha256:` + strings.Repeat("0", 64) + `"]}}`)
	meta := []byte("not really a layer, but a blob")
	images := []NewImage{{Platform: "linux/amd64", Config: cfg, Layers: []Blob{
		{Digest: rec.Digest, Size: rec.Size, MediaType: string(types.DockerLayer), From: src + "/team/cache"},
		{Digest: digestOf(meta), Size: int64(len(meta)), MediaType: string(types.OCILayer), Data: meta},
	}}}
	want, err := ImageDigest(images)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.PushImage(ctx, dst+"/team/envs:env-1", images)
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != want || res.Uploaded < rec.Size+int64(len(meta)) {
		t.Errorf("pushed %+v, want digest %s and at least %d bytes uploaded", res, want, rec.Size+int64(len(meta)))
	}
	img, err := remote.Image(mustRef(t, c, dst+"/team/envs:env-1"))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	if d, _ := img.Digest(); d.String() != want || m.Layers[0].MediaType != types.OCILayer {
		t.Errorf("the tag holds %s (layers %+v)", d, m.Layers)
	}
	// Again: nothing but the manifest is sent.
	res, err = c.PushImage(ctx, dst+"/team/envs:env-1", images)
	if err != nil || res.Uploaded > 2048 {
		t.Errorf("pushing again uploaded %+v (%v)", res, err)
	}
	// A blob whose source holds other bytes is refused, and no tag is written.
	bad := images
	bad[0].Layers = append([]Blob{{Digest: "sha256:" + strings.Repeat("1", 64), Size: int64(len(meta)), MediaType: string(types.OCILayer), Data: meta}}, bad[0].Layers...)
	if _, err := c.PushImage(ctx, dst+"/team/envs:env-bad", bad); err == nil {
		t.Error("a blob that does not match its digest was pushed")
	}
	if _, err := remote.Head(mustRef(t, c, dst+"/team/envs:env-bad")); err == nil {
		t.Error("a failed push left a tag")
	}
	_ = v1.Hash{}
}

// Builders recording the same layer at once agree: every write succeeds
// and the record is the same bytes.
func TestConcurrentRecordsAgree(t *testing.T) {
	isolateCredentials(t)
	ctx := context.Background()
	host := testRegistry(t, nil)
	c := New(Options{})
	repo := host + "/team/cache"
	rec := pushLayer(t, c, repo, strings.Repeat("f", 64))
	const n = 8
	errs := make(chan error, n)
	manifests := make(chan string, n)
	for i := 0; i < n; i++ {
		go func() {
			r := *rec
			err := c.WriteRecord(ctx, repo, &r)
			errs <- err
			manifests <- r.Manifest
		}()
	}
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
		seen[<-manifests] = true
	}
	if len(seen) != 1 {
		t.Errorf("concurrent writers made %d different records: %v", len(seen), seen)
	}
	if hits, w := c.LookupRecords(ctx, repo, []string{rec.Key}); hits[rec.Key] == nil || len(w) != 0 {
		t.Errorf("lookup after concurrent writes: %v %q", hits, w)
	}
}

// A layer made outside BuildKit (a compile root) is uploaded with its
// record and found again; bytes that do not match the record are refused.
func TestWriteBlobRecord(t *testing.T) {
	isolateCredentials(t)
	ctx := context.Background()
	host := testRegistry(t, nil)
	c := New(Options{})
	repo := host + "/team/cache"
	blob := []byte("not really gzip, but bytes of a blob")
	key := strings.Repeat("c", 64)
	rec := &LayerRecord{Key: key, Platform: "linux/amd64", Digest: digestOf(blob), Size: int64(len(blob)), MediaType: string(types.OCILayer), DiffID: "sha256:" + strings.Repeat("d", 64), Meta: json.RawMessage(`{}`)}
	bad := *rec
	bad.Size++
	if err := c.WriteBlobRecord(ctx, repo, &bad, blob); err == nil {
		t.Error("a record whose size is not its blob's was written")
	}
	if err := c.WriteBlobRecord(ctx, repo, rec, blob); err != nil {
		t.Fatal(err)
	}
	hits, warnings := c.LookupRecords(ctx, repo, []string{key})
	if len(warnings) != 0 || hits[key] == nil || hits[key].Digest != rec.Digest {
		t.Fatalf("hits %v, warnings %q", hits, warnings)
	}
}
