package app

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envbuild/envbuild/lock/lockfile"
)

// Ten `envbuild lock --env NAME` processes on one envbuild.toml, against
// an index slow enough that they all resolve at once: every environment
// is in the lock afterwards, in every trial (issue: only the last
// writer's environment used to survive).
func TestConcurrentLocksKeepEveryEnvironment(t *testing.T) {
	isolate(t)
	const envs = 10
	trials := 20
	if testing.Short() {
		trials = 3
	}
	index, _ := url.Parse(pypiIndex(t, []wheelFixture{{name: "six", version: "1.16.0"}, {name: "idna", version: "3.7"}}))
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: index.Scheme, Host: index.Host})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(150 * time.Millisecond)
		proxy.ServeHTTP(w, r)
	}))
	defer slow.Close()
	var toml strings.Builder
	toml.WriteString("python = \"3.11\"\n")
	for i := 0; i < envs; i++ {
		fmt.Fprintf(&toml, "\n[envs.e%d.pypi]\npackages = { six = \"\", idna = \"\" }\n", i)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for trial := 0; trial < trials; trial++ {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "envbuild.toml"), []byte(toml.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failures []string
		for i := 0; i < envs; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				cmd := exec.Command(self, "lock", "--env", fmt.Sprintf("e%d", i), "--index-url", slow.URL+"/simple", "--cache-dir", filepath.Join(dir, "cache"))
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "ENVBUILD_APP_TEST_AS_MAIN=1")
				if out, err := cmd.CombinedOutput(); err != nil {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("e%d: %v: %s", i, err, out))
					mu.Unlock()
				}
			}(i)
		}
		wg.Wait()
		if len(failures) > 0 {
			t.Fatalf("trial %d: %s", trial, strings.Join(failures, "\n"))
		}
		f, err := lockfile.Read(filepath.Join(dir, "envbuild.lock"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range f.Envs {
			names = append(names, e.Name)
		}
		if len(names) != envs {
			t.Fatalf("trial %d: the lock has %d environment(s) %v, want %d", trial, len(names), names, envs)
		}
	}
}
