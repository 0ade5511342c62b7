//go:build bench

package conda

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/envbuild/envbuild/lock/conda/repodata"
)

const runs = 15

type rattlerTimes struct {
	SolveMS []float64 `json:"solve_ms"`
	TotalMS []float64 `json:"total_ms"`
	Error   string    `json:"error"`
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func timeMS(n int, f func()) []float64 {
	var out []float64
	for i := 0; i < n; i++ {
		start := time.Now()
		f()
		out = append(out, float64(time.Since(start).Microseconds())/1000)
	}
	return out
}

// TestCompareRattler prints, per request, the median solve time of envbuild
// and of py-rattler (repodata in memory) and of read+solve (py-rattler:
// opening its SparseRepoData, which reads records lazily), and the ratios.
func TestCompareRattler(t *testing.T) {
	path := subsetPath(t)
	py, err := exec.LookPath("python3")
	if err != nil || exec.Command(py, "-c", "import rattler").Run() != nil {
		t.Skip("py-rattler is not importable; install it with: pip install py-rattler")
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "lock", "conda", "testdata", "rattler_solve.py")
	recs, err := repodata.ReadFile(path, repodata.Source{Channel: "defaults"})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-32s %10s %10s %7s %12s %12s %7s\n", "request", "solve ms", "rattler", "ratio", "read+solve", "rattler", "ratio")
	for _, specs := range benchSpecs {
		ms := parseSpecs(t, specs)
		solveOnly(t, recs, ms) // warm up
		goSolve := median(timeMS(runs, func() { solveOnly(t, recs, ms) }))
		goTotal := median(timeMS(runs, func() { readAndSolve(t, path, ms) }))
		out, err := exec.Command(py, append([]string{script, path, "linux-64", fmt.Sprint(runs + 1)}, specs...)...).Output()
		if err != nil {
			t.Fatalf("running %s: %v", script, err)
		}
		var rt rattlerTimes
		if err := json.Unmarshal(out, &rt); err != nil || rt.Error != "" {
			t.Fatalf("rattler_solve.py: %v %s", err, rt.Error)
		}
		// Drop rattler's first (cold) run, as envbuild's warm-up is dropped.
		rSolve, rTotal := median(rt.SolveMS[1:]), median(rt.TotalMS[1:])
		fmt.Fprintf(&b, "%-32s %10.2f %10.2f %7.2f %12.2f %12.2f %7.2f\n", strings.Join(specs, " "),
			goSolve, rSolve, goSolve/rSolve, goTotal, rTotal, goTotal/rTotal)
	}
	t.Log(b.String())
}
