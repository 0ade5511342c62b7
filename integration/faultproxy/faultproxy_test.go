package faultproxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	body := strings.Repeat("x", 100_000)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
	defer target.Close()
	p := New(target.URL)
	defer p.Close()
	get := func(ctx context.Context) (int, int, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+"/x", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, len(b), err
	}
	if code, n, err := get(context.Background()); code != 200 || n != len(body) || err != nil {
		t.Errorf("pass through: %d %d %v", code, n, err)
	}
	p.Set(func(*http.Request) Fault { return Fault{Kind: Status, Code: 503} })
	if code, _, _ := get(context.Background()); code != 503 {
		t.Errorf("status: %d", code)
	}
	p.Set(func(*http.Request) Fault { return Fault{Kind: Drop, After: 1000} })
	if _, n, err := get(context.Background()); err == nil || n >= len(body) {
		t.Errorf("drop: %d bytes, %v", n, err)
	}
	p.Set(func(*http.Request) Fault { return Fault{Kind: Stall} })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, _, err := get(ctx); err == nil {
		t.Error("stall answered")
	}
	p.Set(nil)
	if code, n, err := get(context.Background()); code != 200 || n != len(body) || err != nil {
		t.Errorf("after the faults: %d %d %v", code, n, err)
	}
}
