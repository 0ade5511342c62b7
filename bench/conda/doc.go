// Package conda benchmarks envbuild's conda solver against py-rattler on
// the same repodata (the shared defaults subset). It holds tests only:
//
//	go test -tags bench -run CompareRattler -v ./bench/conda   # medians and ratios
//	go test -bench . ./bench/conda                           # Go benchmarks alone
//
// Both skip, saying why, when the shared conda data beside the checkout or py-rattler is absent.
package conda
