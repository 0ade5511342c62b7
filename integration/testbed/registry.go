package testbed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// registryConfig is a CNCF Distribution (2.x) configuration for one registry
// on 127.0.0.1. htpasswd is empty for a registry without authentication.
func registryConfig(storage, addr, htpasswd string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: %s
`, storage, addr, randomHex(16))
	if htpasswd != "" {
		fmt.Fprintf(&b, `auth:
  htpasswd:
    realm: envbuild-testbed
    path: %s
`, htpasswd)
	}
	return b.String()
}

// htpasswdLine returns one bcrypt htpasswd entry. The registry checks the
// password on every request, so the minimum cost keeps pushes fast; these
// are throwaway credentials.
func htpasswdLine(user, password string) (string, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		return "", fmt.Errorf("hashing the test registry password: %w", err)
	}
	return user + ":" + string(hash) + "\n", nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("reading random bytes: %v", err))
	}
	return hex.EncodeToString(b)
}

// freeLoopbackAddr returns 127.0.0.1:PORT with a port that was free a moment
// ago. The caller retries when the daemon loses the race for it.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port on 127.0.0.1: %w", err)
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// startRegistry starts `docker-registry serve` under dir and waits until
// /v2/ answers (200 without auth, 401 with it).
func startRegistry(ctx context.Context, dir, name, htpasswd string, detach bool) (string, *process, error) {
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		return "", nil, fmt.Errorf("finding the registry binary: %w; run scripts/setup.sh (apt-get install docker-registry)", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "storage"), 0o755); err != nil {
		return "", nil, fmt.Errorf("creating registry state %q: %w", dir, err)
	}
	want := http.StatusOK
	if htpasswd != "" {
		want = http.StatusUnauthorized
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		addr, err := freeLoopbackAddr()
		if err != nil {
			return "", nil, err
		}
		cfgPath := filepath.Join(dir, "config.yml")
		if err := os.WriteFile(cfgPath, []byte(registryConfig(filepath.Join(dir, "storage"), addr, htpasswd)), 0o600); err != nil {
			return "", nil, fmt.Errorf("writing registry config %q: %w", cfgPath, err)
		}
		p, err := startProcess(name, filepath.Join(dir, "registry.log"), []string{bin, "serve", cfgPath}, detach)
		if err != nil {
			return "", nil, err
		}
		if lastErr = waitHTTP(ctx, p, "http://"+addr+"/v2/", want, 20*time.Second); lastErr == nil {
			return addr, p, nil
		}
		_ = p.stop(5 * time.Second)
	}
	return "", nil, fmt.Errorf("starting registry %s: %w", name, lastErr)
}

// waitHTTP polls url until it returns status want, the process exits or the
// timeout passes.
func waitHTTP(ctx context.Context, p *process, url string, want int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("checking %q: %w", url, err)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return nil
			}
			last = fmt.Sprintf("status %d, want %d", resp.StatusCode, want)
		} else {
			last = err.Error()
		}
		if p.exited() {
			return fmt.Errorf("%s exited before %q answered (%s); see %s", p.Name, url, last, p.Log)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%q did not answer within %s (%s); see %s", url, timeout, last, p.Log)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
