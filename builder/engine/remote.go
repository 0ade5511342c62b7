package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/connhelper"

	// The connection helpers buildctl registers, so that every address
	// buildctl takes works here too.
	_ "github.com/moby/buildkit/client/connhelper/dockercontainer"
	_ "github.com/moby/buildkit/client/connhelper/kubepod"
	_ "github.com/moby/buildkit/client/connhelper/nerdctlcontainer"
	_ "github.com/moby/buildkit/client/connhelper/npipe"
	_ "github.com/moby/buildkit/client/connhelper/podmancontainer"
	_ "github.com/moby/buildkit/client/connhelper/ssh"

	"github.com/envbuild/envbuild/lock/failure"
)

// Schemes are the BuildKit address schemes envbuild connects to: the ones
// buildctl takes.
var Schemes = []string{"unix", "tcp", "docker-container", "podman-container", "nerdctl-container", "kube-pod", "ssh", "npipe"}

const addressExamples = "unix:///run/buildkit/buildkitd.sock, tcp://host:1234, docker-container://NAME, podman-container://NAME, kube-pod://POD?namespace=NS, ssh://user@host[:port][/path/to/buildkitd.sock]"

// ParseAddress checks that addr is a BuildKit address envbuild can dial,
// before anything is dialed. A malformed address is a usage error.
func ParseAddress(addr string) (*url.URL, error) {
	shown := addr
	u, perr := url.Parse(addr)
	if perr == nil {
		// A password in the address is not repeated in messages.
		shown = u.Redacted()
	}
	bad := func(why string) error {
		return failure.Usage(fmt.Errorf("BuildKit address %q: %s; write one of %s", shown, why, addressExamples))
	}
	if !strings.Contains(addr, "://") {
		return nil, bad("no scheme")
	}
	if perr != nil {
		return nil, bad("not a URL")
	}
	if _, has := u.User.Password(); has {
		return nil, bad("a password in the address is not supported (for ssh://, use keys or an ssh agent)")
	}
	if !slices.Contains(Schemes, u.Scheme) {
		return nil, bad(fmt.Sprintf("unknown scheme %q (known: %s)", u.Scheme, strings.Join(Schemes, ", ")))
	}
	switch u.Scheme {
	case "unix":
		if u.Path == "" && u.Host == "" {
			return nil, bad("no socket path")
		}
	case "tcp":
		if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" || u.User != nil {
			return nil, bad("want tcp://HOST:PORT")
		}
	default:
		if _, err := connhelper.GetConnectionHelper(addr); err != nil {
			return nil, bad(err.Error())
		}
	}
	return u, nil
}

// IsZero reports whether no TLS setting is given.
func (t TLSOptions) IsZero() bool { return t == TLSOptions{} }

// Check reports a TLS file that does not exist or cannot be read, and a
// certificate without its key (or the reverse), before anything is dialed:
// the user's input, exit 1.
func (t TLSOptions) Check() error {
	if (t.Cert == "") != (t.Key == "") {
		return failure.User(errors.New("TLS: give the client certificate and its key together (--tlscert and --tlskey)"))
	}
	for _, f := range []struct{ what, path string }{{"--tlscacert", t.CACert}, {"--tlscert", t.Cert}, {"--tlskey", t.Key}} {
		if f.path == "" {
			continue
		}
		fh, err := os.Open(f.path)
		if err != nil {
			var why string
			switch {
			case errors.Is(err, os.ErrNotExist):
				why = "no such file"
			case errors.Is(err, os.ErrPermission):
				why = "permission denied"
			default:
				why = err.Error()
			}
			return failure.User(fmt.Errorf("TLS file %s (%s): %s; point %s (or the config file's %s) at an existing PEM file", f.path, f.what, why, f.what, strings.TrimPrefix(f.what, "--")))
		}
		fh.Close()
	}
	return nil
}

