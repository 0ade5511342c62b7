package installer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/envbuild/envbuild/builder/layout"
)

// EnvMeta describes the per-environment files of one environment:
// everything that differs between two environments holding the same
// packages, kept out of the package layers. The builder fills it and passes
// it to the envmeta subcommand as JSON.
type EnvMeta struct {
	// EnvID is the environment's id, hex.
	EnvID string `json:"env_id"`
	// LockDigest is the digest of the lock the environment was built from
	// ("sha256:...").
	LockDigest string `json:"lock_digest"`
	// Python is the environment's Python as MAJOR.MINOR[t] ("3.11"); it
	// locates site-packages for REQUESTED markers.
	Python string `json:"python"`
	// Venv, when set, makes the prefix a venv on the base image's
	// interpreter: pyvenv.cfg and bin/python* symlinks. Leave it nil when
	// the environment's Python comes from conda.
	Venv *Venv `json:"venv,omitempty"`
	// Requested are the PyPI distributions the user asked for; each gets a
	// REQUESTED marker in its .dist-info directory.
	Requested []RequestedDist `json:"requested,omitempty"`
	// Conda are the conda packages of the environment whose conda-meta
	// records get their per-environment fields.
	Conda []CondaMeta `json:"conda,omitempty"`
}

// Venv describes the base image's interpreter a venv-style prefix runs on.
type Venv struct {
	// Home is the directory of the base's interpreter ("/usr/bin").
	Home string `json:"home"`
	// Executable is the base's interpreter ("/usr/bin/python3.11"); the
	// prefix's bin/python, bin/python3 and bin/pythonMAJOR.MINOR link to it.
	Executable string `json:"executable"`
	// Version is the base's full Python version ("3.11.2").
	Version string `json:"version"`
}

// RequestedDist names a PyPI distribution the user asked for directly.
type RequestedDist struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// CondaMeta holds the per-environment fields of one conda-meta record.
type CondaMeta struct {
	// Name, Version and Build name the record
	// (conda-meta/NAME-VERSION-BUILD.json).
	Name    string `json:"name"`
	Version string `json:"version"`
	Build   string `json:"build"`
	// RequestedSpec is the spec the user wrote for this package, empty for
	// a dependency.
	RequestedSpec string `json:"requested_spec,omitempty"`
	// URL and Channel say where the package was fetched from.
	URL     string `json:"url,omitempty"`
	Channel string `json:"channel,omitempty"`
	// Link is conda's record of how the package was linked into the
	// prefix; nil leaves it out.
	Link *CondaLink `json:"link,omitempty"`
}

// CondaLink is the "link" field of a conda-meta record.
type CondaLink struct {
	Source string `json:"source"` // the extracted package directory conda linked from
	Type   int    `json:"type"`   // 1 hard link, 2 soft link, 3 copy
}

// EnvMetaOptions say where WriteEnvMeta finds the installed packages.
type EnvMetaOptions struct {
	// Packages is a directory laid out like the output (DIR/opt/envbuild/
	// env/...) holding the merged package layers, read only. REQUESTED
	// markers need it to find the exact .dist-info directory (without it,
	// NAME-VERSION.dist-info with the wheel-normalized name is assumed);
	// conda records need it. Default: none.
	Packages string
}

// ReadEnvMeta reads an EnvMeta from JSON; unknown fields are errors.
func ReadEnvMeta(data []byte) (*EnvMeta, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m EnvMeta
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("reading the environment description: %w", err)
	}
	return &m, nil
}

// envJSON is MetaDir/env.json.
type envJSON struct {
	EnvID         string `json:"env_id"`
	LockDigest    string `json:"lock_digest"`
	LayoutVersion string `json:"layout_version"`
	Prefix        string `json:"prefix"`
}

// WriteEnvMeta writes the per-environment files of m under root and
// normalizes root.
func WriteEnvMeta(root string, m *EnvMeta, opt EnvMetaOptions) error {
	if err := writeEnvMeta(root, m, opt); err != nil {
		return fmt.Errorf("writing the environment's metadata: %w", err)
	}
	return nil
}

func writeEnvMeta(root string, m *EnvMeta, opt EnvMetaOptions) error {
	t, err := newTree(root)
	if err != nil {
		return err
	}
	if m.EnvID == "" || m.LockDigest == "" {
		return errors.New("env_id and lock_digest are required")
	}
	env, err := json.MarshalIndent(envJSON{EnvID: m.EnvID, LockDigest: m.LockDigest, LayoutVersion: layout.Version, Prefix: layout.Prefix}, "", "  ")
	if err != nil {
		return err
	}
	if err := t.writeBytes(layout.MetaDir+"/env.json", modeFile, append(env, '\n')); err != nil {
		return err
	}
	var py pyVersion
	if m.Venv != nil || len(m.Requested) > 0 {
		if py, err = parsePython(m.Python, false); err != nil {
			return err
		}
	}
	if m.Venv != nil {
		if err := writeVenv(t, m.Venv, py); err != nil {
			return err
		}
	}
	requested := append([]RequestedDist(nil), m.Requested...)
	sort.Slice(requested, func(i, j int) bool { return normalizeName(requested[i].Name) < normalizeName(requested[j].Name) })
	for _, r := range requested {
		dir, err := distInfoDir(opt.Packages, py.sitePackages(), r)
		if err != nil {
			return err
		}
		if err := t.writeBytes(dir+"/REQUESTED", modeFile, nil); err != nil {
			return err
		}
	}
	for _, cm := range m.Conda {
		if err := writeCondaMeta(t, opt.Packages, cm); err != nil {
			return err
		}
	}
	return Normalize(root)
}

