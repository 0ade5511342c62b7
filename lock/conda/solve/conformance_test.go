//go:build conformance

package solve

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/lock/conda/matchspec"
	"github.com/envbuild/envbuild/lock/conda/repodata"
)

// The shared channels (see ../shared/data/README.md): 5,643 records of
// Anaconda's defaults channel, and rattler's small synthetic test channel.
const (
	defaultsSubset = "../../../../shared/data/conda/channels/defaults-subset/linux-64/repodata.json"
	dummyChannel   = "../../../../shared/data/conda/channels/dummy/linux-64/repodata.json"
	pytorchChannel = "../../../../shared/data/conda/channels/pytorch/linux-64/repodata.json"
)

// twoChannelSpecs are solved with the pytorch channel first and the
// defaults subset second (strict channel priority across channels).
var twoChannelSpecs = [][]string{
	{"pytorch-cpu"},
	{"python=3.6", "pytorch-cpu"},
	{"python=3.6", "ignite"},
	{"torchvision-cpu"},
	{"pytorch", "python=3.6"},
}

// dummySpecs are solved against rattler's dummy channel: .conda and
// .tar.bz2 twins, constrains, track_features written four ways, a
// constrains on a virtual package, pip-style extras in a constrains, and a
// package that needs the (absent) __unix.
var dummySpecs = [][]string{
	{"foo"},
	{"foo=3.0.2", "bors>=2"},
	{"foo", "bors>=2"},
	{"foobar", "bors"},
	{"track-features"},
	{"xbar"},
	{"cuda-version"},
	{"issue_717"},
	{"baz"},
	{"bar"},
	{"conda-only"},
}

// ConformanceSpecs are solved by envbuild and by py-rattler on the same
// repodata. (The subset has no scikit-learn, so the example is
// replaced by packages it does have.)
var ConformanceSpecs = [][]string{
	{"python=3.6", "numpy", "pandas"},
	{"python=3.5", "pandas>=0.23"},
	{"python=3.7", "numpy=1.11"},
	{"python=2.7", "scipy", "matplotlib"},
	{"python=3.6", "dask", "distributed"},
	{"python=3.6", "jupyter"},
	{"python=3.7", "conda-build"},
	{"python=3.6", "numpy=1.14", "scipy"},
	{"python 3.6.*", "ipython", "requests"},
	{"r-base"},
	{"python=3.4", "pandas=0.23"}, // unsatisfiable for both: no python 3.4
}

// knownDifferences explains answers that differ from rattler's on purpose,
// keyed by the specs joined with spaces.
var knownDifferences = map[string]string{}

type rattlerResult struct {
	Records [][3]string `json:"records"`
	SolveMS []float64   `json:"solve_ms"`
	TotalMS []float64   `json:"total_ms"`
	Error   string      `json:"error"`
}

// rattlerSolve runs lock/conda/testdata/rattler_solve.py; it skips the test
// when python3 or py-rattler is missing.
func rattlerSolve(t testing.TB, repodataPath string, runs int, specs []string) rattlerResult {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not on PATH; install it and py-rattler (pip install py-rattler) to compare with rattler")
	}
	if err := exec.Command(py, "-c", "import rattler").Run(); err != nil {
		t.Skip("py-rattler is not importable; install it with: pip install py-rattler")
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "testdata", "rattler_solve.py")
	args := append([]string{script, repodataPath, "linux-64", fmt.Sprint(runs)}, specs...)
	out, err := exec.Command(py, args...).Output()
	if err != nil {
		t.Fatalf("running %s: %v", script, err)
	}
	var res rattlerResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("reading rattler_solve.py's output %q: %v", out, err)
	}
	return res
}

// loadIndex indexes a shared channel lazily, the way lock does.
func loadIndex(t testing.TB, rel string) *repodata.Index {
	t.Helper()
	path, _ := filepath.Abs(rel)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("the shared conda data is absent (%s): this test needs ../shared/data/conda", path)
	}
	x, err := repodata.ReadIndexFile(path, repodata.Source{Channel: "conformance"})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestConformanceRattler(t *testing.T) {
	compareWithRattler(t, []string{defaultsSubset}, ConformanceSpecs)
}

func TestConformanceRattlerDummy(t *testing.T) {
	compareWithRattler(t, []string{dummyChannel}, dummySpecs)
}

func TestConformanceRattlerTwoChannels(t *testing.T) {
	compareWithRattler(t, []string{pytorchChannel, defaultsSubset}, twoChannelSpecs)
}

// compareWithRattler solves each request against the channels (repodata
// files in priority order) with envbuild and with py-rattler.
func compareWithRattler(t *testing.T, repodataPaths []string, requests [][]string) {
	var chans []ChannelRepodata
	var abs []string
	for i, rel := range repodataPaths {
		index := loadIndex(t, rel)
		chans = append(chans, ChannelRepodata{Channel: fmt.Sprintf("channel%d", i), Sources: []RecordSource{index}})
		p, _ := filepath.Abs(rel)
		abs = append(abs, p)
	}
	path := strings.Join(abs, ",")
	for _, specs := range requests {
		key := strings.Join(specs, " ")
		want := rattlerSolve(t, path, 1, specs)
		var ms []matchspec.MatchSpec
		for _, s := range specs {
			ms = append(ms, matchspec.MustParse(s))
		}
		got, err := Solve(context.Background(), Request{Specs: ms, Channels: chans})
		if err != nil || want.Error != "" {
			if (err == nil) != (want.Error == "") {
				t.Errorf("%s: envbuild: %v; rattler: %s", key, err, want.Error)
			} else {
				t.Logf("%s: both fail\n  envbuild: %v\n  rattler: %s", key, err, want.Error)
			}
			continue
		}
		gotSet := map[string]string{}
		for _, r := range got {
			gotSet[r.Name] = r.Version + " " + r.Build
		}
		wantSet := map[string]string{}
		for _, r := range want.Records {
			wantSet[r[0]] = r[1] + " " + r[2]
		}
		var diffs []string
		for n, w := range wantSet {
			if g, ok := gotSet[n]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s: rattler %s, envbuild none", n, w))
			} else if g != w {
				diffs = append(diffs, fmt.Sprintf("%s: rattler %s, envbuild %s", n, w, g))
			}
		}
		for n, g := range gotSet {
			if _, ok := wantSet[n]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s: rattler none, envbuild %s", n, g))
			}
		}
		sort.Strings(diffs)
		switch {
		case len(diffs) == 0:
			t.Logf("%s: same %d records as rattler", key, len(got))
		case knownDifferences[key] != "":
			t.Logf("%s: differs from rattler as explained (%s):\n  %s", key, knownDifferences[key], strings.Join(diffs, "\n  "))
		default:
			t.Errorf("%s: differs from rattler:\n  %s", key, strings.Join(diffs, "\n  "))
		}
	}
}
