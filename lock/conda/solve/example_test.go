package solve_test

import (
	"context"
	"fmt"
	"log"

	"github.com/envbuild/envbuild/lock/conda/matchspec"
	"github.com/envbuild/envbuild/lock/conda/repodata"
	"github.com/envbuild/envbuild/lock/conda/solve"
	"github.com/envbuild/envbuild/lock/conda/virtual"
	"github.com/envbuild/envbuild/lock/target"
)

// Solving two specs against a channel read lazily, for a linux/amd64 image
// with glibc 2.36.
func ExampleSolve() {
	index, err := repodata.ReadIndexFile("testdata/main.json", repodata.Source{Channel: "main", BaseURL: "https://conda.example/main"})
	if err != nil {
		log.Fatal(err)
	}
	virt, err := virtual.Packages(target.Target{Platform: "linux/amd64", Libc: "glibc", LibcVersion: "2.36"}, "", nil)
	if err != nil {
		log.Fatal(err)
	}
	recs, err := solve.Solve(context.Background(), solve.Request{
		Specs:    []matchspec.MatchSpec{matchspec.MustParse("python=3.11"), matchspec.MustParse("numpy")},
		Channels: []solve.ChannelRepodata{{Channel: "main", Sources: []solve.RecordSource{index}}},
		Virtual:  virt,
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range recs {
		fmt.Println(r.Name, r.Version, r.Build)
	}
	// Output:
	// libblas 3.9.0 mkl_0
	// libc-shim 1.0 h0
	// numpy 2.0.0 py311h0_0
	// openssl 3.2.0 h0
	// python 3.11.7 h0_cpython
	// zlib 1.3 h0
}
