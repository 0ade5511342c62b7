package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// The tools, in the order of the tables.
var tools = []string{"envbuild", "uv", "pip"}

var toolTitle = map[string]string{
	"envbuild": "envbuild",
	"uv":       "uv Dockerfile",
	"pip":      "pip Dockerfile",
}

// A scenario of docs/BENCHMARKS.md.
type scenario struct {
	Key, Title string
	// Tools measured in it.
	Tools []string
}

var scenarios = []scenario{
	{"cold", "cold: fresh buildkitd, new repository", tools},
	{"pin", "change one pin (after a warm build)", tools},
	{"swap", "base swap (same Python, other top layer)", tools},
	{"unchanged", "unchanged, fresh buildkitd, image in the registry", []string{"envbuild"}},
	{"fresh-pin", "fresh buildkitd, one pin changed from a teammate's image", []string{"envbuild", "uv"}},
	{"fresh-other-repo", "fresh buildkitd, a teammate's environment into another repository", []string{"envbuild", "uv"}},
	{"new-binary", "new envbuild binary, one pin changed (warm buildkitd)", []string{"envbuild"}},
}

// installScenarios are the scenarios whose report shows install steps,
// bytes uploaded and downloaded: the team layer cache's.
var installScenarios = []string{"fresh-pin", "fresh-other-repo", "new-binary", "swap", "pin"}

// sample is one timed build.
type sample struct {
	Seconds float64
	Pushed  pushed
	// Cached is envbuild's "cached" answer.
	Cached bool
	// ReportedBytes is envbuild's own pushed_bytes.
	ReportedBytes int64
	// Digest is the pushed manifest's.
	Digest string
	// InstallSteps are the install steps run: envbuild's layers_built, a
	// peer's RUN steps BuildKit executed (not cached); InstallKnown says
	// whether they were counted.
	InstallSteps int
	InstallKnown bool
	// RunCached are a peer's RUN steps taken from BuildKit's cache.
	RunCached int
	// LayersReused, Steps and StepsCached are envbuild's.
	LayersReused       int
	Steps, StepsCached int
	// NoBuildKit: envbuild said it assembled the image without BuildKit.
	NoBuildKit bool
	// Downloads are the blob bytes the registry served during the build.
	Downloads downloads
}

// results holds the samples by scenario and tool.
type results map[string]map[string][]sample

func (r results) add(scen, tool string, s sample) {
	if r[scen] == nil {
		r[scen] = map[string][]sample{}
	}
	r[scen][tool] = append(r[scen][tool], s)
}

// median of xs (the mean of the middle two for an even count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

func (r results) seconds(scen, tool string) []float64 {
	var xs []float64
	for _, s := range r[scen][tool] {
		xs = append(xs, s.Seconds)
	}
	return xs
}

func (r results) medianOf(scen, tool string, f func(sample) float64) (float64, bool) {
	ss := r[scen][tool]
	if len(ss) == 0 {
		return 0, false
	}
	var xs []float64
	for _, s := range ss {
		xs = append(xs, f(s))
	}
	return median(xs), true
}

// reportInfo is what the report says about the run besides the figures.
type reportInfo struct {
	Date        time.Time
	Machine     string
	Commit      string
	Version     string // envbuild --version
	Runs        int
	Spec        []string
	PinPackage  string
	PinVersions []string
	Packages    int
	Artifacts   int64
	UVVersion   string
	Buildkit    string
	Wall        time.Duration
	Notes       []string
	// BaseBytes and BaseLayers are the base image's compressed size.
	BaseBytes  int64
	BaseLayers int
	// Sdists counts the packages built from source distributions.
	Sdists int
	// NoDaemon is the outcome of fresh-other-repo with no BuildKit.
	NoDaemon string
	// NewVersion is the new-binary's --version.
	NewVersion string
}

func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

func mbf(n float64) string { return fmt.Sprintf("%.1f MB", n/1e6) }

func kb(n int64) string { return fmt.Sprintf("%.1f kB", float64(n)/1e3) }

// bytesText is n in kB below 1 MB (metadata, configs), else in MB.
func bytesText(n float64) string {
	if n < 1e6 {
		return fmt.Sprintf("%.1f kB", n/1e3)
	}
	return mbf(n)
}

