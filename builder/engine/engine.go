package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	contentapi "github.com/containerd/containerd/api/services/content/v1"
	"github.com/containerd/platforms"
	"github.com/docker/cli/cli/config"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"

	"github.com/envbuild/envbuild/lock/failure"
)

// daemon is what the engine asks of BuildKit's client (*client.Client):
// the one seam where tests put a fake daemon.
type daemon interface {
	Close() error
	ListWorkers(ctx context.Context, opts ...client.ListWorkersOption) ([]*client.WorkerInfo, error)
	Info(ctx context.Context) (*client.Info, error)
	Build(ctx context.Context, opt client.SolveOpt, product string, buildFunc gateway.BuildFunc, statusChan chan *client.SolveStatus) (*client.SolveResponse, error)
	Prune(ctx context.Context, ch chan client.UsageInfo, opts ...client.PruneOption) error
	DiskUsage(ctx context.Context, opts ...client.DiskUsageOption) ([]*client.UsageInfo, error)
	ContentClient() contentapi.ContentClient
}

var _ daemon = (*client.Client)(nil)

// Engine is a connected BuildKit client.
type Engine struct {
	c    daemon
	Addr string
	// Info is what the daemon said about itself when it was dialed.
	Info DaemonInfo
}

// Dial connects to addr (no TLS) and checks that a daemon answers and can
// run envbuild's builds. An address where nothing listens is an
// infrastructure error saying how to start one.
func Dial(ctx context.Context, addr string) (*Engine, error) {
	return dial(ctx, addr, TLSOptions{}, nil)
}

func rootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// Close closes the connection.
func (e *Engine) Close() error { return e.c.Close() }

// HostPlatform is the platform of the daemon's first worker: where exec
// steps run without emulation.
func (e *Engine) HostPlatform(ctx context.Context) (string, error) {
	ws, err := e.c.ListWorkers(ctx)
	if err != nil {
		return "", failure.Infra(fmt.Errorf("asking BuildKit at %s for its workers: %w", e.Addr, err))
	}
	if len(ws) == 0 || len(ws[0].Platforms) == 0 {
		return "", failure.Infra(fmt.Errorf("BuildKit at %s has no worker", e.Addr))
	}
	p := ws[0].Platforms[0]
	p.Variant = ""
	return platforms.Format(p), nil
}

// PlatformJob is one platform's layers, each built and exported on its
// own (Build).
type PlatformJob struct {
	Platform string
	Layers   []LayerJob
}

// LayerJob is one layer built and exported on its own: an image of that
// one layer, with its config, and its metadata file read from Meta.
type LayerJob struct {
	Def      *llb.Definition
	Config   []byte
	Meta     *llb.Definition
	MetaFile string
}

// Export says where the result goes: a registry image (Image set) or an
// OCI layout directory (OCIDir set).
type Export struct {
	Image    string
	Insecure bool
	OCIDir   string
	// Compression is "gzip" (default) or "zstd".
	Compression string
	// CompressionLevel, when > 0, is the exporter's compression-level for
	// the layers it compresses (a blob BuildKit already holds in that
	// compression is reused as it is, and the base image's layers are
	// never recompressed).
	CompressionLevel int
	// PushByDigest pushes the image without a tag (Image is then a
	// repository): envbuild writes the tagged manifest itself.
	PushByDigest bool
}

// Job is a whole build.
type Job struct {
	Platforms []PlatformJob
	Export    Export
	// LocalDirs are directories sent through the session (the installer).
	LocalDirs map[string]string
	// Secrets are session secrets (index Authorization headers).
	Secrets map[string][]byte
	// Progress is auto, plain, tty, quiet or rawjson.
	Progress string
	// ProgressOut receives progress (stderr).
	ProgressOut io.Writer
	// DockerConfigDir overrides where registry credentials are read.
	DockerConfigDir string
	// BlobsExist, when set, is asked which blobs the target repository
	// already has, so the result can report the bytes actually pushed.
	BlobsExist func(ctx context.Context, digests []string) (map[string]bool, error)
	// PushTimeout stops a push that makes no progress (no bytes moved, no
	// step started or finished) for this long; 0 means no limit.
	PushTimeout time.Duration

	// pushing says this solve only pushes: the watchdog applies.
	pushing bool
}

