package engine

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/mod/semver"

	"github.com/moby/buildkit/client"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/envbuild/envbuild/lock/failure"
)

// MinBuildkitVersion is the oldest BuildKit that runs envbuild's LLB:
// MergeOp and DiffOp, which put each package in its own layer, arrived in
// v0.10.0.
const MinBuildkitVersion = "v0.10.0"

// fixUnfit is the command that gives a user a BuildKit envbuild can use.
const fixUnfit = "`docker buildx create --name envbuild --driver docker-container` and then `envbuild build --builder envbuild`, or point --buildkit-addr at a buildkitd of " + MinBuildkitVersion + " or later"

// goModBuildkitVersion is go.mod's BuildKit version, for binaries without
// module information (test binaries); a test keeps it equal to go.mod's.
const goModBuildkitVersion = "v0.34.2"

// ClientBuildkitVersion is the BuildKit version envbuild was built with
// (go.mod's).
func ClientBuildkitVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return goModBuildkitVersion
	}
	for _, d := range bi.Deps {
		if d.Path == "github.com/moby/buildkit" {
			if d.Replace != nil {
				return d.Replace.Version
			}
			return d.Version
		}
	}
	return goModBuildkitVersion
}

// DaemonInfo is what a daemon says about itself.
type DaemonInfo struct {
	// Package and Version are BuildKit's (Version "" when the daemon does
	// not answer the Info call).
	Package, Version string
	// MergeOp and DiffOp report the LLB capabilities envbuild needs.
	MergeOp, DiffOp bool
	// MountContentCache reports that a mount may turn its content-based
	// cache key off (BuildKit v0.12 and later).
	MountContentCache bool
}

// ask asks the daemon for its version (client.Info) and its LLB
// capabilities (the gateway's LLBCaps, seen by a build function that
// solves nothing).
func (e *Engine) ask(ctx context.Context) (DaemonInfo, error) {
	var di DaemonInfo
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	info, err := e.c.Info(ctx)
	switch {
	case err == nil:
		di.Package, di.Version = info.BuildkitVersion.Package, info.BuildkitVersion.Version
	case status.Code(rootCause(err)) == codes.Unimplemented || strings.Contains(err.Error(), "unknown method"):
		// Daemons before v0.11 have no Info call; their capabilities decide.
	default:
		return di, failure.Infra(fmt.Errorf("asking BuildKit at %s for its version: %w", e.Addr, err))
	}
	_, err = e.c.Build(ctx, client.SolveOpt{FrontendAttrs: map[string]string{}}, "envbuild", func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
		caps := c.BuildOpts().LLBCaps
		di.MergeOp = caps.Supports(pb.CapMergeOp) == nil
		di.DiffOp = caps.Supports(pb.CapDiffOp) == nil
		di.MountContentCache = caps.Supports(pb.CapExecMountContentCache) == nil
		return gateway.NewResult(), nil
	}, nil)
	if err != nil {
		return di, failure.Infra(fmt.Errorf("asking BuildKit at %s for its capabilities: %w", e.Addr, err))
	}
	return di, nil
}

// Judge decides whether a daemon can run envbuild's builds. It returns an
// error (exit 4, naming the fix) for a daemon that cannot, and a note for
// one whose version differs from want (go.mod's), which is allowed.
func Judge(addr string, di DaemonInfo, want string) (note string, err error) {
	v := di.Version
	known := semver.IsValid(v) && v != "v0.0.0+unknown"
	if known && semver.Compare(semver.Canonical(v), MinBuildkitVersion) < 0 {
		return "", failure.Infra(fmt.Errorf("BuildKit at %s is %s; envbuild needs %s or later (MergeOp and DiffOp): upgrade it, or use %s", addr, v, MinBuildkitVersion, fixUnfit))
	}
	if !di.MergeOp || !di.DiffOp {
		var missing []string
		if !di.MergeOp {
			missing = append(missing, "MergeOp")
		}
		if !di.DiffOp {
			missing = append(missing, "DiffOp")
		}
		what := "BuildKit"
		if v != "" {
			what += " " + v
		}
		fix := fixUnfit
		if strings.Contains(di.Package, "docker") || strings.Contains(di.Package, "moby/moby") {
			what = "Docker's built-in builder"
			fix = "turn on Docker's containerd image store (Docker Desktop: Settings, General, \"Use containerd for pulling and storing images\"; dockerd: \"features\": {\"containerd-snapshotter\": true} in daemon.json), or use " + fixUnfit
		}
		return "", failure.Infra(fmt.Errorf("%s at %s lacks %s, which envbuild's per-package layers need: %s", what, addr, strings.Join(missing, " and "), fix))
	}
	switch {
	case want == "" || v == want:
		return "", nil
	case !known:
		shown := v
		if shown == "" {
			shown = "no version"
		}
		return fmt.Sprintf("BuildKit at %s reports %s (a build without version stamping?); envbuild is built with BuildKit %s", addr, shown, want), nil
	default:
		return fmt.Sprintf("BuildKit at %s is %s; envbuild is built with BuildKit %s (it has what envbuild needs: MergeOp, DiffOp)", addr, v, want), nil
	}
}

// checkFit asks the daemon and refuses one that cannot run envbuild's LLB;
// a version other than go.mod's is logged.
func (e *Engine) checkFit(ctx context.Context, log func(string)) error {
	di, err := e.ask(ctx)
	if err != nil {
		return err
	}
	e.Info = di
	note, err := Judge(e.Addr, di, ClientBuildkitVersion())
	if err != nil {
		return err
	}
	if note != "" && log != nil {
		log(note)
	}
	return nil
}
