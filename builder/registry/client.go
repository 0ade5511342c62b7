package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/envbuild/envbuild/lock/failure"
)

// Options configures a Client. The zero value is usable: every field has a
// documented default.
type Options struct {
	// InsecureHosts are registries (HOST or HOST:PORT) spoken to over plain
	// HTTP or unverified TLS (--insecure-registry). Loopback registries
	// always are, as Docker does. Default: none.
	InsecureHosts []string
	// Keychain supplies credentials. Default: authn.DefaultKeychain, which
	// reads the Docker config file ($DOCKER_CONFIG/config.json or
	// ~/.docker/config.json) and its credential helpers.
	Keychain authn.Keychain
	// Timeout bounds connecting to the registry and waiting for the headers
	// of each answer (not the download of a large blob). Default: 30s.
	Timeout time.Duration
	// UserAgent is sent with every request. Default: "envbuild".
	UserAgent string
	// Retries is how many times a request failing with 408, 429, 5xx or a
	// dropped connection is tried again, after 1s, 3s, ... A timeout is not
	// retried. Default: 2; a negative value means no retry.
	Retries int
	// Transport is the HTTP transport under authentication and retries.
	// Default: one built from Timeout and PushTimeout, honouring
	// HTTP(S)_PROXY.
	Transport http.RoundTripper
	// PushTimeout bounds how long an upload (a blob, a config, a manifest,
	// a layer record) may go without the registry taking any of its
	// bytes; the whole upload may take as long as it keeps moving.
	// Default: DefaultPushTimeout.
	PushTimeout time.Duration
}

// DefaultTimeout is the per-request timeout when Options.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// DefaultPushTimeout is Options.PushTimeout when it is zero.
const DefaultPushTimeout = 120 * time.Second

// Client talks to registries. It is safe for concurrent use.
type Client struct {
	insecure  map[string]bool
	keychain  authn.Keychain
	custom    bool // a keychain other than the default was given
	timeout   time.Duration
	push      time.Duration
	userAgent string
	retries   int
	transport http.RoundTripper
}

