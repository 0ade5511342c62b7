package index

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A download is bounded by silence, not by its length: a body that keeps
// trickling for longer than the timeout arrives whole, and one that stops
// is given up on, naming the host.
func TestDownloadTimeoutIsInactivity(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 10; i++ {
			w.Write([]byte("0123456789"))
			w.(http.Flusher).Flush()
			time.Sleep(60 * time.Millisecond)
		}
		if r.URL.Path == "/stalls" {
			<-r.Context().Done()
		}
	}))
	defer srv.Close()
	c, _ := newTestClient(t, Options{Retries: -1, Timeout: 200 * time.Millisecond, Deadline: 300 * time.Millisecond})
	var buf bytes.Buffer
	if _, n, err := c.download(ctx, srv.URL+"/trickles", &buf); err != nil || n != 100 {
		t.Fatalf("a download moving for 600ms with a 200ms timeout: %d bytes, %v", n, err)
	}
	buf.Reset()
	_, _, err := c.download(ctx, srv.URL+"/stalls", &buf)
	host := strings.TrimPrefix(srv.URL, "http://")
	if err == nil || !strings.Contains(err.Error(), "host "+host+" sent nothing for 200ms") {
		t.Errorf("a stalled download: %v", err)
	}
}
