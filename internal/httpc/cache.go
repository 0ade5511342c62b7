package httpc

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Entry is one stored HTTP response. On disk it is a single file: a
// line of JSON (this struct) followed by the body.
type Entry struct {
	URL          string    `json:"url"`       // request URL, without credentials
	FinalURL     string    `json:"final_url"` // after redirects, for resolving relative links
	Status       int       `json:"status"`    // 200, or 404 remembered for --offline
	ContentType  string    `json:"content_type,omitempty"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	CacheControl string    `json:"cache_control,omitempty"`
	Stored       time.Time `json:"stored"` // when the response was last received or revalidated
	Body         []byte    `json:"-"`
}

// Cache stores responses under dir, one file per (URL, variant), named
// by the sha256 of both, so no credential or odd character reaches a path.
type Cache struct{ dir string }

func (c *Cache) path(key string) string {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(c.dir, h[:2], h)
}

// Get returns the stored entry for key, or nil when there is none (a
// corrupt entry counts as none).
func (c *Cache) Get(key string) *Entry {
	if c == nil || c.dir == "" {
		return nil
	}
	data, err := os.ReadFile(c.path(key))
	if err != nil {
		return nil
	}
	head, body, ok := bytes.Cut(data, []byte("\n"))
	if !ok {
		return nil
	}
	var e Entry
	if json.Unmarshal(head, &e) != nil {
		return nil
	}
	e.Body = body
	return &e
}

// Put stores e atomically (temporary file, then rename).
func (c *Cache) Put(key string, e *Entry) error {
	if c == nil || c.dir == "" {
		return nil
	}
	p := c.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("creating the HTTP cache directory: %w", err)
	}
	head, err := json.Marshal(e)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return fmt.Errorf("writing the HTTP cache: %w", err)
	}
	w := bufio.NewWriter(tmp)
	w.Write(head)
	w.WriteByte('\n')
	w.Write(e.Body)
	err = w.Flush()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing the HTTP cache: %w", err)
	}
	return nil
}

// Remove forgets key.
func (c *Cache) Remove(key string) {
	if c != nil && c.dir != "" {
		os.Remove(c.path(key))
	}
}

// GetBlob and PutBlob store derived data (parsed metadata) by key.
func (c *Cache) GetBlob(key string) ([]byte, bool) {
	if c == nil || c.dir == "" {
		return nil, false
	}
	data, err := os.ReadFile(c.path(key))
	if err != nil {
		return nil, false
	}
	return data, true
}

func (c *Cache) PutBlob(key string, data []byte) error {
	return c.Put(key, &Entry{URL: key, Status: 200, Stored: time.Now().UTC(), Body: data})
}

// BlobBody strips the entry header written by putBlob.
func BlobBody(data []byte) []byte {
	_, body, _ := bytes.Cut(data, []byte("\n"))
	return body
}

// DefaultCacheDir is $XDG_CACHE_HOME/envbuild/http, else ~/.cache/envbuild/http.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "envbuild", "http"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the HTTP cache directory: %w; set XDG_CACHE_HOME", err)
	}
	return filepath.Join(home, ".cache", "envbuild", "http"), nil
}

// cacheControl is the part of a Cache-Control header a private cache needs.
type cacheControl struct {
	maxAge  time.Duration
	hasAge  bool
	noCache bool
	noStore bool
}

func parseCacheControl(h string) cacheControl {
	var cc cacheControl
	for _, d := range strings.Split(h, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(name) {
		case "max-age":
			if n, err := strconv.Atoi(strings.Trim(val, `"`)); err == nil {
				cc.maxAge, cc.hasAge = time.Duration(n)*time.Second, true
			}
		case "no-cache":
			cc.noCache = true
		case "no-store":
			cc.noStore = true
		case "must-revalidate":
			// Staleness already means revalidation here.
		}
	}
	return cc
}

// fresh reports whether e may be used without asking the server, given a
// heuristic freshness for responses without Cache-Control.
func (e *Entry) fresh(now time.Time, heuristic time.Duration) bool {
	if e.CacheControl == "" {
		return heuristic > 0 && now.Sub(e.Stored) < heuristic
	}
	cc := parseCacheControl(e.CacheControl)
	if cc.noCache || cc.noStore || !cc.hasAge {
		return false
	}
	return now.Sub(e.Stored) < cc.maxAge
}

// EnsureDir creates dir and checks it is writable.
func EnsureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// NewCache is the cache under dir ("" : none), for tools and tests that
// read or damage entries.
func NewCache(dir string) *Cache { return &Cache{dir: dir} }

// Dir is the cache's directory ("" when there is none).
func (c *Cache) Dir() string {
	if c == nil {
		return ""
	}
	return c.dir
}
