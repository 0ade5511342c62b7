package testbed

import (
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

// cacheFormat changes whenever the way a cached layer is made changes, so
// old cache entries are not mistaken for new ones.
const cacheFormat = "envbuild-testbed-rootfs-v1"

// Suite and packages of the Debian bases.
const (
	debianSuite    = "bookworm"
	debianIncludes = "python3,python3-venv,python3-yaml"
	basePATH       = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// baseCreated is the fixed creation time of every base image, so a warm
// start pushes byte-identical configs.
var baseCreated = time.Date(2025, 5, 20, 0, 0, 0, 0, time.UTC)

// Repositories and tags of the base images, relative to the plain registry.
const (
	refDebian   = "bases/debian:bookworm"
	refSwap     = "bases/debian-swap:bookworm"
	refARM64    = "bases/debian-arm64:bookworm"
	refMulti    = "bases/debian-multi:bookworm"
	refNoPython = "bases/nopython:latest"
)

// DefaultCacheDir is where base image layers are cached between runs:
// $ENVBUILD_TESTBED_CACHE, else $HOME/.cache/envbuild-testbed.
func DefaultCacheDir() string {
	if d := os.Getenv("ENVBUILD_TESTBED_CACHE"); d != "" {
		return d
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".cache", "envbuild-testbed")
	}
	return filepath.Join(os.TempDir(), "envbuild-testbed-cache")
}

// aptMirror returns the first Debian mirror of the machine's apt sources
// (deb822 "URIs:" lines, then one-line sources.list entries).
func aptMirror() (string, error) {
	var candidates []string
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	sort.Strings(files)
	for _, f := range files {
		if data, err := os.ReadFile(f); err == nil {
			candidates = append(candidates, deb822URIs(string(data))...)
		}
	}
	lists, _ := filepath.Glob("/etc/apt/sources.list.d/*.list")
	sort.Strings(lists)
	for _, f := range append([]string{"/etc/apt/sources.list"}, lists...) {
		if data, err := os.ReadFile(f); err == nil {
			candidates = append(candidates, sourcesListURIs(string(data))...)
		}
	}
	if m, ok := debianMirror(candidates); ok {
		return m, nil
	}
	return "", fmt.Errorf("finding a Debian mirror in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list (saw %q); pass Options.Mirror", candidates)
}

// deb822URIs returns the URIs of a deb822 .sources file.
func deb822URIs(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "URIs:"); ok {
			out = append(out, strings.Fields(rest)...)
		}
	}
	return out
}

