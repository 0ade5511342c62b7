package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/envbuild/envbuild/builder/installer"
	"github.com/envbuild/envbuild/builder/plan"
	"github.com/envbuild/envbuild/builder/registry"
	"github.com/envbuild/envbuild/builder/wheellayer"
	"github.com/envbuild/envbuild/internal/httpc"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/platform"
)

// fromWheel is a layer of the plan the client writes from its wheel
// (plan.Layer.FromWheel).
type fromWheel struct {
	pp    *plan.PlatformPlan
	layer plan.Layer
}

// wheelLayersToMake lists the FromWheel layers of pl without a record,
// and counts them per platform.
func wheelLayersToMake(pl *plan.Plan, records map[string]*registry.LayerRecord) ([]fromWheel, map[string]int) {
	var out []fromWheel
	per := map[string]int{}
	for i := range pl.Platforms {
		pp := &pl.Platforms[i]
		for _, l := range pp.Layers {
			if l.FromWheel && records[l.Key] == nil {
				out = append(out, fromWheel{pp, l})
				per[pp.Platform]++
			}
		}
	}
	return out, per
}

// fromWheelError is a failure of makeWheelLayers: not one of BuildKit's,
// so a build on the base's compile root is not tried again for it.
type fromWheelError struct{ err error }

func (e fromWheelError) Error() string { return e.err.Error() }
func (e fromWheelError) Unwrap() error { return e.err }

// wheelLayerWriters bounds how many layers are written at once: each
// keeps a core busy inflating to check the wheel's files.
const wheelLayerWriters = 2

