package lockfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/envbuild/envbuild/lock/target"
)

// The on-disk shape of a lock, as TOML decodes it. Only encodeTarget and
// decodeTarget know that a target's libc is one string there.
type diskFile struct {
	LockVersion int       `toml:"lock-version"`
	Envs        []diskEnv `toml:"env"`
}

type diskEnv struct {
	Name       string       `toml:"name"`
	SpecDigest string       `toml:"spec-digest"`
	Targets    []diskTarget `toml:"target"`
}

type diskTarget struct {
	Platform       string `toml:"platform" json:"platform"`
	Python         string `toml:"python" json:"python"`
	Implementation string `toml:"implementation" json:"implementation"`
	FreeThreaded   bool   `toml:"free-threaded,omitempty" json:"free-threaded,omitempty"`
	// Libc is "glibc 2.36" or "musl 1.2".
	Libc         string    `toml:"libc" json:"libc"`
	Base         string    `toml:"base,omitempty" json:"base,omitempty"`
	PythonSource string    `toml:"python-source,omitempty" json:"python-source,omitempty"`
	Interpreter  string    `toml:"interpreter,omitempty" json:"interpreter,omitempty"`
	Packages     []Package `toml:"package" json:"package"`
}

// MarshalJSON writes t as the lock file spells it (`lock --json`). HTML
// characters are left unescaped: the encoder calling it escapes them when
// it is told to.
func (t Target) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(encodeTarget(t)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (t *Target) UnmarshalJSON(b []byte) error {
	var d diskTarget
	if err := json.Unmarshal(b, &d); err != nil {
		return err
	}
	got, err := decodeTarget(d)
	if err != nil {
		return err
	}
	*t = got
	return nil
}

// encodeTarget is t as the lock file spells it.
func encodeTarget(t Target) diskTarget {
	libc := ""
	if t.Libc != "" || t.LibcVersion != "" {
		libc = t.Libc + " " + t.LibcVersion
	}
	return diskTarget{
		Platform: t.Platform, Python: t.Python, Implementation: t.Implementation, FreeThreaded: t.FreeThreaded,
		Libc: libc, Base: t.Base, PythonSource: string(t.PythonSource), Interpreter: t.Interpreter, Packages: t.Packages,
	}
}

// decodeTarget reads a lock file's target: the one place its libc string
// is read back. What it accepts, encodeTarget writes back byte for byte.
func decodeTarget(d diskTarget) (Target, error) {
	t := Target{
		Target: target.Target{
			Platform: d.Platform, Python: d.Python, Implementation: d.Implementation, FreeThreaded: d.FreeThreaded,
			Base: d.Base, Interpreter: d.Interpreter,
		},
		PythonSource: PythonSource(d.PythonSource),
		Packages:     d.Packages,
	}
	if d.Libc == "" {
		return t, nil
	}
	kind, ver, ok := strings.Cut(d.Libc, " ")
	if !ok || (kind != "glibc" && kind != "musl") || ver == "" || strings.ContainsAny(ver, " \t") {
		return Target{}, fmt.Errorf("libc %q: want \"glibc X.Y\" or \"musl X.Y\"", d.Libc)
	}
	t.Libc, t.LibcVersion = kind, ver
	return t, nil
}