// sourcesListURIs returns the URIs of one-line "deb [options] URI suite
// components" entries.
func sourcesListURIs(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || fields[0] != "deb" {
			continue
		}
		for _, f := range fields[1:] {
			if strings.Contains(f, "://") {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// debianMirror picks the first URI whose path ends in /debian.
func debianMirror(uris []string) (string, bool) {
	for _, u := range uris {
		u = strings.TrimSuffix(u, "/")
		if strings.HasSuffix(u, "/debian") {
			return u, true
		}
	}
	return "", false
}

// debianArgs is the debootstrap command line (ROOT stands for the target
// directory) that makes a Debian root file system for arch. An arch the
// host cannot run is bootstrapped with --foreign and its packages unpacked
// with dpkg-deb afterwards.
func debianArgs(arch, mirror string) []string {
	args := []string{"debootstrap", "--variant=minbase", "--arch=" + arch, "--include=" + debianIncludes}
	if arch != runtime.GOARCH {
		args = append(args, "--foreign")
	}
	return append(args, debianSuite, "ROOT", mirror)
}

// elfMachine maps a Debian architecture to the ELF machine of its binaries.
var elfMachine = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// debianLayer returns the cached root file system layer for arch, running
// debootstrap when the cache has none.
func debianLayer(ctx context.Context, cacheDir, arch, mirror string, logf func(string, ...any)) (*blobLayer, error) {
	args := debianArgs(arch, mirror)
	key := args
	if arch != runtime.GOARCH {
		key = append(slices.Clone(args), "then dpkg-deb -x each .deb; /etc/passwd and /etc/group from base-passwd")
	}
	return cachedLayer(ctx, cacheDir, "debian-"+arch, key, logf, func(ctx context.Context, root, logPath string) error {
		argv := make([]string, len(args))
		for i, a := range args {
			if a == "ROOT" {
				a = root
			}
			argv[i] = a
		}
		// dpkg's fsync after every file dominates a native bootstrap on a
		// busy disk; the throwaway root needs none of it. The setting is
		// removed before packing.
		unsafeIO := filepath.Join(root, "etc", "dpkg", "dpkg.cfg.d", "99envbuild-testbed-unsafe-io")
		if arch == runtime.GOARCH {
			if err := os.MkdirAll(filepath.Dir(unsafeIO), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(unsafeIO, []byte("force-unsafe-io\n"), 0o644); err != nil {
				return err
			}
		}
		start := time.Now()
		err := runLogged(ctx, logPath, argv)
		if uerr := unmountUnder(root); uerr != nil && err == nil {
			err = uerr
		}
		if err != nil {
			return fmt.Errorf("bootstrapping Debian %s for %s: %w", debianSuite, arch, err)
		}
		logf("debootstrap %s: %s", arch, time.Since(start).Round(time.Second))
		if err := os.Remove(unsafeIO); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		archives := filepath.Join(root, "var", "cache", "apt", "archives")
		if arch != runtime.GOARCH {
			debs, _ := filepath.Glob(filepath.Join(archives, "*.deb"))
			if len(debs) == 0 {
				return fmt.Errorf("bootstrapping Debian for %s: --foreign left no .deb files in %q", arch, archives)
			}
			for _, deb := range debs {
				if err := runLogged(ctx, logPath, []string{"dpkg-deb", "-x", deb, root}); err != nil {
					return fmt.Errorf("unpacking %q for %s: %w", filepath.Base(deb), arch, err)
				}
			}
			if err := os.RemoveAll(filepath.Join(root, "debootstrap")); err != nil {
				return err
			}
			// base-passwd's preinst, which a foreign bootstrap never runs,
			// makes /etc/passwd and /etc/group from its master copies.
			for _, f := range []string{"passwd", "group"} {
				dst := filepath.Join(root, "etc", f)
				if _, err := os.Lstat(dst); !errors.Is(err, os.ErrNotExist) {
					continue
				}
				data, err := os.ReadFile(filepath.Join(root, "usr", "share", "base-passwd", f+".master"))
				if err != nil {
					return fmt.Errorf("making /etc/%s for %s: %w", f, arch, err)
				}
				if err := os.WriteFile(dst, data, 0o644); err != nil {
					return err
				}
			}
		}
		debs, _ := filepath.Glob(filepath.Join(archives, "*.deb"))
		lists, _ := filepath.Glob(filepath.Join(root, "var", "lib", "apt", "lists", "*"))
		for _, f := range append(debs, lists...) {
			if filepath.Base(f) == "lock" || filepath.Base(f) == "partial" {
				continue
			}
			if err := os.RemoveAll(f); err != nil {
				return err
			}
		}
		return checkELF(filepath.Join(root, "usr", "bin", "python3.11"), elfMachine[arch])
	})
}

// checkELF fails unless path is an ELF file for machine.
func checkELF(path string, machine elf.Machine) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("checking the base's interpreter %q: %w", path, err)
	}
	defer f.Close()
	if f.Machine != machine {
		return fmt.Errorf("checking the base's interpreter %q: ELF machine %s, want %s", path, f.Machine, machine)
	}
	return nil
}

// runLogged runs argv with its output appended to logPath; a failure quotes
// the end of the log.
func runLogged(ctx context.Context, logPath string, argv []string) error {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(f, "$ %s\n", strings.Join(argv, " "))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = daemonEnv()
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Run(); err != nil {
		tail, _ := tailFile(logPath, 15)
		return fmt.Errorf("running %q: %w; end of %s:\n%s", strings.Join(argv, " "), err, logPath, strings.Join(tail, "\n"))
	}
	return nil
}

// cachedLayer returns the layer cached under name and the hash of args,
// making it with build (which fills root) when it is missing. Concurrent
// callers, in this process or others, build it once.
func cachedLayer(ctx context.Context, cacheDir, name string, args []string, logf func(string, ...any), build func(ctx context.Context, root, logPath string) error) (*blobLayer, error) {
	sum := sha256.Sum256([]byte(cacheFormat + "\x00" + strings.Join(args, "\x00")))
	entry := filepath.Join(cacheDir, name+"-"+hex.EncodeToString(sum[:])[:16])
	blobPath, metaPath := filepath.Join(entry, "layer.tar.gz"), filepath.Join(entry, "layer.json")
	if l, err := fileLayer(blobPath, metaPath); err == nil {
		return l, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the base image cache %q: %w", cacheDir, err)
	}
	lock, err := os.OpenFile(entry+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking cache entry %q: %w", entry, err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return nil, fmt.Errorf("locking cache entry %q: %w", entry, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if l, err := fileLayer(blobPath, metaPath); err == nil {
		return l, nil // made by another process while we waited
	}

	logf("building base layer %s (not in cache %s)", name, cacheDir)
	work, err := os.MkdirTemp(cacheDir, name+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("creating a work directory in %q: %w", cacheDir, err)
	}
	defer func() {
		_ = unmountUnder(work)
		_ = os.RemoveAll(work)
	}()
	if err := os.Chmod(work, 0o755); err != nil {
		return nil, err
	}
	root := filepath.Join(work, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		return nil, err
	}
	if err := build(ctx, root, filepath.Join(work, "build.log")); err != nil {
		return nil, err
	}
	start := time.Now()
	out, err := os.Create(filepath.Join(work, "layer.tar.gz"))
	if err != nil {
		return nil, err
	}
	meta, err := writeRootfsLayer(root, out)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	logf("packed %s: %d MB compressed in %s", name, meta.Size>>20, time.Since(start).Round(100*time.Millisecond))
	metaJSON, _ := json.MarshalIndent(meta, "", "  ")
	if err := os.WriteFile(filepath.Join(work, "layer.json"), append(metaJSON, '\n'), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(work, "args.txt"), []byte(strings.Join(args, " ")+"\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(root); err != nil {
		return nil, fmt.Errorf("removing bootstrap root %q: %w", root, err)
	}
	_ = os.RemoveAll(entry)
	if err := os.Rename(work, entry); err != nil {
		return nil, fmt.Errorf("storing cache entry %q: %w", entry, err)
	}
	pruneCache(cacheDir, name, entry, logf)
	return fileLayer(blobPath, metaPath)
}

// pruneCache removes the entries of name other than keep: they were made
// by older recipes. An entry another process is building (locked) stays.
func pruneCache(cacheDir, name, keep string, logf func(string, ...any)) {
	others, _ := filepath.Glob(filepath.Join(cacheDir, name+"-????????????????"))
	for _, old := range others {
		if old == keep {
			continue
		}
		lock, err := os.OpenFile(old+".lock", os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			continue
		}
		if syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			if os.RemoveAll(old) == nil {
				os.Remove(old + ".lock")
				logf("removed outdated cache entry %s", old)
			}
		}
		lock.Close()
	}
}

// markerLayer is the small second layer of the Debian bases: an entrypoint
// that runs its arguments, a marker file and the working directory.
func markerLayer(marker string) (*blobLayer, error) {
	return memLayer([]memEntry{
		{name: "etc/", mode: 0o755},
		{name: "etc/base-marker.txt", mode: 0o644, content: marker + "\n"},
		{name: "srv/", mode: 0o755},
		{name: "usr/", mode: 0o755},
		{name: "usr/local/", mode: 0o755},
		{name: "usr/local/bin/", mode: 0o755},
		{name: "usr/local/bin/base-entrypoint", mode: 0o755, content: "#!/bin/sh\n" +
			"# The base image's entrypoint: marks that it ran, then runs its arguments.\n" +
			"export BASE_ENTRYPOINT_RAN=1\n" +
			"exec \"$@\"\n"},
	})
}

// busyboxLayer is a root file system with a static busybox and no Python,
// taken from the installed busybox-static package.
func busyboxLayer() (*blobLayer, error) {
	const bin = "/bin/busybox"
	f, err := elf.Open(bin)
	if err != nil {
		return nil, fmt.Errorf("reading %q for the no-Python base: %w; run scripts/setup.sh (apt-get install busybox-static)", bin, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			f.Close()
			return nil, fmt.Errorf("reading %q for the no-Python base: it is dynamically linked; install busybox-static", bin)
		}
	}
	f.Close()
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("reading %q for the no-Python base: %w", bin, err)
	}
	entries := []memEntry{
		{name: "bin/", mode: 0o755},
		{name: "bin/busybox", mode: 0o755, content: string(data)},
		{name: "etc/", mode: 0o755},
		{name: "etc/passwd", mode: 0o644, content: "root:x:0:0:root:/root:/bin/sh\n"},
		{name: "etc/group", mode: 0o644, content: "root:x:0:\n"},
		{name: "root/", mode: 0o700},
		{name: "tmp/", mode: 0o1777},
	}
	for _, applet := range []string{"sh", "ls", "cat", "echo", "env", "test", "true", "false", "mkdir", "rm"} {
		entries = append(entries, memEntry{name: "bin/" + applet, mode: 0o777, linkname: "busybox"})
	}
	return memLayer(entries)
}

// imageSpec describes one single-platform base image.
type imageSpec struct {
	arch, variant string
	env           []string
	entrypoint    []string
	cmd           []string
	workingDir    string
	labels        map[string]string
	layers        []*blobLayer
	history       []string
}

// image assembles an OCI image from spec.
func (s imageSpec) image() (v1.Image, error) {
	cfg := &v1.ConfigFile{
		Architecture: s.arch,
		Variant:      s.variant,
		OS:           "linux",
		Created:      v1.Time{Time: baseCreated},
		Config: v1.Config{
			Env:        s.env,
			Entrypoint: s.entrypoint,
			Cmd:        s.cmd,
			WorkingDir: s.workingDir,
			Labels:     s.labels,
		},
		RootFS: v1.RootFS{Type: "layers"},
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("setting the config of a %s base: %w", s.arch, err)
	}
	adds := make([]mutate.Addendum, len(s.layers))
	for i, l := range s.layers {
		adds[i] = mutate.Addendum{
			Layer:     l,
			MediaType: types.OCILayer,
			History:   v1.History{Created: v1.Time{Time: baseCreated}, CreatedBy: s.history[i]},
		}
	}
	img, err = mutate.Append(img, adds...)
	if err != nil {
		return nil, fmt.Errorf("adding layers to a %s base: %w", s.arch, err)
	}
	return img, nil
}

// baseImages are the test bed's images, keyed by their reference relative
// to the plain registry.
type baseImages struct {
	images map[string]v1.Image
	index  map[string]v1.ImageIndex
}

// buildBaseImages makes (or loads from the cache) every base image.
func buildBaseImages(ctx context.Context, cacheDir, mirror string, logf func(string, ...any)) (*baseImages, error) {
	var amd64, arm64 *blobLayer
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		amd64, err = debianLayer(gctx, cacheDir, "amd64", mirror, logf)
		return err
	})
	g.Go(func() (err error) {
		arm64, err = debianLayer(gctx, cacheDir, "arm64", mirror, logf)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	marker, err := markerLayer("base-file-ok")
	if err != nil {
		return nil, err
	}
	swapMarker, err := markerLayer("swap-base-file-ok")
	if err != nil {
		return nil, err
	}
	busybox, err := busyboxLayer()
	if err != nil {
		return nil, err
	}
	rootfsHistory := func(arch string) string {
		return strings.Join(debianArgs(arch, "MIRROR"), " ")
	}
	debian := func(arch, variant, markerEnv, label string, top *blobLayer) imageSpec {
		return imageSpec{
			arch: arch, variant: variant,
			env:        []string{basePATH, "BASE_MARKER=" + markerEnv},
			entrypoint: []string{"/usr/local/bin/base-entrypoint"},
			cmd:        []string{"/bin/sh"},
			workingDir: "/srv",
			labels:     map[string]string{"org.example.base": label},
			layers:     []*blobLayer{map[string]*blobLayer{"amd64": amd64, "arm64": arm64}[arch], top},
			history:    []string{rootfsHistory(arch), "envbuild testbed: base-entrypoint, /etc/base-marker.txt, /srv"},
		}
	}
	specs := map[string]imageSpec{
		refDebian: debian("amd64", "", "from-base", "debian", marker),
		refSwap:   debian("amd64", "", "from-swap-base", "debian-swap", swapMarker),
		refARM64:  debian("arm64", "v8", "from-base", "debian", marker),
		refNoPython: {
			arch:    "amd64",
			env:     []string{"PATH=/bin"},
			cmd:     []string{"/bin/sh"},
			labels:  map[string]string{"org.example.base": "nopython"},
			layers:  []*blobLayer{busybox},
			history: []string{"envbuild testbed: static busybox from busybox-static, no Python"},
		},
	}
	out := &baseImages{images: map[string]v1.Image{}, index: map[string]v1.ImageIndex{}}
	for ref, spec := range specs {
		img, err := spec.image()
		if err != nil {
			return nil, err
		}
		out.images[ref] = img
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, ref := range []string{refDebian, refARM64} {
		spec := specs[ref]
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add: out.images[ref],
			Descriptor: v1.Descriptor{
				MediaType: types.OCIManifestSchema1,
				Platform:  &v1.Platform{OS: "linux", Architecture: spec.arch, Variant: spec.variant},
			},
		})
	}
	out.index[refMulti] = idx
	return out, nil
}
