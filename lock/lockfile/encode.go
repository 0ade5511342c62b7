package lockfile

import (
	"github.com/envbuild/envbuild/internal/httpc"

	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/envbuild/envbuild/internal/tomlcheck"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/platform"
)

// Sort puts environments, targets, packages and depends lists in their
// canonical order.
func (f *File) Sort() {
	sort.Slice(f.Envs, func(i, j int) bool { return f.Envs[i].Name < f.Envs[j].Name })
	for ei := range f.Envs {
		ts := f.Envs[ei].Targets
		sort.Slice(ts, func(i, j int) bool { return ts[i].Platform < ts[j].Platform })
		for ti := range ts {
			ps := ts[ti].Packages
			sort.Slice(ps, func(i, j int) bool {
				if ps[i].Name != ps[j].Name {
					return ps[i].Name < ps[j].Name
				}
				return ps[i].Source < ps[j].Source
			})
			for pi := range ps {
				sort.Strings(ps[pi].Depends)
			}
		}
	}
}

// Marshal returns the canonical bytes of f: sorted, fixed field order,
// trailing newline.
func (f *File) Marshal() []byte {
	c := *f
	c.Envs = append([]Env(nil), f.Envs...)
	c.Sort()
	var b bytes.Buffer
	b.WriteString("# envbuild.lock: written by envbuild; do not edit by hand.\n")
	fmt.Fprintf(&b, "lock-version = %d\n", Version)
	for _, e := range c.Envs {
		b.WriteString("\n[[env]]\n")
		kv(&b, "name", e.Name)
		kv(&b, "spec-digest", e.SpecDigest)
		for _, lt := range e.Targets {
			t := encodeTarget(lt)
			b.WriteString("\n[[env.target]]\n")
			kv(&b, "platform", t.Platform)
			kv(&b, "python", t.Python)
			kv(&b, "implementation", t.Implementation)
			if t.FreeThreaded {
				b.WriteString("free-threaded = true\n")
			}
			kv(&b, "libc", t.Libc)
			kvOpt(&b, "base", t.Base)
			kvOpt(&b, "python-source", t.PythonSource)
			kvOpt(&b, "interpreter", t.Interpreter)
			for _, p := range t.Packages {
				if p.Source == SourceConda {
					// The lock is shared: never a channel's credentials
					// or token, even if a caller left them in.
					p.URL, p.Channel, p.Index = httpc.StripURL(p.URL), httpc.StripURL(p.Channel), httpc.StripURL(p.Index)
				}
				b.WriteString("\n[[env.target.package]]\n")
				kv(&b, "name", p.Name)
				kv(&b, "version", p.Version)
				kv(&b, "source", string(p.Source))
				kv(&b, "kind", string(p.Kind))
				kv(&b, "url", p.URL)
				kv(&b, "filename", p.Filename)
				kv(&b, "sha256", p.Sha256)
				fmt.Fprintf(&b, "size = %d\n", p.Size)
				b.WriteString("depends = [")
				for i, d := range p.Depends {
					if i > 0 {
						b.WriteString(", ")
					}
					b.WriteString(strconv.Quote(d))
				}
				b.WriteString("]\n")
				if p.Requested {
					b.WriteString("requested = true\n")
				}
				kvOpt(&b, "index", p.Index)
				kvOpt(&b, "channel", p.Channel)
				kvOpt(&b, "subdir", p.Subdir)
				kvOpt(&b, "build", p.Build)
				if p.BuildNumber != 0 {
					fmt.Fprintf(&b, "build-number = %d\n", p.BuildNumber)
				}
				kvOpt(&b, "noarch", p.Noarch)
				kvOpt(&b, "spec", p.Spec)
			}
		}
	}
	return b.Bytes()
}

func kv(b *bytes.Buffer, k, v string) { fmt.Fprintf(b, "%s = %s\n", k, tomlString(v)) }

