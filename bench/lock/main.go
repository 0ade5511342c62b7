// Command bench-lock times envbuild's PyPI lock (lock/pypi.Lock, in process)
// against `uv pip compile` on the same inputs, with a cold cache (a fresh
// directory each run) and a warm one (the cache of a previous run), and
// writes the medians and ratios as a markdown table. Warm, uv is read twice:
// as it runs by default (revalidating its cached pages with the index) and
// with --offline (its cache as it is, no request), the fair peer of
// envbuild's warm lock, which makes no request while its pages are fresh.
// The tools take turns run by run, so a load on the machine falls on all of
// them alike.
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
	"sync"
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
			compile := func(cache string, offline bool) error {
				args := []string{"pip", "compile", "--quiet", "--no-header", "--exclude-newer", excludeNewer,
					"--python", python3(), "--python-version", tg.python, "--python-platform", tg.uvPlatform, "--index-url", indexes[0].URL,
					"--cache-dir", cache}
				if offline {
					args = append(args, "--offline")
				}
				cmd := exec.Command(uv, append(args, "-")...)
				cmd.Stdin = strings.NewReader(strings.Join(s.reqs, "\n") + "\n")
				if b, err := cmd.CombinedOutput(); err != nil {
					return fmt.Errorf("uv pip compile: %v\n%s", err, b)
				}
				return nil
			}
			label := fmt.Sprintf("%s (%s %s)", s.name, tg.python, tg.platform)
			fmt.Fprintf(os.Stderr, "%s…\n", label)
			m, err := measure(runs, filepath.Join(tmp, "envbuild"), filepath.Join(tmp, "uv"), lock, compile)
			if err != nil {
				return fmt.Errorf("%s: %w", label, err)
			}
			rows = append(rows, fmt.Sprintf("| %s | %s | %s | %.2f× | %s | %s | %.2f× | %s | %.2f× |",
				label, ms(m.envCold), ms(m.uvCold), ratio(m.envCold, m.uvCold),
				ms(m.envWarm), ms(m.uvWarm), ratio(m.envWarm, m.uvWarm), ms(m.uvOffline), ratio(m.envWarm, m.uvOffline)))
		}
	}
	uvVersion, _ := exec.Command(uv, "--version").Output()
	var b strings.Builder
	fmt.Fprintf(&b, "# envbuild lock vs uv pip compile\n\n")
	fmt.Fprintf(&b, "Written by `go run ./bench/lock` on %s: medians of %d runs, index %s, --exclude-newer %s, %s.\n",
		time.Now().UTC().Format("2006-01-02"), runs, index.Redact(indexes[0].URL), excludeNewer, strings.TrimSpace(string(uvVersion)))
	fmt.Fprintf(&b, "Cold: an empty cache directory for each run. Warm: the cache a previous run filled.\n")
	fmt.Fprintf(&b, "The tools take turns run by run (envbuild, uv, uv --offline), so a load on the shared machine falls on each alike; absolute times are noisy, the ratios less so.\n\n")
	fmt.Fprintf(&b, "Warm runs of envbuild make no request when the cached project pages are younger than their freshness (the index sends no Cache-Control, and envbuild treats a page as fresh for 10 minutes, PyPI's own max-age). ")
	fmt.Fprintf(&b, "uv revalidates its cached pages by default, so its plain warm runs still go to the network: \"uv warm\" is that reading. ")
	fmt.Fprintf(&b, "\"uv --offline\" is `uv pip compile --offline` on the same warm cache: no request, no revalidation, the like-for-like peer of envbuild's warm run.\n\n")
	fmt.Fprintf(&b, "A ratio is envbuild's time over the peer's (below 1 is faster). Targets: cold within 1.5×, warm at or below 1× (against uv --offline, the fair one).\n\n")
	fmt.Fprintf(&b, "| spec (target) | envbuild cold | uv cold | ratio | envbuild warm | uv warm | ratio | uv warm --offline | ratio |\n")
	fmt.Fprintf(&b, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
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

// times are the medians of one spec and target.
type times struct {
	envCold, uvCold, envWarm, uvWarm, uvOffline time.Duration
}

// measure times envbuild (lock) and uv (compile) with fresh caches runs
// times (cold), then fills one cache for each and times them warm runs
// times, uv both revalidating and --offline. Each round runs every tool
// once before the next round starts.
func measure(runs int, envDir, uvDir string, lock func(cache string) error, compile func(cache string, offline bool) error) (times, error) {
	var envCold, uvCold, envWarm, uvWarm, uvOffline []time.Duration
	timed := func(into *[]time.Duration, f func() error) error {
		start := time.Now()
		if err := f(); err != nil {
			return err
		}
		*into = append(*into, time.Since(start))
		return nil
	}
	for i := 0; i < runs; i++ {
		ec, uc := fmt.Sprintf("%s-cold-%d", envDir, i), fmt.Sprintf("%s-cold-%d", uvDir, i)
		if err := timed(&envCold, func() error { return lock(ec) }); err != nil {
			return times{}, fmt.Errorf("envbuild: %w", err)
		}
		if err := timed(&uvCold, func() error { return compile(uc, false) }); err != nil {
			return times{}, err
		}
		os.RemoveAll(ec)
		os.RemoveAll(uc)
	}
	ew, uw := envDir+"-warm", uvDir+"-warm"
	defer os.RemoveAll(ew)
	defer os.RemoveAll(uw)
	if err := lock(ew); err != nil {
		return times{}, fmt.Errorf("envbuild: %w", err)
	}
	if err := compile(uw, false); err != nil {
		return times{}, err
	}
	for i := 0; i < runs; i++ {
		if err := timed(&envWarm, func() error { return lock(ew) }); err != nil {
			return times{}, fmt.Errorf("envbuild: %w", err)
		}
		if err := timed(&uvWarm, func() error { return compile(uw, false) }); err != nil {
			return times{}, err
		}
		if err := timed(&uvOffline, func() error { return compile(uw, true) }); err != nil {
			return times{}, fmt.Errorf("--offline: %w", err)
		}
	}
	return times{median(envCold), median(uvCold), median(envWarm), median(uvWarm), median(uvOffline)}, nil
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

// findUV returns the uv binary itself: the one `pip install uv` put beside
// python3's scripts, else the first on $PATH, else ~/.local/bin/uv. A uv on
// $PATH may be a version manager's shim (pyenv's is a shell script that
// starts pyenv to find the real binary), which adds hundreds of
// milliseconds to every run that have nothing to do with uv.
func findUV() (string, error) {
	if out, err := exec.Command(python3(), "-c", "import sysconfig; print(sysconfig.get_path('scripts'))").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "uv")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
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
// take seconds that have nothing to do with resolving. It is the
// interpreter's own path (sys.executable), not a shim that finds it.
func python3() string {
	python3Once.Do(func() {
		python3Path = "python3"
		if p, err := exec.LookPath("python3"); err == nil {
			python3Path = p
			if out, err := exec.Command(p, "-c", "import sys; print(sys.executable)").Output(); err == nil && len(strings.TrimSpace(string(out))) > 0 {
				python3Path = strings.TrimSpace(string(out))
			}
		}
	})
	return python3Path
}

var (
	python3Once sync.Once
	python3Path string
)
