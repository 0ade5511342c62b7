//go:build bench

package conda

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/envbuild/envbuild/lock/conda/repodata"
)

const runs = 31

var docPath = flag.String("doc", "", "write the table as markdown to this file (make bench-conda: docs/BENCH-conda.md)")

type rattlerRun struct {
	SolveMS float64    `json:"solve_ms"`
	TotalMS float64    `json:"total_ms"`
	Records [][]string `json:"records"`
	Error   string     `json:"error"`
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func timed(f func()) float64 {
	start := time.Now()
	f()
	return float64(time.Since(start).Microseconds()) / 1000
}

// rattler is rattler_serve.py, answering one run per request.
type rattler struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startRattler(t *testing.T, py, path string) *rattler {
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.Command(py, filepath.Join(filepath.Dir(file), "rattler_serve.py"), path, "linux-64")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return &rattler{cmd: cmd, in: in, out: bufio.NewReader(out)}
}

func (r *rattler) run(t *testing.T, specs []string) rattlerRun {
	b, _ := json.Marshal(specs)
	if _, err := r.in.Write(append(b, '\n')); err != nil {
		t.Fatal(err)
	}
	line, err := r.out.ReadBytes('\n')
	if err != nil {
		t.Fatalf("rattler_serve.py: %v", err)
	}
	var rr rattlerRun
	if err := json.Unmarshal(line, &rr); err != nil || rr.Error != "" {
		t.Fatalf("rattler_serve.py: %v %s", err, rr.Error)
	}
	return rr
}

func (r *rattler) stop() {
	r.in.Close()
	r.cmd.Wait()
}

func nameVersionBuild(recs []repodata.Record) [][]string {
	var out [][]string
	for _, r := range recs {
		out = append(out, []string{r.Name, r.Version, r.Build})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// TestCompareRattler prints, per request, the median solve time of envbuild
// and of py-rattler (repodata in memory) and of read+solve (py-rattler:
// opening its SparseRepoData, which reads records lazily), and the ratios.
// The two take turns run by run (envbuild solve, envbuild read+solve,
// py-rattler read+solve), so a load on the machine falls on both alike;
// each one's first run is a warm-up, not counted.
func TestCompareRattler(t *testing.T) {
	path := subsetPath(t)
	py, err := exec.LookPath("python3")
	if err != nil || exec.Command(py, "-c", "import rattler").Run() != nil {
		t.Skip("py-rattler is not importable; install it with: pip install py-rattler")
	}
	version, _ := exec.Command(py, "-c", "import importlib.metadata as m; print(m.version('py-rattler'))").Output()
	recs, err := repodata.ReadFile(path, repodata.Source{Channel: "defaults"})
	if err != nil {
		t.Fatal(err)
	}
	rat := startRattler(t, py, path)
	defer rat.stop()
	loadBefore := loadavg()
	type row struct {
		specs                            []string
		goSolve, rSolve, goTotal, rTotal float64
		same                             bool
	}
	var rows []row
	for _, specs := range benchSpecs {
		ms := parseSpecs(t, specs)
		// Warm-ups, and the answers compared.
		solveOnly(t, recs, ms)
		got := nameVersionBuild(readAndSolve(t, path, ms))
		want := rat.run(t, specs).Records
		var goSolve, goTotal, rSolve, rTotal []float64
		for i := 0; i < runs; i++ {
			goSolve = append(goSolve, timed(func() { solveOnly(t, recs, ms) }))
			goTotal = append(goTotal, timed(func() { readAndSolve(t, path, ms) }))
			rr := rat.run(t, specs)
			rSolve = append(rSolve, rr.SolveMS)
			rTotal = append(rTotal, rr.TotalMS)
		}
		rows = append(rows, row{specs, median(goSolve), median(rSolve), median(goTotal), median(rTotal),
			fmt.Sprint(got) == fmt.Sprint(want)})
	}
	loadAfter := loadavg()

	var b strings.Builder
	fmt.Fprintf(&b, "| request | solve ms | rattler | ratio | read+solve ms | rattler | ratio | same packages |\n")
	fmt.Fprintf(&b, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, r := range rows {
		same := "yes"
		if !r.same {
			same = "**no**"
			t.Errorf("%s: envbuild and py-rattler chose different packages", strings.Join(r.specs, " "))
		}
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %s |\n", strings.Join(r.specs, " "),
			r.goSolve, r.rSolve, r.goSolve/r.rSolve, r.goTotal, r.rTotal, r.goTotal/r.rTotal, same)
	}
	t.Logf("load average %s before, %s after\n%s", loadBefore, loadAfter, b.String())
	if *docPath == "" {
		return
	}
	var d strings.Builder
	fmt.Fprintf(&d, "# conda solves: envbuild vs py-rattler\n\n")
	fmt.Fprintf(&d, "`make bench-conda` (`go test -tags bench -run CompareRattler -v ./bench/conda`)\n")
	fmt.Fprintf(&d, "on %s, on a %d-core machine shared with other work (load average %s before, %s after):\n", time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), loadBefore, loadAfter)
	fmt.Fprintf(&d, "medians of %d runs, same repodata (the %d-record subset of the `defaults` channel's linux-64 and noarch repodata, a data\n", runs, len(recs))
	fmt.Fprintf(&d, "set kept outside this repository: the benchmark skips without it), py-rattler %s.\n", strings.TrimSpace(string(version)))
	fmt.Fprintf(&d, "The two take turns run by run (envbuild solve, envbuild read+solve, py-rattler read+solve, in one long-lived\n")
	fmt.Fprintf(&d, "Python process), so a load on the machine falls on both alike; absolute times are noisy, the ratios less so.\n\n")
	fmt.Fprintf(&d, "\"solve\" is the solver alone: envbuild's on repodata already decoded in memory, py-rattler's after its\n")
	fmt.Fprintf(&d, "SparseRepoData is open (it still decodes the records it touches). \"read+solve\" adds reading the repodata file:\n")
	fmt.Fprintf(&d, "envbuild's repodata.ReadIndexFile and py-rattler's SparseRepoData both find every record and decode only those\n")
	fmt.Fprintf(&d, "the solve asks for; neither keeps anything between runs but what the operating system caches of the file.\n")
	fmt.Fprintf(&d, "A ratio is envbuild over py-rattler (below 1 is faster). \"same packages\" compares the names, versions and\n")
	fmt.Fprintf(&d, "builds both chose (`make conformance` checks more requests over three channel setups).\n")
	fmt.Fprintf(&d, "Target: read+solve at or below 1.0 on every request.\n\n")
	d.WriteString(b.String())
	worst := 0.0
	for _, r := range rows {
		worst = max(worst, r.goTotal/r.rTotal)
	}
	met := "met on every request"
	if worst > 1 {
		met = "not met on every request"
	}
	fmt.Fprintf(&d, "\nThe highest read+solve ratio in this run is %.2f: the target is %s.\n", worst, met)
	if err := os.WriteFile(*docPath, []byte(d.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
