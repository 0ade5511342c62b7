// Command bench-lock times envbuild's PyPI lock (lock/pypi.Lock, in process)
// against `uv pip compile` on the same inputs, with a cold cache (a fresh
// directory each run) and a warm one (the cache of a previous run), and
// writes the medians and ratios as a markdown table.
//
//	go run ./bench/lock -runs 5 -out docs/bench-lock.md
//
// It talks to the index pip is configured with and needs uv on $PATH or in
// ~/.local/bin (`pip install uv`). It only measures; it must not change
// anything outside its temporary directories and the output file.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/envbuild/envbuild/lock/pypi"
	"github.com/envbuild/envbuild/lock/pypi/index"
	"github.com/envbuild/envbuild/lock/target"
)

type spec struct {
	name string
	reqs []string
}

var specs = []spec{
	{"requests", []string{"requests"}},
	{"pandas scikit-learn matplotlib", []string{"pandas", "scikit-learn", "matplotlib"}},
	{"boto3 botocore<1.30", []string{"boto3", "botocore<1.30"}},
}

var targets = []struct{ python, platform, uvPlatform string }{
	{"3.11", "linux/amd64", "x86_64-manylinux_2_28"},
	{"3.12", "linux/arm64", "aarch64-manylinux_2_28"},
}

func main() {
	runs := flag.Int("runs", 5, "runs per measurement; the median is reported")
	out := flag.String("out", "docs/bench-lock.md", "markdown file to write")
	excludeNewer := flag.String("exclude-newer", "2025-06-01T00:00:00Z", "the --exclude-newer date of both tools")
	flag.Parse()
	if err := run(*runs, *out, *excludeNewer); err != nil {
		fmt.Fprintln(os.Stderr, "bench-lock:", err)
		os.Exit(1)
	}
}

func run(runs int, out, excludeNewer string) error {
	uv, err := findUV()
	if err != nil {
		return err
	}
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	indexes, err := index.FromPipConfig(env, "", nil)
	if err != nil {
		return err
	}
	cert, err := index.PipCert(env)
	if err != nil {
		return err
	}
	cutoff, err := time.Parse(time.RFC3339, excludeNewer)
	if err != nil {
		return fmt.Errorf("reading -exclude-newer %q: %w", excludeNewer, err)
	}
	tmp, err := os.MkdirTemp("", "bench-lock-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	var rows []string
	for _, s := range specs {
		for _, tg := range targets {
			t, err := target.FromFlags(tg.python, tg.platform, "")
			if err != nil {
				return err
			}
			lock := func(cache string) error {
				_, err := pypi.Lock(context.Background(), pypi.Request{
					Requirements: s.reqs, Target: t, Indexes: indexes, CacheDir: cache,
					ExcludeNewer: cutoff, CertFile: cert, Log: io.Discard,
				})
				return err
			}
			compile := func(cache string) error {
				cmd := exec.Command(uv, "pip", "compile", "--quiet", "--no-header", "--exclude-newer", excludeNewer,
					"--python", python3(), "--python-version", tg.python, "--python-platform", tg.uvPlatform, "--index-url", indexes[0].URL,
					"--cache-dir", cache, "-")
				cmd.Stdin = strings.NewReader(strings.Join(s.reqs, "\n") + "\n")
				if b, err := cmd.CombinedOutput(); err != nil {
					return fmt.Errorf("uv pip compile: %v\n%s", err, b)
				}
				return nil
			}
			label := fmt.Sprintf("%s (%s %s)", s.name, tg.python, tg.platform)
			fmt.Fprintf(os.Stderr, "%s…\n", label)
			ec, ew, err := measure(runs, filepath.Join(tmp, "envbuild"), lock)
			if err != nil {
				return fmt.Errorf("%s: envbuild: %w", label, err)
			}
			uc, uw, err := measure(runs, filepath.Join(tmp, "uv"), compile)
			if err != nil {
				return fmt.Errorf("%s: %w", label, err)
			}
			rows = append(rows, fmt.Sprintf("| %s | %s | %s | %.2f× | %s | %s | %.2f× |",
				label, ms(ec), ms(uc), ratio(ec, uc), ms(ew), ms(uw), ratio(ew, uw)))
		}
	}
	uvVersion, _ := exec.Command(uv, "--version").Output()
	var b strings.Builder
	fmt.Fprintf(&b, "# envbuild lock vs uv pip compile\n\n")
	fmt.Fprintf(&b, "Written by `go run ./bench/lock` on %s: medians of %d runs, index %s, --exclude-newer %s, %s.\n",
		time.Now().UTC().Format("2006-01-02"), runs, index.Redact(indexes[0].URL), excludeNewer, strings.TrimSpace(string(uvVersion)))
	fmt.Fprintf(&b, "Cold: an empty cache directory for each run. Warm: the cache a previous run filled.\n")
	fmt.Fprintf(&b, "Warm runs of envbuild make no request when the cached project pages are younger than their freshness (the index sends no Cache-Control, and envbuild treats a page as fresh for 10 minutes, PyPI's own max-age); uv revalidates its pages, so its warm runs still go to the network.\n")
	fmt.Fprintf(&b, "A ratio is envbuild's time over uv's (below 1 is faster). Targets: cold within 1.5×, warm at or below 1×.\n\n")
	fmt.Fprintf(&b, "| spec (target) | envbuild cold | uv cold | ratio | envbuild warm | uv warm | ratio |\n")
	fmt.Fprintf(&b, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range rows {
		b.WriteString(r + "\n")
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Print(b.String())
	return nil
}

// measure runs f with a fresh cache runs times (cold), then with one cache
// filled by a first run, runs times (warm), and returns both medians.
func measure(runs int, dir string, f func(cache string) error) (cold, warm time.Duration, err error) {
	var colds, warms []time.Duration
	for i := 0; i < runs; i++ {
		cache := fmt.Sprintf("%s-cold-%d", dir, i)
		start := time.Now()
		if err := f(cache); err != nil {
			return 0, 0, err
		}
		colds = append(colds, time.Since(start))
		os.RemoveAll(cache)
	}
	cache := dir + "-warm"
	if err := f(cache); err != nil {
		return 0, 0, err
	}
	for i := 0; i < runs; i++ {
		start := time.Now()
		if err := f(cache); err != nil {
			return 0, 0, err
		}
		warms = append(warms, time.Since(start))
	}
	os.RemoveAll(cache)
	return median(colds), median(warms), nil
}

func median(ds []time.Duration) time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func findUV() (string, error) {
	if p, err := exec.LookPath("uv"); err == nil {
		return p, nil
	}
	home, _ := os.UserHomeDir()
	local := filepath.Join(home, ".local", "bin", "uv")
	if _, err := os.Stat(local); err == nil {
		return local, nil
	}
	return "", fmt.Errorf("uv not found on $PATH or in ~/.local/bin; install it with `pip install uv`")
}

// python3 is the interpreter uv is told to use: without one, uv looks for
// an interpreter of --python-version first, which through pyenv shims can
// take seconds that have nothing to do with resolving.
func python3() string {
	if p, err := exec.LookPath("python3"); err == nil {
		return p
	}
	return "python3"
}