// Result is what the exporter made.
type Result struct {
	// Digest of the exported one-layer image's manifest (Build: the first
	// layer's; envbuild writes the environment's manifest itself).
	Digest string
	// PushedBytes counts the blobs the exporter uploaded (the registry did
	// not have them before).
	PushedBytes int64
	// Vertexes is the number of build steps; Cached how many came from
	// BuildKit's cache.
	Vertexes, Cached int
	// Images are the exported image's layers per platform, bottom first,
	// with their diff ids.
	Images map[string][]Layer
	// Meta holds, per platform, the metadata files of its layers
	// (LayerJob.MetaFile), in the order of its Layers.
	Meta map[string][][]byte

	// pushed are the blobs one export uploaded.
	pushed []Blob
}

// Layer is one layer of an exported image.
type Layer struct {
	Digest, DiffID, MediaType string
	Size                      int64
	// Path is the blob's file when exported to an OCI layout.
	Path string
}

// Build solves and exports the job, each layer on its own and all at
// once: a layer is compressed and pushed as soon as its step is done,
// while the others are still installing. One export of the whole image
// would wait for the slowest step before compressing anything, and on a
// two-core machine compressing a big environment takes as long as
// installing it.
func (e *Engine) Build(ctx context.Context, job Job) (*Result, error) {
	mounts := map[string]fsutil.FS{}
	for name, dir := range job.LocalDirs {
		fs, err := fsutil.NewFS(dir)
		if err != nil {
			return nil, fmt.Errorf("sending %s to BuildKit: %w", dir, err)
		}
		mounts[name] = fs
	}
	cfgDir := job.DockerConfigDir
	if cfgDir == "" {
		cfgDir = config.Dir()
	}
	dockerCfg, err := config.Load(cfgDir)
	if err != nil {
		return nil, failure.User(fmt.Errorf("reading registry credentials from %s: %w", cfgDir, err))
	}
	attachables := []session.Attachable{
		authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{AuthConfigProvider: authprovider.LoadAuthConfig(dockerCfg)}),
	}
	if len(job.Secrets) > 0 {
		attachables = append(attachables, secretsprovider.FromMap(job.Secrets))
	}
	hub, err := e.startStatus(ctx, job)
	if err != nil {
		return nil, err
	}
	units := job.units()
	results := make([]*Result, len(units))
	eg, ectx := errgroup.WithContext(hub.ctx)
	for i, u := range units {
		eg.Go(func() error {
			// FrontendAttrs must not be nil: BuildKit's client copies
			// cache-import attributes into it.
			opt := client.SolveOpt{LocalMounts: mounts, Session: attachables, FrontendAttrs: map[string]string{}}
			r, err := e.buildUnit(ectx, u, opt, hub)
			results[i] = r
			return err
		})
	}
	err = eg.Wait()
	r := hub.stop()
	if err := hub.tripped(e.Addr, job); err != nil {
		return nil, err
	}
	if err != nil {
		var se *solveError
		if errors.As(err, &se) {
			name, reason := hub.watch.failure()
			return nil, &StepError{Step: name, Mismatch: isMismatch(se.err), err: classifySolveError(se.err, e.Addr, registryHost(job.Export.Image), name, reason)}
		}
		return nil, err
	}
	pushed := map[string]bool{}
	for _, ur := range results {
		if r.Digest == "" {
			r.Digest = ur.Digest
		}
		for p, ls := range ur.Images {
			if r.Images == nil {
				r.Images = map[string][]Layer{}
			}
			r.Images[p] = append(r.Images[p], ls...)
		}
		for p, ms := range ur.Meta {
			if r.Meta == nil {
				r.Meta = map[string][][]byte{}
			}
			r.Meta[p] = append(r.Meta[p], ms...)
		}
		// A blob two exports share (one config for every layer of a
		// platform, a noarch layer of two platforms) is pushed once.
		for _, b := range ur.pushed {
			if !pushed[b.Digest] {
				pushed[b.Digest] = true
				r.PushedBytes += b.Size
			}
		}
	}
	return r, nil
}

