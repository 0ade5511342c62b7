package engine

import (
	"context"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/moby/buildkit/client"

	"github.com/envbuild/envbuild/lock/failure"
)

// PruneOptions bound what Prune removes from BuildKit's cache.
type PruneOptions struct {
	// All includes BuildKit's internal and frontend records and records
	// shared with others (buildctl prune --all).
	All bool
	// KeepStorage keeps the most recently used records up to this many
	// bytes; 0 keeps none.
	KeepStorage int64
	// KeepDuration keeps records used within this long; 0 keeps none.
	KeepDuration time.Duration
	// DryRun lists what would be removed and removes nothing.
	DryRun bool
}

// CacheRecord is one record of BuildKit's cache.
type CacheRecord struct {
	ID          string    `json:"id"`
	Description string    `json:"description,omitempty"`
	Size        int64     `json:"size"`
	LastUsed    time.Time `json:"last_used"`
}

// Prune removes (or with DryRun lists) the records of BuildKit's cache
// the options do not keep. A dry run applies BuildKit's own rules to its
// disk usage: records in use are kept; without All, internal, frontend
// and shared records too; then those used within KeepDuration; then, the
// most recently used first, records up to KeepStorage bytes.
func (e *Engine) Prune(ctx context.Context, o PruneOptions) ([]CacheRecord, error) {
	if !o.DryRun {
		opts := []client.PruneOption{client.WithKeepOpt(o.KeepDuration, o.KeepStorage, o.KeepStorage, 0)}
		if o.All {
			opts = append(opts, client.PruneAll)
		}
		ch := make(chan client.UsageInfo)
		done := make(chan []CacheRecord)
		go func() {
			var out []CacheRecord
			for u := range ch {
				out = append(out, record(u))
			}
			done <- out
		}()
		err := e.c.Prune(ctx, ch, opts...)
		close(ch)
		out := <-done
		if err != nil {
			return out, failure.Infra(fmt.Errorf("pruning BuildKit's cache at %s: %w", e.Addr, err))
		}
		return out, nil
	}
	du, err := e.c.DiskUsage(ctx)
	if err != nil {
		return nil, failure.Infra(fmt.Errorf("asking BuildKit at %s for its disk usage: %w", e.Addr, err))
	}
	return wouldPrune(du, o, time.Now()), nil
}

func wouldPrune(du []*client.UsageInfo, o PruneOptions, now time.Time) []CacheRecord {
	var cands []*client.UsageInfo
	var total int64
	for _, u := range du {
		total += u.Size
		if u.InUse {
			continue
		}
		if !o.All && (u.RecordType == client.UsageRecordTypeInternal || u.RecordType == client.UsageRecordTypeFrontend || u.Shared) {
			continue
		}
		if o.KeepDuration > 0 && lastUsed(u).After(now.Add(-o.KeepDuration)) {
			continue
		}
		cands = append(cands, u)
	}
	// Oldest first: they go first when only some must go.
	sort.SliceStable(cands, func(i, j int) bool { return lastUsed(cands[i]).Before(lastUsed(cands[j])) })
	var out []CacheRecord
	for _, u := range cands {
		if o.KeepStorage > 0 && total <= o.KeepStorage {
			break
		}
		total -= u.Size
		out = append(out, record(*u))
	}
	return out
}

func lastUsed(u *client.UsageInfo) time.Time {
	if u.LastUsedAt != nil {
		return *u.LastUsedAt
	}
	return u.CreatedAt
}

func record(u client.UsageInfo) CacheRecord {
	return CacheRecord{ID: u.ID, Description: u.Description, Size: u.Size, LastUsed: lastUsed(&u)}
}

// ConnectRunning connects to the BuildKit opts name without starting one:
// the address, else envbuild's local daemon when it answers, else
// envbuild's BuildKit container when it runs. It returns nil and no error
// when none is running.
func ConnectRunning(ctx context.Context, opts ConnectOptions) (*Engine, error) {
	if opts.Addr != "" {
		return Connect(ctx, opts)
	}
	local := "unix://" + LocalSocket
	if !localDisabled() && answers(ctx, local) {
		return Dial(ctx, local)
	}
	if addr := runningDocker(ctx); addr != "" {
		return Dial(ctx, addr)
	}
	return nil, nil
}

// localDisabled: ENVBUILD_NO_LOCAL_BUILDKITD set means envbuild neither
// uses nor starts its local buildkitd, and goes to Docker directly (a root
// Linux user who wants BuildKit in a container; tests on a shared machine).
func localDisabled() bool { return os.Getenv("ENVBUILD_NO_LOCAL_BUILDKITD") != "" }