// clientOptions are BuildKit's client options for t, as buildctl makes
// them: the CA (else the system's CAs) and server name for the server's
// certificate, the client certificate and key for mutual TLS.
func (t TLSOptions) clientOptions() []client.ClientOpt {
	if t.IsZero() {
		return nil
	}
	var opts []client.ClientOpt
	if t.CACert != "" {
		opts = append(opts, client.WithServerConfig(t.ServerName, t.CACert))
	} else {
		opts = append(opts, client.WithServerConfigSystem(t.ServerName))
	}
	if t.Cert != "" {
		opts = append(opts, client.WithCredentials(t.Cert, t.Key))
	}
	return opts
}

// Validate checks the options before anything is dialed: the address's
// shape, that TLS settings go with a tcp:// address, and that the TLS files
// exist. Connect calls it; commands call it first to fail before locking.
func (o ConnectOptions) Validate() error {
	if o.Addr != "" && o.Builder != "" {
		return failure.Usage(fmt.Errorf("both a BuildKit address (%s) and a builder (%s) are given: use one", o.Addr, o.Builder))
	}
	if o.Builder != "" && !o.TLS.IsZero() {
		return failure.Usage(fmt.Errorf("TLS settings (--tlscacert, --tlscert, --tlskey, --tlsservername) go with a tcp:// address; builder %s has its own (its driver options cacert, cert, key, servername)", o.Builder))
	}
	if o.Addr == "" {
		if !o.TLS.IsZero() {
			return failure.Usage(errors.New("TLS settings (--tlscacert, --tlscert, --tlskey, --tlsservername) need a tcp:// BuildKit address (--buildkit-addr, BUILDKIT_HOST or the config file's buildkit_addr)"))
		}
		return nil
	}
	u, err := ParseAddress(o.Addr)
	if err != nil {
		return err
	}
	if !o.TLS.IsZero() && u.Scheme != "tcp" {
		return failure.Usage(fmt.Errorf("TLS settings apply to tcp:// addresses; %s is %s://", o.Addr, u.Scheme))
	}
	return o.TLS.Check()
}

// dial connects to addr with t and checks that a BuildKit daemon answers
// and can run envbuild's builds (fit.go).
func dial(ctx context.Context, addr string, t TLSOptions, log func(string)) (*Engine, error) {
	if err := (ConnectOptions{Addr: addr, TLS: t}).Validate(); err != nil {
		return nil, err
	}
	c, err := client.New(ctx, addr, t.clientOptions()...)
	if err != nil {
		return nil, failure.Infra(explainDial(addr, t, err))
	}
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := c.ListWorkers(pctx); err != nil {
		c.Close()
		return nil, failure.Infra(explainDial(addr, t, err))
	}
	e := &Engine{c: c, Addr: addr}
	if err := e.checkFit(ctx, log); err != nil {
		c.Close()
		return nil, err
	}
	return e, nil
}