// makeWheelLayers writes the layers of todo from their wheels, which it
// fetches here (each once) and checks against the lock's sha256, and puts
// each where BuildKit's built layers go: pushed by digest to target, else
// (target "") kept in dir for the OCI layout. It runs beside BuildKit's
// build and returns the layers' records and the bytes it pushed. On an
// error nothing is recorded (blobs pushed by digest are not an image).
func makeWheelLayers(ctx context.Context, o Options, todo []fromWheel, target, dir string) ([]*registry.LayerRecord, int64, error) {
	if len(todo) == 0 {
		return nil, 0, nil
	}
	start := time.Now()
	client, err := indexClient(o, httpc.Options{Noun: "index"})
	if err != nil {
		return nil, 0, err
	}
	tmp, err := cacheTemp(o.CacheDir, "wheels-")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(tmp)
	if dir == "" {
		dir = tmp
	}
	byWheel := map[string][]fromWheel{}
	var order []string
	for _, fw := range todo {
		sum := fw.layer.Packages[0].Sha256
		if byWheel[sum] == nil {
			order = append(order, sum)
		}
		byWheel[sum] = append(byWheel[sum], fw)
	}
	var mu sync.Mutex
	var recs []*registry.LayerRecord
	var pushed atomic.Int64
	var passed atomic.Int64
	writers := make(chan struct{}, wheelLayerWriters)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(2 * wheelLayerWriters)
	for i, sum := range order {
		layers := byWheel[sum]
		pk := layers[0].layer.Packages[0]
		g.Go(func() error {
			// The installer checks the file's name against the wheel's
			// contents: a directory per wheel keeps the name. The
			// directory is named by its place, never by what the lock
			// says.
			wdir := filepath.Join(tmp, strconv.Itoa(i))
			if err := os.Mkdir(wdir, 0o700); err != nil {
				return err
			}
			defer os.RemoveAll(wdir)
			wheel := filepath.Join(wdir, filepath.Base(pk.Filename))
			if err := fetchWheel(gctx, client, pk, wheel); err != nil {
				return err
			}
			wg, wctx := errgroup.WithContext(gctx)
			for _, fw := range layers {
				wg.Go(func() error {
					select {
					case writers <- struct{}{}:
					case <-wctx.Done():
						return wctx.Err()
					}
					defer func() { <-writers }()
					rec, n, err := writeWheelLayer(wctx, o, fw, wheel, dir)
					if err != nil {
						return err
					}
					// Reading a big wheel's directory leaves tens of MB of
					// garbage; collected now, it does not grow the heap
					// the rest of the build runs in (envbuild's peak
					// memory stays under 256 MB).
					debug.FreeOSMemory()
					passed.Add(n)
					mu.Lock()
					recs = append(recs, rec)
					mu.Unlock()
					if target != "" {
						up, err := o.Registry.UploadBlob(wctx, target, rec.Blob())
						if err != nil {
							return err
						}
						pushed.Add(up)
						os.Remove(rec.Path)
						rec.Path, rec.Repository = "", target
					}
					return nil
				})
			}
			return wg.Wait()
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() == nil {
			err = fromWheelError{err}
		}
		return nil, 0, err
	}
	o.logf("wrote %d layer(s) of big wheels from the wheels' own compressed data (%.0f MB not compressed again) in %.1fs", len(recs), float64(passed.Load())/1e6, time.Since(start).Seconds())
	return recs, pushed.Load(), nil
}

// writeWheelLayer writes the layer of fw from wheel into a file of dir
// and returns its record (Path set) and how many bytes of files were
// copied without compressing.
func writeWheelLayer(ctx context.Context, o Options, fw fromWheel, wheel, dir string) (*registry.LayerRecord, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	l := fw.layer
	f, err := os.CreateTemp(dir, "layer-*.tar.gz")
	if err != nil {
		return nil, 0, err
	}
	opt := installer.WheelOptions{Python: strings.TrimSuffix(fw.pp.Target.PythonShort(), "t"), FreeThreaded: fw.pp.Target.FreeThreaded, Part: l.Part, Parts: l.Parts}
	wl, err := wheellayer.Write(ctx, f, wheel, opt)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		return nil, 0, failure.User(fmt.Errorf("%s (%s): %w", l.Name, fw.pp.Platform, err))
	}
	meta, err := json.Marshal(wl.Meta)
	if err != nil {
		return nil, 0, err
	}
	o.logf("wrote layer %s (%s) from its wheel: %d files, %d copied as compressed in the wheel", l.Name, fw.pp.Platform, wl.Files, wl.Passed)
	return &registry.LayerRecord{
		Key: l.Key, Platform: platform.Canonical(fw.pp.Platform), Digest: wl.Digest, Size: wl.Size, MediaType: wheellayer.MediaType,
		DiffID: wl.DiffID, Meta: meta, Path: f.Name(), Built: true, Name: l.Name,
	}, wl.PassedBytes, nil
}

// fetchWheel downloads pk to path (httpc's Download: a transfer that
// breaks off continues where it stopped), checking its size and sha256
// against the lock.
func fetchWheel(ctx context.Context, client *httpc.Client, pk lockfile.Package, path string) error {
	u, err := url.Parse(pk.URL)
	if err != nil || u.Host == "" {
		return failure.User(fmt.Errorf("%s: the lock's URL %q is not a URL", pk.Filename, httpc.Redact(pk.URL)))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// At most one byte more than the lock's size is kept: enough to tell
	// the file is another, without filling the disk.
	limit := pk.Size + 1
	if pk.Size <= 0 {
		limit = 64 << 30
	}
	got, n, err := client.Download(ctx, pk.URL, nil, &cappedWriter{w: f, left: limit})
	if errors.Is(err, errPastLimit) {
		got, n, err = "", limit, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return failure.Infra(fmt.Errorf("fetching %s to write its layers (envbuild writes the layers of a wheel bigger than %d MiB itself, from the wheel's own compressed data): %s", pk.Filename, plan.SplitSize>>20, failure.ShortenURLs(httpc.Redact(err.Error()))))
	}
	// A file of other bytes than the lock's is the user's to act on.
	if pk.Size > 0 && n != pk.Size {
		return failure.User(fmt.Errorf("%s from %s is %d bytes, but the lock says %d: the index now serves another file, or the lock was edited", pk.Filename, u.Host, n, pk.Size))
	}
	if got != pk.Sha256 {
		return wrongBytes(pk, u.Host, got)
	}
	return f.Close()
}

// errPastLimit ends a download that goes past what cappedWriter keeps.
var errPastLimit = errors.New("the file is bigger than the lock says")

// cappedWriter passes at most left bytes to w; past them it fails with
// errPastLimit.
type cappedWriter struct {
	w    io.Writer
	left int64
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		n, err := c.w.Write(p[:c.left])
		c.left -= int64(n)
		if err == nil {
			err = errPastLimit
		}
		return n, err
	}
	n, err := c.w.Write(p)
	c.left -= int64(n)
	return n, err
}

// cacheTemp makes a temporary directory in tmp/ of the cache directory
// (the system's when there is none): what goes there is gigabytes (big
// wheels, BuildKit's layers for an OCI layout), so it belongs on disk
// rather than in a temporary directory that may be in memory. What a
// killed build left there more than a day ago is removed first.
func cacheTemp(cacheDir, pattern string) (string, error) {
	root := ""
	if cacheDir != "" {
		root = filepath.Join(cacheDir, "tmp")
		if err := os.MkdirAll(root, 0o700); err != nil {
			return "", err
		}
		if entries, err := os.ReadDir(root); err == nil {
			for _, e := range entries {
				if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > 24*time.Hour {
					os.RemoveAll(filepath.Join(root, e.Name()))
				}
			}
		}
	}
	return os.MkdirTemp(root, pattern)
}
