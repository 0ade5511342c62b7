package engine

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"

	"github.com/envbuild/envbuild/lock/failure"
)

// A failed install names its step and the installer's own reason, which
// BuildKit's error (a process exited with 1) leaves out; the watch reads
// it from the status stream, whatever the progress display shows.
func TestInstallFailureCarriesTheInstallersReason(t *testing.T) {
	w := newStatusWatch()
	v := digest.FromString("install")
	now := time.Now()
	w.observe(&client.SolveStatus{Vertexes: []*client.Vertex{{Digest: v, Name: "install evil 1.0 (linux/amd64)", Started: &now}}})
	w.observe(&client.SolveStatus{Logs: []*client.VertexLog{
		{Vertex: v, Stream: 1, Data: []byte("unpacking evil-1.0-py3-none-any.whl\n")},
		{Vertex: v, Stream: 2, Data: []byte("envbuild installer: evil-1.0-py3-none-any.whl: ../../etc/passwd leaves the")},
		{Vertex: v, Stream: 2, Data: []byte(" environment's prefix; refusing it\nexit status 1\n")},
	}})
	w.observe(&client.SolveStatus{Vertexes: []*client.Vertex{{Digest: v, Name: "install evil 1.0 (linux/amd64)", Started: &now, Completed: &now, Error: "exit code: 1"}}})
	step, reason := w.failure()
	if step != "install evil 1.0 (linux/amd64)" || reason != "envbuild installer: evil-1.0-py3-none-any.whl: ../../etc/passwd leaves the environment's prefix; refusing it" {
		t.Fatalf("failure() = %q, %q", step, reason)
	}
	err := classifySolveError(errors.New(`process "/.envbuild/envbuild internal-step wheel --src /in --- normalize --root /out" did not complete successfully: exit code: 1`), "unix:///run/b.sock", "r.example.com", step, reason)
	if failure.KindOf(err) != failure.KindUser || !strings.Contains(err.Error(), "refusing it") || !strings.Contains(err.Error(), "install evil 1.0") {
		t.Errorf("error %v (kind %d)", err, failure.KindOf(err))
	}
}

// A download that fails inside BuildKit is not reported as a push.
func TestDownloadFailureIsNotAPush(t *testing.T) {
	err := classifySolveError(errors.New("failed to load cache key: invalid response status 503"), "unix:///b.sock", "r.example.com", "fetch six-1.16.0-py2.py3-none-any.whl", "")
	if msg := err.Error(); strings.Contains(msg, "pushing") || !strings.Contains(msg, "downloading six-1.16.0-py2.py3-none-any.whl") || !failure.IsInfra(err) {
		t.Errorf("error %v", err)
	}
	// A hash mismatch is exit 1, as it is when locking.
	err = classifySolveError(errors.New("failed to load cache key: digest mismatch sha256:aa: sha256:bb"), "unix:///b.sock", "r.example.com", "fetch six-1.16.0-py2.py3-none-any.whl", "")
	if failure.KindOf(err) != failure.KindUser || !strings.Contains(err.Error(), "does not match the sha256 in the lock") {
		t.Errorf("error %v (kind %d)", err, failure.KindOf(err))
	}
	err = classifySolveError(errors.New("failed to push r.example.com/envs: unexpected status 500"), "unix:///b.sock", "r.example.com", "exporting to image", "")
	if !strings.Contains(err.Error(), "pushing to registry r.example.com") || !failure.IsInfra(err) {
		t.Errorf("error %v", err)
	}
}

// Progress is a change; BuildKit resending what it said is not.
func TestStatusWatchIdle(t *testing.T) {
	w := newStatusWatch()
	now := time.Now()
	st := &client.SolveStatus{Statuses: []*client.VertexStatus{{ID: "pushing layer sha256:1", Current: 10, Total: 100, Timestamp: now}}}
	w.observe(st)
	w.last = time.Now().Add(-time.Minute)
	w.observe(&client.SolveStatus{Statuses: []*client.VertexStatus{{ID: "pushing layer sha256:1", Current: 10, Total: 100, Timestamp: now.Add(time.Second)}}})
	if w.idle() < 59*time.Second {
		t.Errorf("a repeated status counted as progress")
	}
	w.observe(&client.SolveStatus{Statuses: []*client.VertexStatus{{ID: "pushing layer sha256:1", Current: 20, Total: 100}}})
	if w.idle() > time.Second {
		t.Errorf("bytes moving did not count as progress")
	}
}
