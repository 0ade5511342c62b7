package build

import (
	"bytes"
	"context"
	"io"
	"os"
	"path"
	"sync"
	"time"

	kgzip "github.com/klauspost/compress/gzip"
	digest "github.com/opencontainers/go-digest"

	"github.com/envbuild/envbuild/builder/baseimage"
	"github.com/envbuild/envbuild/builder/plan"
	"github.com/envbuild/envbuild/builder/registry"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/platform"
)

// compileRoots gives the steps that compile bytecode a small root to run
// on instead of the whole base: the base's interpreter, the libraries it
// loads and its standard library (baseimage.CompileRoot), kept in the team
// layer cache as a record of its own (plan.CompileRootKey). A fresh
// builder that installs one changed package then pulls a few tens of
// megabytes instead of the base.
//
// A build whose bases have no compile root yet compiles on the base as
// before and, when it writes the layer cache, makes the root meanwhile
// (reading the base's layers itself) and records it once the image is
// pushed, for the builds that follow.
type compileRoots struct {
	reg      *registry.Client
	repo     string // the layer cache's repository; "" when it is off
	write    bool   // records are written
	salt     string
	cacheDir string
	// ctx bounds the making of compile roots; cancel stops it.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	off     bool // a build on a compile root failed: the bases only
	used    bool // the current build runs some step on a compile root
	pending map[string]*pendingRoot
}

type pendingRoot struct {
	platform string
	done     chan struct{}
	blob     []byte
	diffID   string
	took     time.Duration
	err      error
}

// key is the compile root's key for pp, "" when pp never compiles with
// the base's interpreter.
func (c *compileRoots) key(pp plan.PlatformPlan) string {
	if c == nil || c.repo == "" || !pp.Bytecode || pp.Target.PythonSource == lockfile.PythonFromConda || pp.Base.ManifestDigest == "" {
		return ""
	}
	return plan.CompileRootKey(pp, c.salt)
}

// root returns the record image ("repo@sha256:…") of the root the
// compile steps of pp run on: its recorded compile root, or "" (the
// base). Without a record, and when recording, it starts making one.
func (c *compileRoots) root(pp plan.PlatformPlan, records map[string]*registry.LayerRecord) string {
	key := c.key(pp)
	if key == "" || !plan.CompilesOnBase(pp, func(k string) bool { return records[k] != nil }) {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.off {
		return ""
	}
	if rec := records[key]; rec != nil {
		c.used = true
		return rec.Image()
	}
	if c.write && c.pending[key] == nil {
		pr := &pendingRoot{platform: platform.Canonical(pp.Platform), done: make(chan struct{})}
		if c.pending == nil {
			c.pending = map[string]*pendingRoot{}
		}
		c.pending[key] = pr
		go func() {
			defer close(pr.done)
			start := time.Now()
			pr.blob, pr.diffID, pr.err = c.make(c.ctx, pp)
			pr.took = time.Since(start)
		}()
	}
	return ""
}

// make reads the base of pp and returns its compile root as a gzip blob
// and the digest of its tar.
func (c *compileRoots) make(ctx context.Context, pp plan.PlatformPlan) ([]byte, string, error) {
	img, err := c.reg.Image(ctx, pp.Base.Ref, pp.Platform)
	if err != nil {
		return nil, "", err
	}
	spool, err := os.MkdirTemp(c.cacheDir, "compile-root-")
	if err != nil {
		if spool, err = os.MkdirTemp("", "envbuild-compile-root-"); err != nil {
			return nil, "", err
		}
	}
	defer os.RemoveAll(spool)
	stdlib := path.Join(path.Dir(path.Dir(pp.Base.Interpreter)), "lib", "python"+pp.Target.PythonShort())
	var blob bytes.Buffer
	zw := kgzip.NewWriter(&blob)
	diff := digest.SHA256.Digester()
	if err := baseimage.CompileRoot(ctx, img, pp.Base.Interpreter, stdlib, spool, io.MultiWriter(zw, diff.Hash())); err != nil {
		return nil, "", err
	}
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	return blob.Bytes(), diff.Digest().String(), nil
}

// failed reports whether the build that just failed ran on a compile
// root; from then on only the bases are used.
func (c *compileRoots) failed() bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	used := c.used
	c.off, c.used = true, false
	return used
}

// record waits for the compile roots made during a build that succeeded
// and records them. Failing to is a warning: the next build compiles on
// the base again.
func (c *compileRoots) record(ctx context.Context, logf func(string, ...any)) {
	if c == nil {
		return
	}
	c.mu.Lock()
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	defer c.cancel()
	for key, pr := range pending {
		<-pr.done
		if pr.err != nil {
			logf("warning: the compile root of %s was not made (the next build pulls the base to compile bytecode): %v", pr.platform, pr.err)
			continue
		}
		rec := &registry.LayerRecord{
			Key: key, Platform: pr.platform, Digest: digest.FromBytes(pr.blob).String(), Size: int64(len(pr.blob)),
			MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", DiffID: pr.diffID, Meta: []byte("{}"),
		}
		if err := c.reg.WriteBlobRecord(ctx, c.repo, rec, pr.blob); err != nil {
			logf("warning: recording the compile root of %s in the layer cache %s: %v", pr.platform, c.repo, err)
			continue
		}
		logf("recorded the compile root of %s (%.1f MB, made in %.1fs) in the layer cache %s", pr.platform, float64(len(pr.blob))/1e6, pr.took.Seconds(), c.repo)
	}
}

// stop abandons compile roots still being made (a failed build).
func (c *compileRoots) stop() {
	if c == nil {
		return
	}
	c.cancel()
	c.mu.Lock()
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, pr := range pending {
		<-pr.done
	}
}

// newCompileRoots returns the compile roots of a build that reads (and,
// when it records layers, records in) the layer cache; nil when the cache
// is off.
func newCompileRoots(ctx context.Context, o Options, dest destinations) *compileRoots {
	if dest.mode == LayerCacheOff || dest.cacheRepo == "" {
		return nil
	}
	c := &compileRoots{reg: o.Registry, repo: dest.cacheRepo, write: dest.recordTo != "", salt: o.CacheSalt, cacheDir: o.CacheDir}
	c.ctx, c.cancel = context.WithCancel(ctx)
	return c
}
