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

// solveDockerfile builds the context's Dockerfile with BuildKit's
// dockerfile.v0 frontend on the daemon at addr and pushes the image to ref
// (gzip layers, OCI media types, like envbuild). It returns the pushed
// manifest's digest; progress goes to log in plain mode.
func solveDockerfile(ctx context.Context, addr string, pc *peerContext, ref string, log io.Writer) (string, error) {
	c, err := client.New(ctx, addr)
	if err != nil {
		return "", fmt.Errorf("connecting to buildkitd %q: %w", addr, err)
	}
	defer c.Close()
	fs, err := fsutil.NewFS(pc.Dir)
	if err != nil {
		return "", fmt.Errorf("sending the build context %q: %w", pc.Dir, err)
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
	display, err := progressui.NewDisplay(log, progressui.PlainMode)
	if err != nil {
		return "", err
	}
	ch := make(chan *client.SolveStatus)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = display.UpdateFrom(context.WithoutCancel(ctx), ch)
	}()
	resp, err := c.Solve(ctx, nil, opt, ch)
	wg.Wait()
	if err != nil {
		return "", fmt.Errorf("building %q with the Dockerfile in %q: %w", ref, pc.Dir, err)
	}
	dgst := resp.ExporterResponse["containerimage.digest"]
	if !strings.HasPrefix(dgst, "sha256:") {
		return "", fmt.Errorf("building %q: the exporter returned no image digest", ref)
	}
	return dgst, nil
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