// unit is one layer of a job, built and exported on its own: the job's
// settings, the layer's platform, and its export (an OCI layout of its
// own when the job exports to one).
type unit struct {
	Job
	platform string
	layer    LayerJob
}

// units splits the job into the exports Build runs at once, one per layer.
func (job Job) units() []unit {
	var out []unit
	for _, pj := range job.Platforms {
		for _, l := range pj.Layers {
			u := unit{Job: job, platform: pj.Platform, layer: l}
			if job.Export.OCIDir != "" {
				u.Export.OCIDir = filepath.Join(job.Export.OCIDir, strconv.Itoa(len(out)))
			}
			out = append(out, u)
		}
	}
	return out
}

// buildUnit solves and exports one unit of a job.
func (e *Engine) buildUnit(ctx context.Context, u unit, opt client.SolveOpt, hub *statusHub) (*Result, error) {
	job := u.Job
	compression := job.Export.Compression
	if compression == "" {
		compression = "gzip"
	}
	imageExport := func(push bool) client.ExportEntry {
		attrs := map[string]string{
			"name":           job.Export.Image,
			"push":           fmt.Sprint(push),
			"oci-mediatypes": "true",
			"compression":    compression,
		}
		if job.Export.Insecure {
			attrs["registry.insecure"] = "true"
		}
		if job.Export.CompressionLevel > 0 {
			attrs["compression-level"] = strconv.Itoa(job.Export.CompressionLevel)
		}
		if job.Export.PushByDigest {
			attrs["push-by-digest"] = "true"
		}
		return client.ExportEntry{Type: client.ExporterImage, Attrs: attrs}
	}
	r := &Result{}
	switch {
	case job.Export.Image != "" && job.BlobsExist != nil:
		// Two passes: the first exports without pushing, so the blobs of the
		// image can be listed and asked for in the registry; the second,
		// entirely cached, pushes. The difference is what was pushed.
		opt.Exports = []client.ExportEntry{imageExport(false)}
		first, err := e.solve(ctx, u, opt, r, hub, true)
		if err != nil {
			return nil, err
		}
		blobs, err := e.imageBlobs(ctx, first)
		if err != nil {
			return nil, failure.Infra(err)
		}
		if r.Images, err = imageLayers(ctx, first, e.readBlob); err != nil {
			return nil, failure.Infra(err)
		}
		var digests []string
		for _, b := range blobs {
			digests = append(digests, b.Digest)
		}
		exists, err := job.BlobsExist(ctx, digests)
		if err != nil {
			return nil, err
		}
		opt.Exports = []client.ExportEntry{imageExport(true)}
		hub.pushing(job)
		second, err := e.solve(ctx, u, opt, &Result{}, hub, false)
		if err != nil {
			return nil, err
		}
		if second != first {
			// What envbuild uses of the export is its layers: a config or
			// manifest written differently the second time (a concurrent
			// build's refs, say) is harmless while the layers are the same.
			again, err := imageLayers(ctx, second, e.readBlob)
			if err != nil {
				return nil, failure.Infra(err)
			}
			if !sameLayers(r.Images, again) {
				return nil, failure.Infra(fmt.Errorf("BuildKit exported %s but pushed %s with other layers: the build is not reproducible on this daemon", first, second))
			}
		}
		r.Digest = second
		for _, b := range blobs {
			if !exists[b.Digest] {
				r.pushed = append(r.pushed, b)
			}
		}
	case job.Export.Image != "":
		opt.Exports = []client.ExportEntry{imageExport(true)}
		d, err := e.solve(ctx, u, opt, r, hub, true)
		if err != nil {
			return nil, err
		}
		r.Digest = d
	case job.Export.OCIDir != "":
		if err := os.MkdirAll(job.Export.OCIDir, 0o755); err != nil {
			return nil, failure.User(fmt.Errorf("creating OCI layout directory %s: %w", job.Export.OCIDir, err))
		}
		attrs := map[string]string{"tar": "false", "compression": compression, "oci-mediatypes": "true"}
		if job.Export.CompressionLevel > 0 {
			attrs["compression-level"] = strconv.Itoa(job.Export.CompressionLevel)
		}
		opt.Exports = []client.ExportEntry{{Type: client.ExporterOCI, Attrs: attrs, OutputDir: job.Export.OCIDir}}
		d, err := e.solve(ctx, u, opt, r, hub, true)
		if err != nil {
			return nil, err
		}
		r.Digest = d
		read := func(_ context.Context, dgst string) ([]byte, error) {
			return os.ReadFile(layoutBlob(job.Export.OCIDir, dgst))
		}
		var err2 error
		if r.Images, err2 = imageLayers(ctx, d, read); err2 != nil {
			return nil, failure.Infra(err2)
		}
		for _, ls := range r.Images {
			for i := range ls {
				ls[i].Path = layoutBlob(job.Export.OCIDir, ls[i].Digest)
			}
		}
	default:
		return nil, errors.New("engine: nothing to export to")
	}
	return r, nil
}

