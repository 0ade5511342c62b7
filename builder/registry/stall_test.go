package registry

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/envbuild/envbuild/lock/failure"
)

// stalledRegistry is a registry that stops reading uploads (PATCH and PUT
// of blobs) and never answers them, until the test ends. (The server
// notices a client's hang-up only once the body is read, so the handler
// waits for the test, not for the request's context.)
func stalledRegistry(t *testing.T) string {
	release := make(chan struct{})
	host := testRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if (r.Method == http.MethodPatch || r.Method == http.MethodPut) && strings.Contains(r.URL.Path, "/blobs/uploads/") {
				<-release
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	t.Cleanup(func() { close(release) }) // before the server's Close
	return host
}

// A registry that stops taking a push's bytes ends the push within the
// push timeout, as an infrastructure error naming the registry; no tag is
// written. The blob is larger than the sockets' buffers, so the body
// itself stalls (not only the wait for the answer).
func TestStalledPushIsAnError(t *testing.T) {
	isolateCredentials(t)
	host := stalledRegistry(t)
	big := make([]byte, 64<<20)
	rand.Read(big)
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:` + strings.Repeat("0", 64) + `"]}}`)
	images := []NewImage{{Platform: "linux/amd64", Config: cfg, Layers: []Blob{
		{Digest: digestOf(big), Size: int64(len(big)), MediaType: string(types.OCILayer), Data: big},
	}}}
	// The answer's own timeout is long: only the push timeout can end it.
	c := New(Options{Retries: -1, Timeout: time.Minute, PushTimeout: 500 * time.Millisecond})
	ref := host + "/team/envs:env-1"
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := c.PushImage(context.Background(), ref, images)
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("PushImage to a stalled registry did not return in 30s")
	}
	if err == nil {
		t.Fatal("PushImage to a stalled registry succeeded")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the stall was noticed after %s, want about 500ms", d)
	}
	if !failure.IsInfra(err) {
		t.Errorf("exit code %d for %v, want 4", failure.KindOf(err), err)
	}
	for _, want := range []string{host, "took no data for 500ms", "ENVBUILD_PUSH_TIMEOUT"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, herr := remote.Head(mustRef(t, c, ref)); herr == nil {
		t.Error("a stalled push left a tag")
	}
	var st uploadStalled
	if !errors.As(err, &st) {
		t.Errorf("error %v does not keep its cause", err)
	}
}

// A record written to a stalled registry ends too.
func TestStalledRecordIsAnError(t *testing.T) {
	isolateCredentials(t)
	host := stalledRegistry(t)
	c := New(Options{Retries: -1, Timeout: 500 * time.Millisecond, PushTimeout: 500 * time.Millisecond})
	rec := &LayerRecord{Key: strings.Repeat("b", 64), Platform: "linux/amd64", Digest: "sha256:" + strings.Repeat("c", 64), DiffID: "sha256:" + strings.Repeat("d", 64), Size: 1, MediaType: string(types.OCILayer), Meta: []byte(`{}`)}
	start := time.Now()
	err := c.WriteRecord(context.Background(), host+"/team/cache", rec)
	if err == nil || !strings.Contains(err.Error(), host) || !failure.IsInfra(err) {
		t.Errorf("WriteRecord to a stalled registry: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the stall was noticed after %s", d)
	}
}
