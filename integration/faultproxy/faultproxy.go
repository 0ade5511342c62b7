// Package faultproxy is an HTTP reverse proxy for tests that injects the
// faults a registry or a package index shows in the field: an error
// status (5xx, 401, 403), a connection dropped in the middle of a body, a
// stall (no byte, no answer, until the client gives up or the test ends).
// A rule chooses, per request, which fault (if any) applies; everything
// else passes through to the target unchanged.
package faultproxy

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// Kind is a fault.
type Kind int

const (
	// None passes the request through.
	None Kind = iota
	// Status answers Code without asking the target.
	Status
	// Drop passes the request through and closes the connection after
	// After bytes of the answer's body.
	Drop
	// Stall reads nothing and answers nothing until the client hangs up
	// or the proxy is closed.
	Stall
)

// Fault is what happens to one request.
type Fault struct {
	Kind  Kind
	Code  int   // Status
	After int64 // Drop
}

// Rule picks the fault for a request; nil means no fault.
type Rule func(r *http.Request) Fault

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	srv     *httptest.Server
	rule    atomic.Pointer[Rule]
	release chan struct{}
	once    sync.Once
	// Faults counts the requests a fault was applied to.
	Faults atomic.Int64
}

// New starts a proxy in front of target ("http://host:port"). Requests keep
// the Host they were sent with, so that a registry writes the proxy's
// address in the Location of an upload and the upload's next requests come
// through the proxy too.
func New(target string) *Proxy { return newProxy(target, false) }

// NewVirtualHost is New for a target served by name (an index behind a
// CDN): requests carry the target's Host.
func NewVirtualHost(target string) *Proxy { return newProxy(target, true) }

func newProxy(target string, virtual bool) *Proxy {
	u, err := url.Parse(target)
	if err != nil {
		panic(err)
	}
	p := &Proxy{release: make(chan struct{})}
	rp := httputil.NewSingleHostReverseProxy(u)
	direct := rp.Director
	rp.Director = func(r *http.Request) {
		direct(r)
		if virtual {
			r.Host = u.Host
		}
	}
	rp.ErrorLog = log.New(io.Discard, "", 0)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := Fault{}
		if rule := p.rule.Load(); rule != nil && *rule != nil {
			f = (*rule)(r)
		}
		if f.Kind != None {
			p.Faults.Add(1)
		}
		switch f.Kind {
		case Status:
			io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
			if f.Code == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Basic realm="faultproxy"`)
			}
			http.Error(w, http.StatusText(f.Code), f.Code)
		case Stall:
			// The server notices a client's hang-up only once the body is
			// read: wait for the proxy's end too.
			select {
			case <-r.Context().Done():
			case <-p.release:
			}
		case Drop:
			rp.ServeHTTP(&dropWriter{ResponseWriter: w, left: f.After}, r)
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	return p
}

// Host is the proxy's HOST:PORT.
func (p *Proxy) Host() string { return strings.TrimPrefix(p.srv.URL, "http://") }

// URL is the proxy's base URL.
func (p *Proxy) URL() string { return p.srv.URL }

// Set replaces the rule (nil: no faults from now on).
func (p *Proxy) Set(r Rule) { p.rule.Store(&r) }

// Close releases stalled requests and stops the proxy.
func (p *Proxy) Close() {
	p.once.Do(func() { close(p.release) })
	p.srv.CloseClientConnections()
	p.srv.Close()
}

// dropWriter passes through at most left bytes of the body, then closes
// the connection under the client.
type dropWriter struct {
	http.ResponseWriter
	left int64
	done bool
}

func (d *dropWriter) Write(b []byte) (int, error) {
	if d.done {
		return 0, io.ErrClosedPipe
	}
	if int64(len(b)) <= d.left {
		d.left -= int64(len(b))
		return d.ResponseWriter.Write(b)
	}
	n, _ := d.ResponseWriter.Write(b[:d.left])
	d.done = true
	if f, ok := d.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	if h, ok := d.ResponseWriter.(http.Hijacker); ok {
		if conn, _, err := h.Hijack(); err == nil {
			conn.Close()
		}
	}
	return n, io.ErrClosedPipe
}

// Flush lets streamed answers through.
func (d *dropWriter) Flush() {
	if f, ok := d.ResponseWriter.(http.Flusher); ok && !d.done {
		f.Flush()
	}
}

// Matchers for rules.

// Method reports whether r's method is one of ms.
func Method(r *http.Request, ms ...string) bool {
	for _, m := range ms {
		if r.Method == m {
			return true
		}
	}
	return false
}

// BlobUpload reports whether r uploads a blob (POST, PATCH or PUT under
// /blobs/uploads/).
func BlobUpload(r *http.Request) bool {
	return strings.Contains(r.URL.Path, "/blobs/uploads/") && Method(r, http.MethodPost, http.MethodPatch, http.MethodPut)
}

// ManifestPut reports whether r writes a manifest or tag.
func ManifestPut(r *http.Request) bool {
	return strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodPut
}

// BlobGet reports whether r reads a blob.
func BlobGet(r *http.Request) bool {
	return strings.Contains(r.URL.Path, "/blobs/sha256:") && r.Method == http.MethodGet
}