// solveError is an error BuildKit's solve returned, which Build names
// after the step that failed.
type solveError struct{ err error }

func (e *solveError) Error() string { return e.err.Error() }
func (e *solveError) Unwrap() error { return e.err }

// statusHub gathers the status streams of a job's solves into one
// display, one step count and one watch, and runs the watchdogs that stop
// the whole job.
type statusHub struct {
	ctx     context.Context
	cancel  context.CancelFunc
	in      chan hubStatus
	fwd     sync.WaitGroup
	done    chan struct{}
	counter stepCounter
	watch   *statusWatch

	pushOnce              sync.Once
	stalled, unresponsive atomic.Bool
	healthTimeout         time.Duration
}

type hubStatus struct {
	s    *client.SolveStatus
	show bool
}

func (e *Engine) startStatus(ctx context.Context, job Job) (*statusHub, error) {
	mode := progressui.DisplayMode(job.Progress)
	if mode == "" {
		mode = progressui.AutoMode
	}
	out := job.ProgressOut
	if out == nil {
		out = io.Discard
	}
	display, err := progressui.NewDisplay(out, mode)
	if err != nil {
		return nil, failure.Usage(fmt.Errorf("--progress %q: %w", job.Progress, err))
	}
	h := &statusHub{in: make(chan hubStatus), done: make(chan struct{}), watch: newStatusWatch(), healthTimeout: BuildkitTimeout()}
	h.ctx, h.cancel = context.WithCancel(ctx)
	// A daemon that stops answering (frozen, swapped out, its host gone
	// without closing the connection) would leave the build waiting
	// forever; a long silent step would not: so the daemon itself is asked,
	// every few seconds, to answer a cheap call in time.
	go watchdog(h.ctx, h.cancel, 5*time.Second, &h.unresponsive, func() bool {
		hctx, hcancel := context.WithTimeout(h.ctx, h.healthTimeout)
		defer hcancel()
		_, err := e.c.ListWorkers(hctx)
		return err != nil && hctx.Err() != nil && h.ctx.Err() == nil
	})
	tee := make(chan *client.SolveStatus)
	go func() {
		defer close(tee)
		for hs := range h.in {
			h.watch.observe(hs.s)
			if hs.show {
				h.counter.observe(hs.s)
				tee <- hs.s
			}
		}
	}()
	go func() {
		defer close(h.done)
		_, _ = display.UpdateFrom(context.WithoutCancel(ctx), tee)
	}()
	return h, nil
}

// forward sends one solve's status stream to the hub (to the display
// when show) until BuildKit closes it; the returned channel closes then.
func (h *statusHub) forward(ch chan *client.SolveStatus, show bool) <-chan struct{} {
	done := make(chan struct{})
	h.fwd.Add(1)
	go func() {
		defer h.fwd.Done()
		defer close(done)
		for s := range ch {
			h.in <- hubStatus{s: s, show: show}
		}
	}()
	return done
}

