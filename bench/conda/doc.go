// Package conda benchmarks envbuild's conda solver against py-rattler on
// the same repodata (the shared defaults subset). It holds tests only:
//
//	go test -tags bench -run CompareRattler -v ./bench/conda   # medians and ratios (make bench-conda also writes docs/BENCH-conda.md)
//	go test -bench . ./bench/conda                           # Go benchmarks alone
//
// The comparison keeps py-rattler running in one Python process
// (rattler_serve.py) and takes turns with it run by run, so both see the
// same load. Both skip, saying why, when the shared conda data beside the
// checkout or py-rattler is absent.
package conda