// installRange is the smallest and largest install step count of ss
// ("—" when none was counted).
func installRange(ss []sample) string {
	lo, hi, any := 0, 0, false
	for _, s := range ss {
		if !s.InstallKnown {
			continue
		}
		if !any || s.InstallSteps < lo {
			lo = s.InstallSteps
		}
		if !any || s.InstallSteps > hi {
			hi = s.InstallSteps
		}
		any = true
	}
	switch {
	case !any:
		return "n/a"
	case lo == hi:
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d–%d", lo, hi)
}

// allInstall reports whether every sample of ss ran exactly want install
// steps (at most want when atMost).
func allInstall(ss []sample, want int, atMost bool) bool {
	if len(ss) == 0 {
		return false
	}
	for _, s := range ss {
		if !s.InstallKnown || s.InstallSteps > want || (!atMost && s.InstallSteps != want) {
			return false
		}
	}
	return true
}

// target describes and checks a scenario's target; ok is false when it
// cannot be judged.
func target(r results, scen string, sdists int) (text, verdict string) {
	e, eok := r.medianOf(scen, "envbuild", func(s sample) float64 { return s.Seconds })
	u, uok := r.medianOf(scen, "uv", func(s sample) float64 { return s.Seconds })
	switch scen {
	case "cold":
		if !eok || !uok {
			return "≤ uv Dockerfile", "—"
		}
		return "≤ uv Dockerfile", metText(e <= u)
	case "pin":
		if !eok || !uok {
			return "≤ ¼ of uv Dockerfile", "—"
		}
		return "≤ ¼ of uv Dockerfile", metText(e <= u/4)
	case "swap":
		const text = "≤ 0.15x of uv Dockerfile, 0 install steps (no sdists), no package layer re-pushed"
		ss := r[scen]["envbuild"]
		if len(ss) == 0 || !uok {
			return text, "—"
		}
		worst := 0
		for _, s := range ss {
			worst = max(worst, packageLayers(s.Pushed.NewLayerNames))
		}
		return text, fmt.Sprintf("%s (%.2fx, install steps %s, %d re-pushed)", metText(e <= 0.15*u && allInstall(ss, sdists, true) && worst == 0), e/u, installRange(ss), worst)
	case "fresh-pin":
		const text = "≤ 0.15x of uv Dockerfile, 1 install step, other layers neither downloaded nor uploaded"
		ss := r[scen]["envbuild"]
		if len(ss) == 0 || !uok {
			return text, "—"
		}
		quiet := true
		for _, s := range ss {
			// Uploaded: the changed package's layer and the metadata
			// layer are the only new layers. Downloaded: no layer of the
			// image (the base or its compile root, which an install step
			// runs on, and record configs are not the image's layers).
			quiet = quiet && packageLayers(s.Pushed.NewLayerNames) <= 1 && s.Pushed.NewLayers <= 2 && (!s.Downloads.Known || s.Downloads.ImageLayers < 1e6)
		}
		return text, fmt.Sprintf("%s (%.2fx, install steps %s)", metText(e <= 0.15*u && allInstall(ss, 1, false) && quiet), e/u, installRange(ss))
	case "fresh-other-repo":
		const text = "0 install steps, 0 layer bytes uploaded"
		ss := r[scen]["envbuild"]
		if len(ss) == 0 {
			return text, "—"
		}
		ok := allInstall(ss, 0, false)
		for _, s := range ss {
			// Only the metadata layer, the config and the manifest are
			// uploaded: kilobytes.
			ok = ok && packageLayers(s.Pushed.NewLayerNames) == 0 && s.ReportedBytes < 1e6
		}
		return text, fmt.Sprintf("%s (install steps %s)", metText(ok), installRange(ss))
	case "new-binary":
		const text = "1 install step (the changed pin's)"
		ss := r[scen]["envbuild"]
		if len(ss) == 0 {
			return text, "—"
		}
		return text, fmt.Sprintf("%s (install steps %s)", metText(allInstall(ss, 1, false)), installRange(ss))
	case "unchanged":
		ss := r[scen]["envbuild"]
		if len(ss) == 0 {
			return "a registry round trip", "—"
		}
		all := true
		for _, s := range ss {
			all = all && s.Cached
		}
		if all {
			return "a registry round trip", "met (cached: true)"
		}
		return "a registry round trip", "not met (rebuilt)"
	}
	return "", ""
}

// runRatios lists envbuild's time over the peer's for each run, the two
// measured side by side in the same round; "—" when the runs do not pair.
func runRatios(e, q []sample) string {
	if len(e) == 0 || len(e) != len(q) {
		return "—"
	}
	var parts []string
	for i := range e {
		if q[i].Seconds <= 0 {
			return "—"
		}
		parts = append(parts, fmt.Sprintf("%.2f", e[i].Seconds/q[i].Seconds))
	}
	return strings.Join(parts, ", ")
}

func shortDigest(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 12 {
		d = d[:12]
	}
	return d
}

func metText(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}

// packageLayers counts envbuild's package layers among layer names.
func packageLayers(names []string) int {
	n := 0
	for _, name := range names {
		if strings.HasPrefix(name, "envbuild: install ") {
			n++
		}
	}
	return n
}

// writeReport writes the Markdown report.
func writeReport(w io.Writer, r results, info reportInfo) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("# Build benchmark: envbuild vs Dockerfile peers\n\n")
	p("Written by `make bench` (`go run ./bench/build`); do not edit by hand.\n")
	p("Medians of %s on one shared, noisy machine: read the ratios, not the absolute times.\n\n", plural(info.Runs, "run"))
	p("- date: %s\n", info.Date.UTC().Format("2006-01-02 15:04 UTC"))
	p("- machine: %s\n", info.Machine)
	if info.Commit != "" {
		p("- checkout: %s; %s\n", info.Commit, info.Version)
	}
	p("- BuildKit %s, a fresh buildkitd for every cold build (each tool's first one stays up for its warm scenarios) and for every fresh-pin and fresh-other-repo build; CNCF Distribution on loopback; base: the test bed's Debian bookworm amd64 (Python 3.11), %s compressed in %s\n", info.Buildkit, mb(info.BaseBytes), plural(info.BaseLayers, "layer"))
	p("- spec: `%s`; %d locked packages, %s of wheels\n", strings.Join(info.Spec, " "), info.Packages, mb(info.Artifacts))
	p("- change one pin: `%s` through %s, one version per run (the first for cold; then -n each for pin, fresh-pin and new-binary, so no scenario finds another's image)\n", info.PinPackage, strings.Join(info.PinVersions, " → "))
	p("- peers: %s; gzip layers and OCI media types for all three\n", info.UVVersion)
	if info.NewVersion != "" {
		p("- new-binary: %s (the same source, another version string, so other bytes)\n", info.NewVersion)
	}
	p("- whole benchmark: %s\n\n", info.Wall.Round(time.Second))

	p("## Wall time (median seconds; ratio = envbuild / peer)\n\n")
	p("| scenario | envbuild | uv Dockerfile | pip Dockerfile | envbuild / uv | envbuild / pip | envbuild / uv, run by run | target | result |\n")
	p("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |\n")
	for _, sc := range scenarios {
		if len(r[sc.Key]) == 0 {
			continue
		}
		row := []string{sc.Title}
		med := map[string]float64{}
		for _, t := range tools {
			if m, ok := r.medianOf(sc.Key, t, func(s sample) float64 { return s.Seconds }); ok {
				med[t] = m
				row = append(row, fmt.Sprintf("%.1f", m))
			} else {
				row = append(row, "—")
			}
		}
		for _, peer := range []string{"uv", "pip"} {
			e, eok := med["envbuild"]
			q, qok := med[peer]
			if eok && qok && q > 0 {
				row = append(row, fmt.Sprintf("%.2f", e/q))
			} else {
				row = append(row, "—")
			}
		}
		row = append(row, runRatios(r[sc.Key]["envbuild"], r[sc.Key]["uv"]))
		text, verdict := target(r, sc.Key, info.Sdists)
		row = append(row, text, verdict)
		p("| %s |\n", strings.Join(row, " | "))
	}

	p("\n## Bytes pushed (median; blobs neither the base nor the repository held before) and new layers\n\n")
	p("| scenario | envbuild | uv Dockerfile | pip Dockerfile |\n| --- | ---: | ---: | ---: |\n")
	for _, sc := range scenarios {
		if len(r[sc.Key]) == 0 {
			continue
		}
		row := []string{sc.Title}
		for _, t := range tools {
			b, ok := r.medianOf(sc.Key, t, func(s sample) float64 { return float64(s.Pushed.Bytes) })
			if !ok {
				row = append(row, "—")
				continue
			}
			l, _ := r.medianOf(sc.Key, t, func(s sample) float64 { return float64(s.Pushed.NewLayers) })
			row = append(row, fmt.Sprintf("%s, %s", mbf(b), plural(int(l+0.5), "layer")))
		}
		p("| %s |\n", strings.Join(row, " | "))
	}

	writeInstallTable(w, r)

	if ss := r["cold"]["envbuild"]; len(ss) > 1 {
		same := true
		for _, s := range ss {
			same = same && s.Digest == ss[0].Digest
		}
		p("\nenvbuild's cold image digest on %d separate fresh buildkitds: %s.\n", len(ss), map[bool]string{true: "identical (" + shortDigest(ss[0].Digest) + ")", false: "different"}[same])
	}

	if cold := r["cold"]; len(cold) > 0 {
		p("\n## Image (cold build): layers and compressed size above the base\n\n")
		p("| tool | layers (base included) | environment size |\n| --- | ---: | ---: |\n")
		for _, t := range tools {
			ss := cold[t]
			if len(ss) == 0 {
				continue
			}
			last := ss[len(ss)-1]
			p("| %s | %d | %s |\n", toolTitle[t], last.Pushed.Layers, mb(last.Pushed.ImageBytes))
		}
	}

	p("\n## Every run\n\n")
	p("| scenario | tool | seconds | pushed | new layers | digest | notes |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, sc := range scenarios {
		for _, t := range sc.Tools {
			for i, s := range r[sc.Key][t] {
				var notes []string
				if t == "envbuild" {
					notes = append(notes, fmt.Sprintf("cached: %v, envbuild's pushed_bytes %s", s.Cached, mb(s.ReportedBytes)))
					notes = append(notes, fmt.Sprintf("layers_built %d, layers_reused %d, BuildKit steps %d (%d cached)", s.InstallSteps, s.LayersReused, s.Steps, s.StepsCached))
					if s.NoBuildKit {
						notes = append(notes, "no BuildKit")
					}
				} else if s.InstallKnown {
					notes = append(notes, fmt.Sprintf("RUN steps run %d, cached %d", s.InstallSteps, s.RunCached))
				}
				if s.Downloads.Known {
					notes = append(notes, fmt.Sprintf("downloaded %s (+ %s of the base)", bytesText(float64(s.Downloads.Other)), bytesText(float64(s.Downloads.Base))))
				}
				if sc.Key == "swap" && t == "envbuild" {
					notes = append(notes, fmt.Sprintf("package layers re-pushed: %d", packageLayers(s.Pushed.NewLayerNames)))
				}
				p("| %s | %s | %d: %.1f | %s | %d | %s | %s |\n", sc.Key, toolTitle[t], i+1, s.Seconds, mb(s.Pushed.Bytes), s.Pushed.NewLayers, shortDigest(s.Digest), strings.Join(notes, "; "))
			}
		}
	}
	writeMethod(w)
	p("\n## Notes\n\n")
	if info.NoDaemon != "" {
		p("- fresh-other-repo once more with `--buildkit-addr unix:///nonexistent.sock` (no BuildKit daemon at all): %s.\n", info.NoDaemon)
	}
	if n := baseReads(r, info.BaseBytes); n != "" {
		p("- envbuild downloads the base image's layers itself, to read its files (the Python and libc a lock targets), when its `--cache-dir` has not seen that base image (the cache is keyed by the image's digest): on a fresh machine, and on a new base (swap). Builds that used no BuildKit (or found the image already there) downloaded the base (%s) that way; where an install step also ran on a fresh buildkitd, BuildKit pulled it a second time. The uv Dockerfile on a fresh builder reads no base when every step is a cache hit.\n", n)
	}
	p("- The issue's fifth scenario (the torch environment of about 3 GB, one pin changed, on a fresh builder) is not measured here: it belongs to `make bench-big`.\n")
	p("- The machine is shared with other engineers' builds and tests (2 cores): absolute times are noisy, from run to run and from report to report; the ratios of runs side by side are steadier.\n")
	for _, n := range info.Notes {
		p("- %s\n", n)
	}
}

