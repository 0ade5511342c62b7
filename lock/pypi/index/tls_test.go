package index

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/envbuild/envbuild/lock/failure"
)

func TestTLSWithCertFileAndHTTP2(t *testing.T) {
	var proto atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.Store(int32(r.ProtoMajor))
		w.Header().Set("Content-Type", mediaJSON)
		w.Write([]byte(pkgPage))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)

	c, _ := newTestClient(t, Options{CertFile: bundle, Indexes: []Index{{URL: srv.URL + "/simple"}}})
	if _, err := c.Project(ctx, "pkg"); err != nil {
		t.Fatal(err)
	}
	if proto.Load() != 2 {
		t.Errorf("the request used HTTP/%d, want HTTP/2", proto.Load())
	}

	c, _ = newTestClient(t, Options{Retries: -1, Indexes: []Index{{URL: srv.URL + "/simple"}}})
	_, err := c.Project(ctx, "pkg")
	if err == nil || !strings.Contains(err.Error(), "reaching index "+srv.URL+"/simple/ for \"pkg\"") || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("got %v, want a certificate error naming the index", err)
	}
	if failure.KindOf(err) != failure.KindInfra {
		t.Errorf("got kind %v, want infrastructure", failure.KindOf(err))
	}

	if _, err := New(Options{CertFile: filepath.Join(t.TempDir(), "missing.pem"), CacheDir: t.TempDir()}); err == nil || failure.KindOf(err) != failure.KindUser {
		t.Errorf("got %v for a missing CA bundle, want a user error", err)
	}
}

func TestPipCert(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "pip.conf")
	os.WriteFile(conf, []byte("[global]\ncert = /etc/ssl/my.pem\n"), 0o644)
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"PIP_CERT": "/env.pem", "PIP_CONFIG_FILE": conf}, "/env.pem"},
		{map[string]string{"PIP_CONFIG_FILE": conf}, "/etc/ssl/my.pem"},
		{map[string]string{"PIP_CONFIG_FILE": os.DevNull}, ""},
	}
	for _, tt := range tests {
		got, err := PipCert(tt.env)
		if err != nil || got != tt.want {
			t.Errorf("PipCert(%v) = %q, %v; want %q", tt.env, got, err, tt.want)
		}
	}
}
