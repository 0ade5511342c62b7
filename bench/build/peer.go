package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/tonistiigi/fsutil"
)

// The files a peer's build context holds besides the Dockerfile.
const (
	requirementsFile = "requirements.txt"
	// caFile is the machine's CA bundle, bind-mounted into the install
	// step only, so pip and uv inside the build trust the same index
	// certificates as pip on this machine. It is not in any layer.
	caFile = "ca.crt"
	// uvFile is the uv binary (from the uv wheel), bind-mounted the same way.
	uvFile = "uv"
)

// dockerfile returns the peer's Dockerfile on base. Both install into
// /opt/venv, a venv on the base's python3.
//
//   - pip: what most users write, one RUN that makes the venv and runs
//     pip install -r requirements.txt (pip resolves, finds the same pins,
//     compiles bytecode).
//   - uv: the fairest Dockerfile, uv pip install --no-deps of the lock's
//     pins with a BuildKit cache mount for uv's cache, bytecode compiled
//     like envbuild's and pip's.
func dockerfile(tool, base string) (string, error) {
	switch tool {
	case "pip":
		return fmt.Sprintf(`FROM %s
COPY %s /tmp/requirements.txt
RUN --mount=type=bind,source=%s,target=/tmp/bench-ca.crt \
    python3 -m venv /opt/venv && \
    PIP_CERT=/tmp/bench-ca.crt /opt/venv/bin/pip install -r /tmp/requirements.txt
`, base, requirementsFile, caFile), nil
	case "uv":
		return fmt.Sprintf(`FROM %s
RUN python3 -m venv /opt/venv
COPY %s /tmp/requirements.txt
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=%s,target=/usr/local/bin/uv \
    --mount=type=bind,source=%s,target=/tmp/bench-ca.crt \
    SSL_CERT_FILE=/tmp/bench-ca.crt UV_LINK_MODE=copy \
    uv pip install --no-deps --compile-bytecode --python /opt/venv/bin/python -r /tmp/requirements.txt
`, base, requirementsFile, uvFile, caFile), nil
	}
	return "", fmt.Errorf("writing a Dockerfile: unknown peer %q (want pip or uv)", tool)
}

// peerContext is a build context directory for one peer build.
type peerContext struct {
	Dir string
}

// writePeerContext writes dir/Dockerfile, requirements.txt, the CA bundle
// and, for uv, the uv binary.
func writePeerContext(dir, tool, base, requirements, caBundle, uvBinary string) (*peerContext, error) {
	df, err := dockerfile(tool, base)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the build context %q: %w", dir, err)
	}
	files := map[string]string{"Dockerfile": df, requirementsFile: requirements}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return nil, fmt.Errorf("writing the build context: %w", err)
		}
	}
	if err := copyFile(caBundle, filepath.Join(dir, caFile), 0o644); err != nil {
		return nil, err
	}
	if tool == "uv" {
		if err := copyFile(uvBinary, filepath.Join(dir, uvFile), 0o755); err != nil {
			return nil, err
		}
	}
	return &peerContext{Dir: dir}, nil
}

