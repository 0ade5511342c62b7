package registry

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/envbuild/envbuild/lock/failure"
)

// regError is a one-line message for the user that keeps its cause
// reachable with errors.As/Is without printing it.
type regError struct {
	msg   string
	cause error
}

func (e *regError) Error() string { return e.msg }
func (e *regError) Unwrap() error { return e.cause }

// isNotFound reports whether the registry said the manifest or repository
// does not exist.
func isNotFound(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	for _, d := range te.Errors {
		if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
			return true
		}
	}
	// A bare 404 counts only for the manifest itself: a 404 for /v2/ means
	// the host is not a registry, which is not an answer.
	return te.StatusCode == http.StatusNotFound && te.Request != nil && strings.Contains(te.Request.URL.Path, "/manifests/")
}

// isBlobNotFound reports whether the registry said a blob is not there.
func isBlobNotFound(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	for _, d := range te.Errors {
		if d.Code == transport.BlobUnknownErrorCode {
			return true
		}
	}
	return te.StatusCode == http.StatusNotFound && te.Request != nil && strings.Contains(te.Request.URL.Path, "/blobs/")
}

// classify turns a failure of go-containerregistry into an error a user
// can act on. doing says what was being done ("checking cache tag"), ref
// is the reference as the user wrote it, host its registry. Not-found is
// not handled here: each caller decides what absence means.
func (c *Client) classify(doing, ref, host string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		// The caller gave up; nothing to explain.
		return fmt.Errorf("%s %q: %w", doing, ref, err)
	}
	infra := func(format string, a ...any) error {
		return failure.Infra(&regError{msg: fmt.Sprintf(format, a...), cause: err})
	}
	var te *transport.Error
	if errors.As(err, &te) {
		status := fmt.Sprintf("%d %s", te.StatusCode, http.StatusText(te.StatusCode))
		switch {
		case te.StatusCode == http.StatusUnauthorized || hasCode(te, transport.UnauthorizedErrorCode):
			return infra("%s %q: registry %s refused access (%s); %s", doing, ref, host, status, c.credentialHint(host))
		case te.StatusCode == http.StatusForbidden || hasCode(te, transport.DeniedErrorCode):
			return infra("%s %q: registry %s denied access (%s): the credentials it was given may not be allowed to read this repository; %s", doing, ref, host, status, c.credentialHint(host))
		case te.StatusCode == http.StatusTooManyRequests:
			return infra("%s %q: registry %s is rate-limiting requests (%s); try again later or log in for a higher limit", doing, ref, host, status)
		case te.StatusCode >= 500:
			return infra("%s %q: registry %s failed (%s)%s; try again later or check the registry's logs", doing, ref, host, status, diagnostics(te))
		case te.Request != nil && te.Request.URL.Path == "/v2/":
			return infra("%s %q: %s does not answer as a registry (GET /v2/: %s); is %s an OCI registry?", doing, ref, host, status, host)
		default:
			return infra("%s %q: registry %s answered %s%s", doing, ref, host, status, diagnostics(te))
		}
	}
	var stalled uploadStalled
	if errors.As(err, &stalled) {
		return infra("%s %q: registry %s took no data for %s, so the upload was stopped; is it overloaded or out of space? (ENVBUILD_PUSH_TIMEOUT sets how long to wait)", doing, ref, host, stalled.d)
	}
	if isTimeout(err) {
		return infra("%s %q: registry %s did not answer within %s; is it overloaded or behind a firewall?", doing, ref, host, c.timeout)
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return infra("%s %q: cannot connect to registry %s (connection refused); is the registry running at %s?", doing, ref, host, host)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return infra("%s %q: cannot resolve registry host %s (%s); check the name", doing, ref, host, dnsErr.Err)
	}
	if strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return infra("%s %q: registry %s speaks plain HTTP; pass --insecure-registry %s to use it", doing, ref, host, host)
	}
	var unknownAuthority x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	if errors.As(err, &unknownAuthority) || errors.As(err, &hostnameErr) {
		return infra("%s %q: cannot verify the TLS certificate of registry %s (%v); install its CA certificate or pass --insecure-registry %s", doing, ref, host, err, host)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return infra("%s %q: cannot reach registry %s (%v); is the registry running at %s?", doing, ref, host, opErr.Err, host)
	}
	return infra("%s %q at registry %s: %v", doing, ref, host, err)
}

func hasCode(te *transport.Error, code transport.ErrorCode) bool {
	for _, d := range te.Errors {
		if d.Code == code {
			return true
		}
	}
	return false
}

func diagnostics(te *transport.Error) string {
	if len(te.Errors) == 0 {
		return ""
	}
	parts := make([]string, 0, len(te.Errors))
	for _, d := range te.Errors {
		s := string(d.Code)
		if d.Message != "" {
			s += ": " + d.Message
		}
		parts = append(parts, s)
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// credentialHint says where credentials for host are read from and what
// the Docker config file holds for it, naming keys and helpers only: a
// secret never appears in an error.
func (c *Client) credentialHint(host string) string {
	if c.custom {
		return "credentials come from the keychain envbuild was given"
	}
	path := dockerConfigPath()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Sprintf("credentials are read from the Docker config file %s, which does not exist; run \"docker login %s\" or write one with an \"auths\" entry for %s", path, host, host)
	}
	if err != nil {
		return fmt.Sprintf("credentials are read from the Docker config file %s, which cannot be read (%v)", path, err)
	}
	var cf struct {
		Auths       map[string]json.RawMessage `json:"auths"`
		CredHelpers map[string]string          `json:"credHelpers"`
		CredsStore  string                     `json:"credsStore"`
	}
	if err := json.Unmarshal(data, &cf); err != nil {
		return fmt.Sprintf("credentials are read from the Docker config file %s, which is not valid JSON (%v)", path, err)
	}
	if h, ok := cf.CredHelpers[host]; ok {
		return fmt.Sprintf("credentials for %s come from the credential helper docker-credential-%s named in %s; check that it is installed and logged in", host, h, path)
	}
	if _, ok := authEntry(cf.Auths, host); ok {
		if cf.CredsStore != "" {
			return fmt.Sprintf("credentials for %s come from the credential store docker-credential-%s named in %s; check that they are still valid", host, cf.CredsStore, path)
		}
		return fmt.Sprintf("credentials for %s are read from the \"auths\" entry in %s; check that they are still valid and allowed to read this repository", host, path)
	}
	known := make([]string, 0, len(cf.Auths))
	for k := range cf.Auths {
		known = append(known, k)
	}
	sort.Strings(known)
	has := ""
	if len(known) > 0 {
		has = " (it has entries for " + strings.Join(known, ", ") + ")"
	}
	return fmt.Sprintf("credentials are read from the Docker config file %s, which has no entry for %s%s; run \"docker login %s\" or add one", path, host, has, host)
}

// authEntry finds host among the keys of a config file's "auths", which
// may be written as a bare host or as a URL.
func authEntry(auths map[string]json.RawMessage, host string) (string, bool) {
	for k := range auths {
		h := strings.TrimPrefix(strings.TrimPrefix(k, "https://"), "http://")
		h, _, _ = strings.Cut(h, "/")
		if strings.EqualFold(h, host) {
			return k, true
		}
	}
	return "", false
}

// dockerConfigPath is where the Docker CLI, and so the default keychain,
// reads credentials: $DOCKER_CONFIG/config.json or ~/.docker/config.json.
func dockerConfigPath() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "config.json")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join("~", ".docker", "config.json")
	}
	return filepath.Join(home, ".docker", "config.json")
}