func kvOpt(b *bytes.Buffer, k, v string) {
	if v != "" {
		kv(b, k, v)
	}
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Digest is "sha256:…" of the canonical bytes.
func (f *File) Digest() string {
	sum := sha256.Sum256(f.Marshal())
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Parse reads a lock strictly: unknown keys and a lock-version other than
// Version are errors naming the file.
func Parse(name string, data []byte) (*File, error) {
	if err := tomlcheck.Check(name, data, tomlcheck.MaxLockFile); err != nil {
		return nil, err
	}
	var d diskFile
	md, err := toml.Decode(string(data), &d)
	if err != nil {
		return nil, failure.User(fmt.Errorf("reading lock %s: %w", name, err))
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, failure.User(fmt.Errorf("reading lock %s: unknown key %q; was it written by a newer envbuild?", name, und[0].String()))
	}
	if d.LockVersion != Version {
		return nil, failure.User(fmt.Errorf("reading lock %s: lock-version %d is not supported (this envbuild reads version %d); run `envbuild lock` again", name, d.LockVersion, Version))
	}
	f := File{LockVersion: d.LockVersion}
	for _, de := range d.Envs {
		e := Env{Name: de.Name, SpecDigest: de.SpecDigest}
		for _, dt := range de.Targets {
			for _, p := range dt.Packages {
				if !IsSha256(p.Sha256) {
					return nil, failure.User(fmt.Errorf("reading lock %s: package %s %s has no valid sha256 (64 lowercase hex digits); run `envbuild lock` again", name, p.Name, p.Version))
				}
			}
			t, err := decodeTarget(dt)
			if err != nil {
				return nil, failure.User(fmt.Errorf("reading lock %s: environment %q, target %s: %w", name, de.Name, dt.Platform, err))
			}
			e.Targets = append(e.Targets, t)
		}
		f.Envs = append(f.Envs, e)
	}
	return &f, nil
}

// Read reads a lock file; a missing file returns (nil, nil).
func Read(path string) (*File, error) {
	data, err := tomlcheck.ReadFile(path, tomlcheck.MaxLockFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, failure.User(fmt.Errorf("reading lock %s: %w", path, err))
	}
	return Parse(path, data)
}

// Write writes f to path atomically (a temporary file renamed over the old
// one), so a failed run never leaves a partial lock.
func Write(path string, f *File) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".envbuild.lock.*")
	if err != nil {
		return failure.User(fmt.Errorf("writing lock %s: %w", path, err))
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(f.Marshal()); err != nil {
		tmp.Close()
		return failure.User(fmt.Errorf("writing lock %s: %w", path, err))
	}
	if err := tmp.Close(); err != nil {
		return failure.User(fmt.Errorf("writing lock %s: %w", path, err))
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return failure.User(fmt.Errorf("writing lock %s: %w", path, err))
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return failure.User(fmt.Errorf("writing lock %s: %w", path, err))
	}
	return nil
}

// Put replaces the environment of the same name, or adds e, keeping the
// environments sorted.
func (f *File) Put(e Env) {
	for i := range f.Envs {
		if f.Envs[i].Name == e.Name {
			f.Envs[i] = e
			return
		}
	}
	f.Envs = append(f.Envs, e)
	sort.Slice(f.Envs, func(i, j int) bool { return f.Envs[i].Name < f.Envs[j].Name })
}

// Env returns the environment named name, or nil.
func (f *File) Env(name string) *Env {
	for i := range f.Envs {
		if f.Envs[i].Name == name {
			return &f.Envs[i]
		}
	}
	return nil
}

// Target returns the environment's target for platform, or nil.
func (e *Env) Target(p string) *Target {
	for i := range e.Targets {
		if platform.Same(e.Targets[i].Platform, p) {
			return &e.Targets[i]
		}
	}
	return nil
}

// IsSha256 reports whether s is a sha256 as a lock writes it: 64
// lowercase hex digits. Artifacts are named by it on disk, in cache keys
// and in URLs, so nothing else is taken from a lock.
func IsSha256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