// writeInstallTable shows, for the scenarios the team layer cache is
// about, the install steps run and the bytes moved.
func writeInstallTable(w io.Writer, r results) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	any := false
	for _, k := range installScenarios {
		any = any || len(r[k]) > 0
	}
	if !any {
		return
	}
	p("\n## Install steps run, bytes uploaded and downloaded (medians)\n\n")
	p("Install steps: envbuild's `layers_built` (one package a step; `layers_reused` beside it); a peer's RUN steps BuildKit executed rather than took from its cache (the uv Dockerfile's install RUN installs every package). Uploaded: envbuild's own `pushed_bytes`; for peers, the new blobs of the table above. Downloaded: blob bytes the registry served during the build (its log), the base image's apart; of them, the layers of the image built (package layers pulled rather than mounted; envbuild's other downloads are record configs and the base's compile root).\n\n")
	p("| scenario | tool | seconds | install steps | layers reused | uploaded | new package layers | downloaded (not base) | of which image layers | downloaded (base) |\n")
	p("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, k := range installScenarios {
		var sc scenario
		for _, s := range scenarios {
			if s.Key == k {
				sc = s
			}
		}
		for _, t := range tools {
			ss := r[k][t]
			if len(ss) == 0 {
				continue
			}
			med := func(f func(sample) float64) float64 { m, _ := r.medianOf(k, t, f); return m }
			secs := med(func(s sample) float64 { return s.Seconds })
			reused, up := "—", ""
			if t == "envbuild" {
				reused = fmt.Sprintf("%.0f", med(func(s sample) float64 { return float64(s.LayersReused) }))
				up = bytesText(med(func(s sample) float64 { return float64(s.ReportedBytes) }))
			} else {
				up = bytesText(med(func(s sample) float64 { return float64(s.Pushed.Bytes) }))
			}
			pkgLayers := "—"
			if t == "envbuild" {
				pkgLayers = fmt.Sprintf("%.0f", med(func(s sample) float64 { return float64(packageLayers(s.Pushed.NewLayerNames)) }))
			}
			down, downLayers, downBase := "n/a", "n/a", "n/a"
			known := true
			for _, s := range ss {
				known = known && s.Downloads.Known
			}
			if known {
				down = bytesText(med(func(s sample) float64 { return float64(s.Downloads.Other) }))
				downLayers = bytesText(med(func(s sample) float64 { return float64(s.Downloads.ImageLayers) }))
				downBase = bytesText(med(func(s sample) float64 { return float64(s.Downloads.Base) }))
			}
			p("| %s | %s | %.1f | %s | %s | %s | %s | %s | %s | %s |\n", sc.Title, toolTitle[t], secs, installRange(ss), reused, up, pkgLayers, down, downLayers, downBase)
		}
	}
}