// pushing starts, at the first push, the watchdog that stops a push
// making no progress for job.PushTimeout.
func (h *statusHub) pushing(job Job) {
	if job.PushTimeout <= 0 {
		return
	}
	h.pushOnce.Do(func() {
		go watchdog(h.ctx, h.cancel, min(job.PushTimeout/4, time.Second), &h.stalled, func() bool {
			return h.watch.idle() >= job.PushTimeout
		})
	})
}

// stop waits for the display to show the last status and returns the
// step counts.
func (h *statusHub) stop() *Result {
	h.fwd.Wait()
	close(h.in)
	<-h.done
	h.cancel()
	r := &Result{}
	r.Vertexes, r.Cached = h.counter.counts()
	return r
}

// tripped is the error of a watchdog that stopped the job, if one did.
func (h *statusHub) tripped(addr string, job Job) error {
	if h.unresponsive.Load() {
		return failure.Infra(fmt.Errorf("BuildKit at %s stopped answering (no answer to a health check within %s), so the build was stopped; is the daemon stopped, frozen or out of memory? (ENVBUILD_BUILDKIT_TIMEOUT sets how long to wait)", addr, h.healthTimeout))
	}
	if h.stalled.Load() {
		return failure.Infra(fmt.Errorf("pushing to registry %s through BuildKit at %s: no progress for %s, so the push was stopped; is the registry overloaded or out of space? (ENVBUILD_PUSH_TIMEOUT sets how long to wait)", registryHost(job.Export.Image), addr, job.PushTimeout))
	}
	return nil
}

// solve runs one solve of a unit, its status going to the hub (shown
// when show): the layer, its metadata file read into r.Meta, and the
// layer's config handed to the exporter.
func (e *Engine) solve(ctx context.Context, u unit, opt client.SolveOpt, r *Result, hub *statusHub, show bool) (string, error) {
	evaluate := func(ctx context.Context, c gateway.Client, def *llb.Definition) (gateway.Reference, error) {
		res, err := c.Solve(ctx, gateway.SolveRequest{Definition: def.ToPB(), Evaluate: true})
		if err != nil {
			return nil, err
		}
		return res.SingleRef()
	}
	buildFunc := func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
		ref, err := evaluate(ctx, c, u.layer.Def)
		if err != nil {
			return nil, err
		}
		if u.layer.Meta != nil {
			mref, err := evaluate(ctx, c, u.layer.Meta)
			if err != nil {
				return nil, err
			}
			b, err := mref.ReadFile(ctx, gateway.ReadRequest{Filename: u.layer.MetaFile})
			if err != nil {
				return nil, fmt.Errorf("reading %s of the build: %w", u.layer.MetaFile, err)
			}
			r.Meta = map[string][][]byte{u.platform: {b}}
		}
		res := gateway.NewResult()
		res.SetRef(ref)
		res.AddMeta(exptypes.ExporterImageConfigKey, u.layer.Config)
		return res, nil
	}
	statusCh := make(chan *client.SolveStatus)
	done := hub.forward(statusCh, show)
	resp, err := e.c.Build(ctx, opt, "envbuild", buildFunc, statusCh)
	<-done
	if err != nil {
		return "", &solveError{err: err}
	}
	return resp.ExporterResponse[exptypes.ExporterImageDigestKey], nil
}

// StepError is a failed build: which step failed first (as the status
// stream named it), and whether BuildKit said a download's digest did not
// match.
type StepError struct {
	Step     string
	Mismatch bool
	err      error
}

func (e *StepError) Error() string { return e.err.Error() }
func (e *StepError) Unwrap() error { return e.err }

func isMismatch(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "digest mismatch") || strings.Contains(msg, "checksum")
}

// registryHost is the registry part of an image or repository name.
func registryHost(image string) string {
	if image == "" {
		return ""
	}
	host, _, _ := strings.Cut(image, "/")
	return host
}

