package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// envbuildCLI runs the envbuild binary.
type envbuildCLI struct {
	Bin string
	// Env is the process environment (os.Environ() plus BUILDKIT_HOST).
	Env []string
}

// buildResult is the part of `envbuild build --json` the benchmark reads.
type buildResult struct {
	Image       string `json:"image"`
	Digest      string `json:"digest"`
	Cached      bool   `json:"cached"`
	Layers      int    `json:"layers"`
	PushedBytes int64  `json:"pushed_bytes"`
	// LayersReused and LayersBuilt count the package layers taken from
	// the team layer cache and installed by BuildKit (its install steps).
	LayersReused int `json:"layers_reused"`
	LayersBuilt  int `json:"layers_built"`
	// Steps and StepsCached are BuildKit's steps and its cache hits (0
	// when BuildKit was not used).
	Steps       int `json:"steps"`
	StepsCached int `json:"steps_cached"`
	// Stderr is the build's whole stderr (not JSON).
	Stderr string `json:"-"`
}

// envbuildJob is one envbuild invocation.
type envbuildJob struct {
	Requirements []string // --pypi values
	Base         string
	Lock         string
	CacheDir     string
	BuildkitAddr string
	Repository   string // --registry
	// LayerCacheRepo is --layer-cache-repo ("": the image's repository).
	LayerCacheRepo string
	// BuildkitFlag, when set, is passed as --buildkit-addr (it wins over
	// BUILDKIT_HOST).
	BuildkitFlag string
}

func (j envbuildJob) commonArgs() []string {
	var args []string
	for _, r := range j.Requirements {
		args = append(args, "--pypi", r)
	}
	return append(args, "--base", j.Base, "--lock", j.Lock, "--cache-dir", j.CacheDir)
}

// lockArgs returns the arguments of `envbuild lock` for j.
func (j envbuildJob) lockArgs() []string {
	return append([]string{"lock"}, j.commonArgs()...)
}

// buildArgs returns the arguments of `envbuild build --json` for j.
func (j envbuildJob) buildArgs() []string {
	args := append([]string{"build", "--json", "--progress", "plain"}, j.commonArgs()...)
	args = append(args, "--registry", j.Repository)
	if j.LayerCacheRepo != "" {
		args = append(args, "--layer-cache-repo", j.LayerCacheRepo)
	}
	if j.BuildkitFlag != "" {
		args = append(args, "--buildkit-addr", j.BuildkitFlag)
	}
	return args
}

// Lock writes j.Lock.
func (e *envbuildCLI) Lock(ctx context.Context, j envbuildJob, log io.Writer) error {
	_, err := e.run(ctx, j.lockArgs(), e.Env, log)
	return err
}

// Build runs `envbuild build --json` against j.BuildkitAddr and returns its
// result.
func (e *envbuildCLI) Build(ctx context.Context, j envbuildJob, log io.Writer) (*buildResult, error) {
	env := append(append([]string(nil), e.Env...), "BUILDKIT_HOST="+j.BuildkitAddr)
	var all bytes.Buffer
	out, err := e.run(ctx, j.buildArgs(), env, io.MultiWriter(log, &all))
	if err != nil {
		return nil, err
	}
	r, err := parseBuildResult(out)
	if err != nil {
		return nil, err
	}
	r.Stderr = all.String()
	return r, nil
}

func parseBuildResult(out []byte) (*buildResult, error) {
	var r buildResult
	if err := json.Unmarshal(bytes.TrimSpace(out), &r); err != nil {
		return nil, fmt.Errorf("reading the output of envbuild build --json %q: %w", truncate(string(out), 200), err)
	}
	if r.Digest == "" {
		return nil, fmt.Errorf("reading the output of envbuild build --json %q: no digest", truncate(string(out), 200))
	}
	return &r, nil
}

// run runs envbuild with args, stderr to log, and returns stdout. A
// failure quotes the command and the end of its stderr.
func (e *envbuildCLI) run(ctx context.Context, args, env []string, log io.Writer) ([]byte, error) {
	cmd := exec.CommandContext(ctx, e.Bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = io.MultiWriter(log, &tailBuffer{buf: &stderr, max: 4096})
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("running %s %s: %w\n%s", e.Bin, strings.Join(args, " "), err, lastLines(stderr.String(), 15))
	}
	return stdout.Bytes(), nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	buf *bytes.Buffer
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf.Write(p)
	if extra := t.buf.Len() - t.max; extra > 0 {
		t.buf.Next(extra)
	}
	return len(p), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// envWithout returns os.Environ() without the variables named.
func envWithout(names ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			if k == n {
				drop = true
			}
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}