// writeMethod says how the figures were made, with the peers' Dockerfiles.
func writeMethod(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("\n## How it is measured\n\n")
	p("- One test bed (integration/testbed): buildkitd, a loopback registry, the Debian base and its swap twin (same root file system and Python, another top layer).\n")
	p("- The spec is locked with `envbuild lock --base` before any timing, one lock per pin version; the peers' requirements.txt is that lock's `name==version` list, so all three install the same versions.\n")
	p("- envbuild: `bin/envbuild build --json --base … --registry … --lock …` with `BUILDKIT_HOST`, timed as a process. Peers: the Dockerfiles below through BuildKit's `dockerfile.v0` frontend (Go client `Solve`), image exporter with `push=true`, gzip, OCI media types; timed from connect to pushed.\n")
	p("- cold: a new buildkitd (`StartExtraBuildkitd`), a new repository and an empty envbuild cache for every build. change one pin: on the buildkitd and repository of the tool's first cold build (the warm build); run i changes the pin package to the i-th version. base swap: run i builds the same lock as change-one-pin's run i, on the same buildkitd and into the same repository, on a base with the same root file system and Python under another top layer (the bed's swap base plus a marker layer new in each run, so no run is warmed by the one before). unchanged: a new buildkitd and an empty envbuild cache, the image of envbuild's first cold build already in the registry.\n")
	p("- fresh-pin: the teammate is envbuild's first cold build (its image and layer records are in that repository); each run starts a new buildkitd and an empty envbuild cache and builds a variant with one pin changed into the teammate's repository. The uv Dockerfile's teammate is one extra, untimed cold build on its own new buildkitd that also exports BuildKit's registry cache (`--export-cache type=registry,ref=REPO:buildcache,mode=max`); each run starts a new buildkitd that imports it (`--import-cache type=registry,ref=REPO:buildcache`) and pushes into that repository. The timed cold builds export no cache. The pip Dockerfile is left out of the fresh-builder scenarios: the uv one with the registry cache is the peers' best equivalent of a cache shared through the registry. envbuild's download in this scenario is the base's compile root (its interpreter, the libraries it loads and its standard library, which the teammate's cold build recorded), pulled by BuildKit instead of the base to compile the changed package's bytecode; no package layer is downloaded. The cold builds' base downloads count envbuild reading the base twice itself (its target, then the compile root) besides BuildKit's pull.\n")
	p("- fresh-other-repo: a new buildkitd and an empty envbuild cache per run, variant 0 (the teammate's environment) into a new repository; envbuild with `--layer-cache-repo` naming the teammate's repository, the uv Dockerfile importing the uv teammate's registry cache. Bytes pushed count the blobs that neither the new repository nor the teammate's held before (a cross-repository mount moves no bytes; whether BuildKit mounted or uploaded the peer's blobs is not told apart).\n")
	p("- new-binary: a second envbuild built from the same source with another version string (`go build -ldflags -X …Version=bench-new`, CGO_ENABLED=0): another installer binary for BuildKit, the same layer format. Each run builds a variant with one pin changed on envbuild's warm buildkitd and repository. No peer has an equivalent (the uv Dockerfile does not depend on envbuild).\n")
	p("- Install steps: envbuild's `layers_built` (from `build --json`); a peer's RUN steps that completed without being BuildKit cache hits, counted from the solve's status stream. Downloads: the registry's log (one `response completed` line per request, with the bytes written) between the start and the end of each build; GETs of blobs, split into the base image's and the others.\n")
	p("- Tools take turns going first from run to run. Bytes pushed: the sizes of the pushed image's blobs (layers and config) that neither the base image nor any tag of the repository held before; new layers: the layers among them. \"package layers re-pushed\" counts new layers whose history says `envbuild: install …`.\n")
	p("- The machine's CA bundle is bind-mounted into the peers' install steps (`PIP_CERT`, `SSL_CERT_FILE`) so they reach the same index as envbuild; it is in no layer. The uv peer adds `--compile-bytecode` so it does the same work as pip and envbuild (both compile .pyc files).\n")
	for _, t := range []string{"pip", "uv"} {
		df, _ := dockerfile(t, "BASE")
		p("\n%s:\n\n```dockerfile\n%s```\n", toolTitle[t], df)
	}
}

// baseReads lists the scenarios where envbuild, without BuildKit (or
// with the image already in the registry),
// downloaded at least half the base: its own read of the base's files.
func baseReads(r results, baseBytes int64) string {
	if baseBytes <= 0 {
		return ""
	}
	var parts []string
	for _, sc := range scenarios {
		n := 0
		for _, s := range r[sc.Key]["envbuild"] {
			if (s.NoBuildKit || s.Cached) && s.Downloads.Known && s.Downloads.Base*2 >= baseBytes {
				n++
			}
		}
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d of %d runs", sc.Key, n, len(r[sc.Key]["envbuild"])))
		}
	}
	return strings.Join(parts, "; ")
}