// New returns a Client configured by opts.
func New(opts Options) *Client {
	c := &Client{
		insecure:  map[string]bool{},
		keychain:  opts.Keychain,
		custom:    opts.Keychain != nil,
		timeout:   opts.Timeout,
		push:      opts.PushTimeout,
		userAgent: opts.UserAgent,
		retries:   opts.Retries,
		transport: opts.Transport,
	}
	for _, h := range opts.InsecureHosts {
		c.insecure[strings.ToLower(strings.TrimSpace(h))] = true
	}
	if c.keychain == nil {
		c.keychain = authn.DefaultKeychain
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.push <= 0 {
		c.push = DefaultPushTimeout
	}
	if c.userAgent == "" {
		c.userAgent = "envbuild"
	}
	if opts.Retries == 0 {
		c.retries = 2
	}
	if c.retries < 0 {
		c.retries = 0
	}
	if c.transport == nil {
		secure := &http.Transport{
			Proxy: http.ProxyFromEnvironment,
			DialContext: (&net.Dialer{
				Timeout:   c.timeout,
				KeepAlive: 30 * time.Second,
			}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   50,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   c.timeout,
			ResponseHeaderTimeout: c.timeout,
			ExpectContinueTimeout: time.Second,
		}
		insecure := secure.Clone()
		insecure.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
		c.transport = &hostSwitch{secure: secure, insecure: insecure, isInsecure: c.IsInsecure, idle: c.timeout, stall: c.push}
	}
	return c
}

// hostSwitch sends requests for insecure hosts through a transport that
// does not verify TLS certificates, as Docker does for
// --insecure-registry (and loopback) hosts that speak HTTPS, gives up on
// an answer whose body stops flowing for longer than idle, and on an
// upload the registry takes no bytes of for longer than stall.
type hostSwitch struct {
	secure, insecure http.RoundTripper
	isInsecure       func(host string) bool
	idle, stall      time.Duration
}

func (h *hostSwitch) RoundTrip(req *http.Request) (*http.Response, error) {
	t := h.secure
	if h.isInsecure(req.URL.Host) {
		t = h.insecure
	}
	ctx, cancel := context.WithCancel(req.Context())
	var up *stallBody
	if req.Body != nil && req.Body != http.NoBody && h.stall > 0 {
		up = newStallBody(req.Body, h.stall, req.URL.Host, cancel)
		req = req.Clone(ctx)
		req.Body = up
	} else {
		req = req.WithContext(ctx)
	}
	resp, err := t.RoundTrip(req)
	if up != nil {
		up.done()
		if err != nil && up.fired.Load() {
			err = up.err()
		}
	}
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = newIdleBody(resp.Body, h.idle, cancel)
	return resp, nil
}

// idleBody fails a read that waits longer than timeout for data: a
// registry that sent headers and then stalled must not hang a build. Only
// time spent waiting inside Read counts, not the reader's own work.
type idleBody struct {
	body    io.ReadCloser
	timeout time.Duration
	timer   *time.Timer
	cancel  context.CancelFunc
	fired   atomic.Bool
}

func newIdleBody(body io.ReadCloser, timeout time.Duration, cancel context.CancelFunc) *idleBody {
	b := &idleBody{body: body, timeout: timeout, cancel: cancel}
	b.timer = time.AfterFunc(timeout, func() {
		b.fired.Store(true)
		cancel()
	})
	b.timer.Stop()
	return b
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.fired.Load() {
		return 0, idleTimeout{b.timeout}
	}
	b.timer.Reset(b.timeout)
	n, err := b.body.Read(p)
	b.timer.Stop()
	if b.fired.Load() {
		return n, idleTimeout{b.timeout}
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.body.Close()
	b.cancel()
	return err
}

// stallBody is an upload's body that fails the request when the transport
// does not come back for more within timeout: the time counted is the
// time spent outside Read, sending what was read, which stops only when
// the registry stops taking bytes. A slow source (a blob copied from
// another registry) does not count; its own download has idleBody.
type stallBody struct {
	body    io.ReadCloser
	timeout time.Duration
	host    string
	timer   *time.Timer
	fired   atomic.Bool
}

func newStallBody(body io.ReadCloser, timeout time.Duration, host string, cancel context.CancelFunc) *stallBody {
	b := &stallBody{body: body, timeout: timeout, host: host}
	b.timer = time.AfterFunc(timeout, func() {
		b.fired.Store(true)
		cancel()
	})
	return b
}

func (b *stallBody) Read(p []byte) (int, error) {
	b.timer.Stop()
	if b.fired.Load() {
		return 0, b.err()
	}
	n, err := b.body.Read(p)
	if err == nil {
		b.timer.Reset(b.timeout)
	}
	return n, err
}

// done stops the watch once the round trip is over: waiting for the
// answer's headers is bounded by the transport's ResponseHeaderTimeout.
func (b *stallBody) done() { b.timer.Stop() }

func (b *stallBody) Close() error {
	b.timer.Stop()
	return b.body.Close()
}

func (b *stallBody) err() error { return uploadStalled{b.host, b.timeout} }

// uploadStalled is a net.Error whose Timeout is true: an upload the
// registry took no bytes of for d.
type uploadStalled struct {
	host string
	d    time.Duration
}

func (e uploadStalled) Error() string {
	return fmt.Sprintf("registry %s took no data for %s", e.host, e.d)
}
func (e uploadStalled) Timeout() bool   { return true }
func (e uploadStalled) Temporary() bool { return false }

// idleTimeout is a net.Error whose Timeout is true.
type idleTimeout struct{ d time.Duration }

func (e idleTimeout) Error() string   { return fmt.Sprintf("no data from the registry for %s", e.d) }
func (e idleTimeout) Timeout() bool   { return true }
func (e idleTimeout) Temporary() bool { return false }

// IsLoopback reports whether a registry host (with or without a port) is
// this machine: localhost, 127.0.0.0/8 or ::1. Docker speaks plain HTTP to
// such registries without being told; so does envbuild.
func IsLoopback(host string) bool {
	h := strings.ToLower(strings.TrimSpace(host))
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// IsInsecure reports whether host is spoken to without verified TLS: a
// loopback host, or one named in Options.InsecureHosts (with or without
// its port). The builder passes the same answer to BuildKit's exporter
// (registry.insecure=true).
func (c *Client) IsInsecure(host string) bool {
	h := strings.ToLower(strings.TrimSpace(host))
	if IsLoopback(h) || c.insecure[h] {
		return true
	}
	if hh, _, err := net.SplitHostPort(h); err == nil && c.insecure[hh] {
		return true
	}
	return false
}

// IsInsecureRepository is IsInsecure for the registry of repo
// ("host/path"), as BuildKit's push to it needs to know; false for a
// repository that does not parse.
func (c *Client) IsInsecureRepository(repo string) bool {
	r, err := c.Parse(repo)
	if err != nil {
		return false
	}
	return c.IsInsecure(r.Context().RegistryStr())
}

// Parse reads an image reference with Docker's grammar (a first component
// containing "." or ":", or "localhost", is the registry; otherwise Docker
// Hub). A loopback or --insecure-registry host is marked insecure so that
// plain HTTP is used. A malformed reference is a failure.User error.
func (c *Client) Parse(ref string) (name.Reference, error) {
	if strings.Contains(ref, "://") {
		return nil, failure.User(fmt.Errorf("reading image reference %q: an image reference has no URL scheme; write HOST[:PORT]/NAME[:TAG] (plain HTTP is used for loopback hosts and for --insecure-registry HOST)", ref))
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, failure.User(fmt.Errorf("reading image reference %q: %w; want [HOST[:PORT]/]NAME[:TAG|@sha256:DIGEST]", ref, err))
	}
	if !c.IsInsecure(r.Context().RegistryStr()) {
		return r, nil
	}
	r, err = name.ParseReference(ref, name.Insecure)
	if err != nil {
		return nil, failure.User(fmt.Errorf("reading image reference %q: %w", ref, err))
	}
	return r, nil
}

// parseRepository is Parse for a repository name without tag or digest.
func (c *Client) parseRepository(repo string) (name.Repository, error) {
	r, err := name.NewRepository(repo)
	if err != nil {
		return name.Repository{}, failure.User(fmt.Errorf("reading repository %q: %w; want [HOST[:PORT]/]NAME", repo, err))
	}
	if c.IsInsecure(r.RegistryStr()) {
		if r, err = name.NewRepository(repo, name.Insecure); err != nil {
			return name.Repository{}, failure.User(fmt.Errorf("reading repository %q: %w", repo, err))
		}
	}
	return r, nil
}

// remoteOptions are the go-containerregistry options of one call.
func (c *Client) remoteOptions(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(c.keychain),
		remote.WithTransport(c.transport),
		remote.WithUserAgent(c.userAgent),
		remote.WithRetryBackoff(remote.Backoff{Duration: time.Second, Factor: 3, Jitter: 0.1, Steps: c.retries + 1}),
		remote.WithRetryPredicate(retryable),
	}
}

// retryable is ggcr's default retry predicate without timeouts: a registry
// that did not answer within the timeout is reported, not asked again.
func retryable(err error) bool {
	if err == nil || isTimeout(err) || errors.Is(err, context.Canceled) {
		return false
	}
	var t interface{ Temporary() bool }
	if errors.As(err, &t) && t.Temporary() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
