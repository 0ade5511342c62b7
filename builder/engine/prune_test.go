package engine

import (
	"testing"
	"time"

	"github.com/moby/buildkit/client"
)

func TestWouldPrune(t *testing.T) {
	now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	at := func(days int) *time.Time { tm := now.Add(-time.Duration(days) * 24 * time.Hour); return &tm }
	du := []*client.UsageInfo{
		{ID: "old", Size: 100, LastUsedAt: at(9), RecordType: client.UsageRecordTypeRegular},
		{ID: "mid", Size: 50, LastUsedAt: at(3), RecordType: client.UsageRecordTypeRegular},
		{ID: "new", Size: 10, LastUsedAt: at(0), RecordType: client.UsageRecordTypeRegular},
		{ID: "busy", Size: 500, LastUsedAt: at(20), InUse: true},
		{ID: "frontend", Size: 7, LastUsedAt: at(20), RecordType: client.UsageRecordTypeFrontend},
		{ID: "shared", Size: 5, LastUsedAt: at(20), Shared: true, RecordType: client.UsageRecordTypeRegular},
	}
	ids := func(rs []CacheRecord) (s []string) {
		for _, r := range rs {
			s = append(s, r.ID)
		}
		return s
	}
	for _, tc := range []struct {
		name string
		o    PruneOptions
		want string
	}{
		{"everything unused", PruneOptions{}, "old mid new"},
		{"all", PruneOptions{All: true}, "frontend shared old mid new"},
		{"until 2 days", PruneOptions{KeepDuration: 48 * time.Hour}, "old mid"},
		// 672 bytes in all; keeping 600 takes the oldest candidate only.
		{"keep storage", PruneOptions{KeepStorage: 600}, "old"},
		{"keep storage, nothing to do", PruneOptions{KeepStorage: 1000}, ""},
	} {
		got := ids(wouldPrune(du, tc.o, now))
		if s := join(got); s != tc.want {
			t.Errorf("%s: would prune %q, want %q", tc.name, s, tc.want)
		}
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}
