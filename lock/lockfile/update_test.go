package lockfile

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Ten writers of different environments of one lock, each reading the
// lock, "resolving" for a while and writing its environment, as `envbuild
// lock --env NAME` does: every environment survives, in every trial.
func TestConcurrentWritersKeepEveryEnvironment(t *testing.T) {
	const writers, trials = 10, 20
	for trial := 0; trial < trials; trial++ {
		p := filepath.Join(t.TempDir(), "envbuild.lock")
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for i := 0; i < writers; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				if _, err := Read(p); err != nil { // what the resolve starts from
					errs <- err
					return
				}
				time.Sleep(time.Duration(i%3) * 5 * time.Millisecond) // the resolve
				e := Env{Name: fmt.Sprintf("env%02d", i), SpecDigest: "sha256:x"}
				if _, err := PutEnv(p, e); err != nil {
					errs <- err
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		f, err := Read(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Envs) != writers {
			t.Fatalf("trial %d: %d environment(s) survived, want %d", trial, len(f.Envs), writers)
		}
	}
}

// The sidecar is what is locked; it stays, and nothing else is left.
func TestUpdateLeavesOnlyTheSidecar(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "envbuild.lock")
	if _, err := PutEnv(p, Env{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Update(p, func(*File) (*File, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if fmt.Sprint(names) != "[.envbuild.lock.lock envbuild.lock]" {
		t.Errorf("files %v", names)
	}
}