// classifySolveError tells a failing build step (the user's packages: exit
// 1, e.g. a checksum mismatch or an installer refusing a package) from
// BuildKit or a registry failing (exit 4). step is the name of the step
// that failed, as the status stream reported it, and reason the line it
// last wrote on stderr: BuildKit's own error only says that a process
// exited with 1, so the installer's reason is added in every progress
// mode. registry is where the push went.
func classifySolveError(err error, addr, registry, step, reason string) error {
	msg := err.Error()
	why := ""
	if reason != "" {
		why = ": " + failure.Truncate(reason, 300)
	}
	switch {
	case isMismatch(err):
		return failure.User(fmt.Errorf("an artifact does not match the sha256 in the lock (the index now serves other bytes, or the lock was edited): %w", err))
	case strings.HasPrefix(step, "fetch "):
		return failure.Infra(fmt.Errorf("downloading %s inside BuildKit at %s failed: %w", strings.TrimPrefix(step, "fetch "), addr, err))
	case strings.Contains(msg, "process \"") && strings.Contains(msg, "did not complete successfully"):
		if step != "" {
			return failure.User(fmt.Errorf("installing the environment failed in step %q%s (%w)", step, why, err))
		}
		return failure.User(fmt.Errorf("installing the environment failed%s (%w)", why, err))
	case strings.Contains(msg, "failed to push"), strings.Contains(msg, "unexpected status"), strings.Contains(msg, "401 Unauthorized"), strings.Contains(msg, "403 Forbidden"), strings.Contains(msg, "connection refused"), strings.Contains(msg, "no such host"):
		if registry != "" && (step == "" || strings.HasPrefix(step, "exporting") || strings.HasPrefix(step, "pushing")) {
			return failure.Infra(fmt.Errorf("pushing to registry %s through BuildKit at %s: %w", registry, addr, err))
		}
		if step != "" {
			return failure.Infra(fmt.Errorf("BuildKit at %s failed in step %q%s: %w", addr, step, why, err))
		}
	}
	if step != "" && why != "" {
		return failure.Infra(fmt.Errorf("building with BuildKit at %s, step %q%s: %w", addr, step, why, err))
	}
	return failure.Infra(fmt.Errorf("building with BuildKit at %s: %w", addr, err))
}

// BuildkitTimeout is how long a BuildKit daemon may take to answer a health
// check during a build before the build is stopped: ENVBUILD_BUILDKIT_TIMEOUT
// (a Go duration or seconds), default 60s.
func BuildkitTimeout() time.Duration {
	v := os.Getenv("ENVBUILD_BUILDKIT_TIMEOUT")
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return 60 * time.Second
}

// sameLayers reports whether two exports hold the same layers per platform.
func sameLayers(a, b map[string][]Layer) bool {
	if len(a) != len(b) {
		return false
	}
	for p, la := range a {
		lb := b[p]
		if len(la) != len(lb) {
			return false
		}
		for i := range la {
			if la[i].Digest != lb[i].Digest || la[i].DiffID != lb[i].DiffID {
				return false
			}
		}
	}
	return true
}

// watchdog asks failed every interval until it reports true, then sets
// tripped and cancels the build; it ends with ctx.
func watchdog(ctx context.Context, cancel context.CancelFunc, interval time.Duration, tripped *atomic.Bool, failed func() bool) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if failed() {
				tripped.Store(true)
				cancel()
				return
			}
		}
	}
}

// HTTPAuthSecrets are the session secrets that give BuildKit's HTTP
// source an Authorization header per host: it asks the session for
// HTTP_AUTH_HEADER_<hostname> before every download. headers maps a
// host ("host" or "host:port") to the header's value.
func HTTPAuthSecrets(headers map[string]string) map[string][]byte {
	secrets := map[string][]byte{}
	for host, v := range headers {
		h := host
		if u, err := url.Parse("//" + host); err == nil && u.Hostname() != "" {
			h = u.Hostname()
		}
		secrets["HTTP_AUTH_HEADER_"+h] = []byte(v)
	}
	return secrets
}