// writeVenv writes pyvenv.cfg and the bin/python symlinks of a venv on the
// base's interpreter, its empty site-packages, and lib64 -> lib as venv does
// on 64-bit Linux.
func writeVenv(t *tree, v *Venv, py pyVersion) error {
	if !path.IsAbs(v.Executable) || !path.IsAbs(v.Home) || v.Version == "" {
		return fmt.Errorf("venv needs an absolute home and executable and a version, got %+v", *v)
	}
	cfg := fmt.Sprintf("home = %s\ninclude-system-site-packages = false\nversion = %s\nexecutable = %s\n", v.Home, v.Version, v.Executable)
	if err := t.writeBytes(layout.Prefix+"/pyvenv.cfg", modeFile, []byte(cfg)); err != nil {
		return err
	}
	names := []string{"python", "python3", fmt.Sprintf("python%d.%d", py.major, py.minor)}
	if py.freeThreaded {
		names = append(names, fmt.Sprintf("python%d.%dt", py.major, py.minor))
	}
	for _, name := range names {
		if err := t.symlink(v.Executable, layout.BinDir+"/"+name); err != nil {
			return err
		}
	}
	if err := t.mkdirAll(py.sitePackages()); err != nil {
		return err
	}
	return t.symlink("lib", layout.Prefix+"/lib64")
}

// distInfoDir finds the .dist-info directory of r: in the packages tree when
// given, else by the wheel naming rule.
func distInfoDir(packages, site string, r RequestedDist) (string, error) {
	if r.Name == "" || r.Version == "" || strings.ContainsAny(r.Name+r.Version, "/\\\x00") {
		return "", fmt.Errorf("requested distribution %q %q needs a plain name and version", r.Name, r.Version)
	}
	if packages == "" {
		return site + "/" + strings.ReplaceAll(normalizeName(r.Name), "-", "_") + "-" + r.Version + ".dist-info", nil
	}
	entries, err := os.ReadDir(filepath.Join(packages, filepath.FromSlash(site)))
	if err != nil {
		return "", fmt.Errorf("looking for the .dist-info of %q: %w", r.Name, err)
	}
	for _, e := range entries {
		stem, ok := strings.CutSuffix(e.Name(), ".dist-info")
		if !ok || !e.IsDir() {
			continue
		}
		i := strings.LastIndexByte(stem, '-')
		if i > 0 && normalizeName(stem[:i]) == normalizeName(r.Name) && strings.EqualFold(stem[i+1:], r.Version) {
			return site + "/" + e.Name(), nil
		}
	}
	return "", fmt.Errorf("requested distribution %s %s has no .dist-info directory in %s; is it in the lock and installed?", r.Name, r.Version, site)
}

// writeCondaMeta rewrites a package's conda-meta record with the
// per-environment fields of cm.
func writeCondaMeta(t *tree, packages string, cm CondaMeta) error {
	if cm.Name == "" || cm.Version == "" || cm.Build == "" || strings.ContainsAny(cm.Name+cm.Version+cm.Build, "/\\\x00") {
		return fmt.Errorf("conda record %q-%q-%q needs a plain name, version and build", cm.Name, cm.Version, cm.Build)
	}
	if packages == "" {
		return fmt.Errorf("completing the conda-meta record of %s needs the installed packages; pass --packages DIR", cm.Name)
	}
	p := layout.CondaMeta + "/" + cm.Name + "-" + cm.Version + "-" + cm.Build + ".json"
	data, err := os.ReadFile(filepath.Join(packages, filepath.FromSlash(p)))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("conda package %s-%s-%s is not installed: %s is missing", cm.Name, cm.Version, cm.Build, p)
		}
		return fmt.Errorf("reading %s: %w", p, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var rec map[string]any
	if err := dec.Decode(&rec); err != nil {
		return fmt.Errorf("reading %s: %w", p, err)
	}
	if cm.RequestedSpec != "" {
		rec["requested_spec"] = cm.RequestedSpec
	}
	if cm.Link != nil {
		rec["link"] = cm.Link
	}
	if cm.URL != "" {
		rec["url"] = cm.URL
	}
	if cm.Channel != "" {
		rec["channel"] = cm.Channel
	}
	out, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return t.writeBytes(p, modeFile, append(out, '\n'))
}
