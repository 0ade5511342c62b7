package conda

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/lock/conda/matchspec"
	"github.com/envbuild/envbuild/lock/conda/repodata"
	"github.com/envbuild/envbuild/lock/conda/solve"
)

// benchSpecs are the requests timed against py-rattler.
var benchSpecs = [][]string{
	{"python=3.6", "numpy", "pandas"},
	{"python=2.7", "scipy", "matplotlib"},
	{"python=3.6", "jupyter"},
	{"python=3.7", "conda-build"},
	{"r-base"},
}

// subsetPath returns the shared defaults subset, or skips.
func subsetPath(tb testing.TB) string {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "data", "conda", "channels", "defaults-subset", "linux-64", "repodata.json")
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("the shared conda data is absent (%s): the benchmark needs ../shared/data/conda", p)
	}
	return p
}

func parseSpecs(tb testing.TB, specs []string) []matchspec.MatchSpec {
	var ms []matchspec.MatchSpec
	for _, s := range specs {
		m, err := matchspec.Parse(s)
		if err != nil {
			tb.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

// readAndSolve indexes repodata.json lazily (as py-rattler's SparseRepoData
// does) and solves.
func readAndSolve(tb testing.TB, path string, specs []matchspec.MatchSpec) []repodata.Record {
	x, err := repodata.ReadIndexFile(path, repodata.Source{Channel: "defaults"})
	if err != nil {
		tb.Fatal(err)
	}
	recs, err := solve.Solve(context.Background(), solve.Request{Specs: specs, Channels: []solve.ChannelRepodata{{Channel: "defaults", Sources: []solve.RecordSource{x}}}})
	if err != nil {
		tb.Fatal(err)
	}
	return recs
}

func solveOnly(tb testing.TB, recs []repodata.Record, specs []matchspec.MatchSpec) {
	_, err := solve.Solve(context.Background(), solve.Request{Specs: specs, Channels: []solve.ChannelRepodata{{Channel: "defaults", Records: recs}}})
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkSolve times the solve alone, repodata already in memory.
func BenchmarkSolve(b *testing.B) {
	path := subsetPath(b)
	recs, err := repodata.ReadFile(path, repodata.Source{Channel: "defaults"})
	if err != nil {
		b.Fatal(err)
	}
	for _, specs := range benchSpecs {
		ms := parseSpecs(b, specs)
		b.Run(strings.Join(specs, "_"), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				solveOnly(b, recs, ms)
			}
		})
	}
}

// BenchmarkReadAndSolve times reading repodata.json and solving.
func BenchmarkReadAndSolve(b *testing.B) {
	path := subsetPath(b)
	for _, specs := range benchSpecs {
		ms := parseSpecs(b, specs)
		b.Run(strings.Join(specs, "_"), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				readAndSolve(b, path, ms)
			}
		})
	}
}

// BenchmarkRead times reading repodata.json into an Index alone.
func BenchmarkRead(b *testing.B) {
	path := subsetPath(b)
	for i := 0; i < b.N; i++ {
		if _, err := repodata.ReadIndexFile(path, repodata.Source{Channel: "defaults"}); err != nil {
			b.Fatal(err)
		}
	}
}
