package solve

import (
	"context"
	"testing"

	"github.com/envbuild/envbuild/lock/conda/matchspec"
	"github.com/envbuild/envbuild/lock/conda/repodata"
)

func BenchmarkScratch(b *testing.B) {
	recs, err := repodata.ReadFile("/work/shared/data/conda/channels/defaults-subset/linux-64/repodata.json", repodata.Source{Channel: "defaults"})
	if err != nil {
		b.Fatal(err)
	}
	var ms []matchspec.MatchSpec
	for _, s := range []string{"python=3.5", "pandas>=0.23"} {
		ms = append(ms, matchspec.MustParse(s))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, err := Solve(context.Background(), Request{Specs: ms, Channels: []ChannelRepodata{{Channel: "defaults", Records: recs}}})
		if err != nil {
			b.Fatal(err)
		}
	}
}