// explainDial turns a failed connection into a message naming the address
// and what to do about it.
func explainDial(addr string, t TLSOptions, err error) error {
	msg := err.Error()
	u, _ := url.Parse(addr)
	scheme := ""
	if u != nil {
		scheme = u.Scheme
	}
	ca := t.CACert
	if ca == "" {
		ca = "the system's CAs (no --tlscacert)"
	}
	var fix string
	switch {
	case strings.Contains(msg, "certificate signed by unknown authority"):
		fix = fmt.Sprintf("its TLS certificate is not signed by %s: pass the CA that signed buildkitd's --tlscert with --tlscacert", ca)
	case strings.Contains(msg, "certificate is valid for"), strings.Contains(msg, "doesn't contain any IP SANs"), strings.Contains(msg, "not valid for any names"):
		name := t.ServerName
		if name == "" && u != nil {
			name = u.Hostname()
		}
		fix = fmt.Sprintf("its TLS certificate does not name %q: set --tlsservername to a name the certificate carries, or connect by that name", name)
	case strings.Contains(msg, "first record does not look like a TLS handshake"):
		fix = "it does not speak TLS: drop --tlscacert/--tlscert/--tlskey, or start buildkitd with --tlscert and --tlskey"
	case strings.Contains(msg, "certificate required"), strings.Contains(msg, "bad certificate"), strings.Contains(msg, "unknown certificate authority"), strings.Contains(msg, "expired certificate"):
		fix = "it refused envbuild's client certificate: pass --tlscert and --tlskey signed by the CA buildkitd's --tlscacert names"
	case scheme == "tcp" && t.IsZero() && (strings.Contains(msg, "server preface") || strings.Contains(msg, "connection reset") || strings.Contains(msg, "EOF")):
		fix = "it closed the connection: it may require TLS (--tlscacert, --tlscert, --tlskey)"
	case scheme == "tcp" && !t.IsZero() && t.Cert == "" && (strings.Contains(msg, "broken pipe") || strings.Contains(msg, "connection reset") || strings.Contains(msg, "EOF")):
		fix = "it closed the TLS connection: it may require a client certificate (--tlscert and --tlskey, signed by the CA buildkitd's --tlscacert names)"
	case strings.Contains(msg, "could not read ca certificate"), strings.Contains(msg, "failed to append ca certs"), strings.Contains(msg, "could not read certificate/key"):
		return failure.User(fmt.Errorf("BuildKit at %s: reading the TLS files: %v; check --tlscacert, --tlscert and --tlskey are PEM files (the key unencrypted)", addr, rootCause(err)))
	}
	if fix != "" {
		return fmt.Errorf("BuildKit at %s: %s (%v)", addr, fix, rootCause(err))
	}
	switch scheme {
	case "unix":
		fix = fmt.Sprintf("start one (`buildkitd --addr %s`), point --buildkit-addr or BUILDKIT_HOST at one, or leave both unset to use envbuild's local daemon", addr)
	case "tcp":
		fix = fmt.Sprintf("check that buildkitd runs there (`buildkitd --addr %s`) and that the host and port are reachable from here", addr)
	case "docker-container", "podman-container", "nerdctl-container":
		tool := strings.TrimSuffix(scheme, "-container")
		fix = fmt.Sprintf("check that the container runs (`%s ps`) and has buildctl on its PATH; `docker buildx create --name envbuild --driver docker-container` makes one (then --builder envbuild)", tool)
	case "kube-pod":
		fix = "check `kubectl get pod` for that pod (kube-pod://POD?namespace=NS&context=CTX&container=C) and that it runs BuildKit with buildctl on its PATH"
	case "ssh":
		fix = "check that `ssh [-p PORT] USER@HOST buildctl [--addr unix://SOCKET] debug workers` works from here: ssh keys and known_hosts, buildctl on the remote PATH, the socket path (ssh://user@host/path/to/buildkitd.sock)"
	default:
		fix = "check the address"
	}
	return fmt.Errorf("no BuildKit daemon answers at %s (%s); %s", addr, helperCause(rootCause(err)), fix)
}

// helperCause shortens what a connection helper's command (ssh, docker,
// kubectl) reported: Docker's command-connection wording, which speaks of
// Docker versions, goes, and of the command's stderr only its last line
// stays.
func helperCause(err error) string {
	msg := err.Error()
	msg = strings.Replace(msg, ", make sure the URL is valid, and Docker 18.09 or later is installed on the remote host", "", 1)
	if before, stderr, ok := strings.Cut(msg, "stderr="); ok {
		stderr = strings.ReplaceAll(stderr, `\r`, "")
		lines := strings.Split(strings.ReplaceAll(stderr, `\n`, "\n"), "\n")
		last := ""
		for _, l := range lines {
			if l = strings.Trim(strings.TrimSpace(l), `"`); l != "" {
				last = l
			}
		}
		msg = before + "stderr: " + last
	}
	return msg
}