func copyFile(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("copying %q to %q: %w", from, to, err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return fmt.Errorf("copying %q to %q: %w", from, to, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %q to %q: %w", from, to, err)
	}
	return out.Close()
}

// peerCache is BuildKit's registry cache for a peer build: Export writes
// it (type=registry, mode=max) to ref Export, Import reads it from ref
// Import; "" for neither.
type peerCache struct {
	Export, Import string
}

// peerResult is what one peer build reports.
type peerResult struct {
	Digest string
	// RunSteps counts the Dockerfile's RUN steps BuildKit executed (not
	// taken from its cache); RunCached those it took from its cache.
	RunSteps, RunCached int
}

// solveDockerfile builds the context's Dockerfile with BuildKit's
// dockerfile.v0 frontend on the daemon at addr and pushes the image to ref
// (gzip layers, OCI media types, like envbuild). It returns the pushed
// manifest's digest and the RUN steps run; progress goes to log in plain
// mode.
func solveDockerfile(ctx context.Context, addr string, pc *peerContext, ref string, cache peerCache, log io.Writer) (peerResult, error) {
	c, err := client.New(ctx, addr)
	if err != nil {
		return peerResult{}, fmt.Errorf("connecting to buildkitd %q: %w", addr, err)
	}
	defer c.Close()
	fs, err := fsutil.NewFS(pc.Dir)
	if err != nil {
		return peerResult{}, fmt.Errorf("sending the build context %q: %w", pc.Dir, err)
	}
	opt := client.SolveOpt{
		Frontend:      "dockerfile.v0",
		FrontendAttrs: map[string]string{"filename": "Dockerfile"},
		LocalMounts:   map[string]fsutil.FS{"context": fs, "dockerfile": fs},
		Exports: []client.ExportEntry{{
			Type: client.ExporterImage,
			Attrs: map[string]string{
				"name":              ref,
				"push":              "true",
				"registry.insecure": "true",
				"compression":       "gzip",
				"oci-mediatypes":    "true",
			},
		}},
	}
	if cache.Export != "" {
		opt.CacheExports = []client.CacheOptionsEntry{{Type: "registry", Attrs: map[string]string{
			"ref": cache.Export, "mode": "max", "registry.insecure": "true", "compression": "gzip", "oci-mediatypes": "true",
		}}}
	}
	if cache.Import != "" {
		opt.CacheImports = []client.CacheOptionsEntry{{Type: "registry", Attrs: map[string]string{
			"ref": cache.Import, "registry.insecure": "true",
		}}}
	}
	display, err := progressui.NewDisplay(log, progressui.PlainMode)
	if err != nil {
		return peerResult{}, err
	}
	ch := make(chan *client.SolveStatus)
	shown := make(chan *client.SolveStatus)
	steps := stepCounter{}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(shown)
		for st := range ch {
			steps.add(st)
			shown <- st
		}
	}()
	go func() {
		defer wg.Done()
		_, _ = display.UpdateFrom(context.WithoutCancel(ctx), shown)
		for range shown {
		}
	}()
	resp, err := c.Solve(ctx, nil, opt, ch)
	wg.Wait()
	if err != nil {
		return peerResult{}, fmt.Errorf("building %q with the Dockerfile in %q: %w", ref, pc.Dir, err)
	}
	dgst := resp.ExporterResponse["containerimage.digest"]
	if !strings.HasPrefix(dgst, "sha256:") {
		return peerResult{}, fmt.Errorf("building %q: the exporter returned no image digest", ref)
	}
	run, cached := steps.runSteps()
	return peerResult{Digest: dgst, RunSteps: run, RunCached: cached}, nil
}

// stepCounter follows BuildKit's status stream: each vertex's name,
// whether it completed and whether it came from the cache.
type stepCounter map[string]*stepState

type stepState struct {
	Name              string
	Completed, Cached bool
}

func (sc stepCounter) add(st *client.SolveStatus) {
	for _, v := range st.Vertexes {
		s := sc[v.Digest.String()]
		if s == nil {
			s = &stepState{}
			sc[v.Digest.String()] = s
		}
		if v.Name != "" {
			s.Name = v.Name
		}
		s.Cached = s.Cached || v.Cached
		s.Completed = s.Completed || v.Completed != nil
	}
}

// runSteps counts the Dockerfile's RUN steps ("[2/3] RUN …" or
// "[stage 2/3] RUN …") executed and taken from the cache.
func (sc stepCounter) runSteps() (run, cached int) {
	for _, s := range sc {
		if !strings.Contains(s.Name, "] RUN ") {
			continue
		}
		switch {
		case s.Cached:
			cached++
		case s.Completed:
			run++
		}
	}
	return run, cached
}

// pruneAll empties a buildkitd's cache (build records, cache mounts, pulled
// images), to free the disk a cold run filled.
func pruneAll(ctx context.Context, addr string) error {
	c, err := client.New(ctx, addr)
	if err != nil {
		return fmt.Errorf("connecting to buildkitd %q: %w", addr, err)
	}
	defer c.Close()
	ch := make(chan client.UsageInfo)
	done := make(chan struct{})
	go func() {
		for range ch {
		}
		close(done)
	}()
	err = c.Prune(ctx, ch, client.PruneAll)
	close(ch)
	<-done
	if err != nil {
		return fmt.Errorf("pruning buildkitd %q: %w", addr, err)
	}
	return nil
}
