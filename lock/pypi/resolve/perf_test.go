package resolve

import (
	"context"
	"fmt"
	"math/rand"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the user and system CPU time of this process: unlike the
// wall clock it does not grow when other work shares the machine.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// botoLike is the shape of boto3 and botocore: every boto3 release pins a
// narrow botocore range, so "boto3 botocore<1.30" backtracks through every
// boto3 release newer than the last one that accepts an old botocore.
func botoLike(n int) map[string]map[string][]string {
	pkgs := map[string]map[string][]string{"boto3": {}, "botocore": {}, "jmespath": {"1.0.1": nil}}
	for i := 0; i < n; i++ {
		pkgs["boto3"][fmt.Sprintf("1.%d.0", i)] = []string{fmt.Sprintf("botocore>=1.%d.0,<1.%d.0", i, i+1), "jmespath<2"}
		pkgs["botocore"][fmt.Sprintf("1.%d.0", i)] = []string{"jmespath>=0.7"}
	}
	return pkgs
}

func TestResolveBacktracksThroughManyVersions(t *testing.T) {
	p := &memProvider{pkgs: botoLike(400)}
	start := cpuTime(t)
	got, err := Resolve(context.Background(), p, mustDeps(t, "boto3", "botocore<1.30"), Options{})
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if g, want := render(got), "boto3 1.29.0, botocore 1.29.0, jmespath 1.0.1"; g != want {
		t.Errorf("got %s, want %s", g, want)
	}
	if d := cpuTime(t) - start; d > time.Second {
		t.Errorf("took %v of CPU, want well under a second", d)
	}
}

// randomGraph is a deterministic graph of n packages with m versions each,
// shaped like PyPI: every version depends on a few later packages, mostly
// with a lower bound, sometimes with an upper bound that newer releases of
// the dependency break, so the solver has to backtrack now and then.
func randomGraph(n, m int, seed int64) map[string]map[string][]string {
	r := rand.New(rand.NewSource(seed))
	pkgs := map[string]map[string][]string{}
	for i := 0; i < n; i++ {
		vs := map[string][]string{}
		for j := 0; j < m; j++ {
			var deps []string
			for k := 0; k < 4 && i+1 < n; k++ {
				d := i + 1 + r.Intn(min(n-i-1, 60))
				spec := fmt.Sprintf("p%d>=%d.0", d, r.Intn(j+1))
				if r.Intn(8) == 0 {
					spec += fmt.Sprintf(",<%d.0", m-r.Intn(m/3))
				}
				deps = append(deps, spec)
			}
			vs[fmt.Sprintf("%d.0", j)] = deps
		}
		pkgs[fmt.Sprintf("p%d", i)] = vs
	}
	return pkgs
}

func TestResolveLargeGraphIsFastAndDeterministic(t *testing.T) {
	pkgs := randomGraph(300, 30, 7)
	var first string
	for run := 0; run < 3; run++ {
		p := &memProvider{pkgs: pkgs}
		start := cpuTime(t)
		got, err := Resolve(context.Background(), p, mustDeps(t, "p0", "p1", "p2"), Options{})
		d := cpuTime(t) - start
		out := ""
		if err != nil {
			out = err.Error()
		} else {
			out = render(got)
		}
		if run == 0 {
			first = out
			t.Logf("%d packages chosen or explanation of %d bytes, %d metadata reads, %v", len(got), len(out), p.calls, d)
		} else if out != first {
			t.Fatalf("run %d differs from run 0:\n%s\nvs\n%s", run, out, first)
		}
		if d > time.Second {
			t.Errorf("took %v of CPU, want well under a second", d)
		}
	}
}
