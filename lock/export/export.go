// Package export writes a locked environment in the formats other tools
// install from: a pip requirements file ready for --require-hashes, a
// PEP 751 pylock.toml, and a conda explicit file. No URL written carries
// credentials (the lock has none).
package export

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/envbuild/envbuild/frontends/pylock"
	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/target"
)

// Formats are the names --export takes.
var Formats = []string{"requirements", "pylock", "conda-explicit"}

// Write renders targets of one environment in format.
func Write(format string, e *lockfile.Env, targets []lockfile.Target) ([]byte, error) {
	switch format {
	case "requirements":
		return Requirements(e, targets)
	case "pylock":
		return Pylock(e, targets)
	case "conda-explicit":
		return CondaExplicit(e, targets)
	}
	return nil, failure.Usage(fmt.Errorf("--export %q: want one of %s", format, strings.Join(Formats, ", ")))
}

// entry is one (name, version) of the PyPI packages across targets.
type entry struct {
	name, version string
	files         []lockfile.Package // one per target that has it, distinct files
	machines      []string           // platform_machine of the targets that have it
	requested     bool
	depends       map[string]bool
}

func pypiEntries(e *lockfile.Env, targets []lockfile.Target) ([]*entry, bool, error) {
	byKey := map[string]*entry{}
	var keys []string
	var conda []string
	for _, t := range targets {
		m, err := target.Arch(t.Platform)
		if err != nil {
			return nil, false, failure.User(err)
		}
		machine := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[m]
		if machine == "" {
			machine = m
		}
		for _, p := range t.Packages {
			if p.Source != lockfile.SourcePyPI {
				conda = append(conda, p.Name)
				continue
			}
			k := p.Name + "==" + p.Version
			en := byKey[k]
			if en == nil {
				en = &entry{name: p.Name, version: p.Version, depends: map[string]bool{}}
				byKey[k] = en
				keys = append(keys, k)
			}
			seen := false
			for _, f := range en.files {
				if f.Sha256 == p.Sha256 {
					seen = true
				}
			}
			if !seen {
				en.files = append(en.files, p)
			}
			en.machines = append(en.machines, machine)
			en.requested = en.requested || p.Requested
			for _, d := range p.Depends {
				en.depends[d] = true
			}
		}
	}
	sort.Strings(keys)
	out := make([]*entry, 0, len(keys))
	for _, k := range keys {
		out = append(out, byKey[k])
	}
	return out, len(conda) > 0, nil
}

// marker is "" when the entry is on every target, else a
// platform_machine marker for the targets that have it.
func (en *entry) marker(ntargets int) string {
	if len(en.machines) == ntargets {
		return ""
	}
	var parts []string
	seen := map[string]bool{}
	for _, m := range en.machines {
		if !seen[m] {
			seen[m] = true
			parts = append(parts, fmt.Sprintf("platform_machine == '%s'", m))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, " or ")
}

// Requirements is a pip requirements file: name==version with every
// locked file's --hash, so pip's --require-hashes mode accepts it, and
// a platform_machine marker for a package some targets lack.
func Requirements(e *lockfile.Env, targets []lockfile.Target) ([]byte, error) {
	ents, hasConda, err := pypiEntries(e, targets)
	if err != nil {
		return nil, err
	}
	if hasConda && len(ents) == 0 {
		return nil, failure.User(fmt.Errorf("environment %q has conda packages only, which pip cannot install: export it with --export conda-explicit", e.Name))
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# environment %q, exported by envbuild from its lock: install with\n#   pip install --require-hashes --no-deps -r FILE\n", e.Name)
	if hasConda {
		b.WriteString("# its conda packages (Python among them) are not here: install them first from --export conda-explicit\n")
	}
	for _, en := range ents {
		line := en.name + "==" + en.version
		if m := en.marker(len(targets)); m != "" {
			line += " ; " + m
		}
		b.WriteString(line)
		var hashes []string
		for _, f := range en.files {
			hashes = append(hashes, f.Sha256)
		}
		sort.Strings(hashes)
		for _, h := range hashes {
			fmt.Fprintf(&b, " \\\n    --hash=sha256:%s", h)
		}
		b.WriteString("\n")
	}
	return b.Bytes(), nil
}

// Pylock is a PEP 751 pylock.toml of the environment: one [[packages]]
// per name and version, its wheels (or sdist) with url, size and sha256.
// What PEP 751 has no key for (requested packages, the index's name) is
// kept under [packages.tool.envbuild], so reading it back gives the same
// lock.
func Pylock(e *lockfile.Env, targets []lockfile.Target) ([]byte, error) {
	ents, hasConda, err := pypiEntries(e, targets)
	if err != nil {
		return nil, err
	}
	if hasConda {
		return nil, failure.User(fmt.Errorf("environment %q has conda packages, which a pylock.toml cannot describe: export them with --export conda-explicit, and its PyPI packages with --export requirements", e.Name))
	}
	doc := pylock.Document{LockVersion: "1.0", CreatedBy: "envbuild"}
	if len(targets) > 0 {
		py := targets[0].Python
		same := true
		for _, t := range targets {
			same = same && t.Python == py
		}
		if same && py != "" {
			doc.RequiresPython = "==" + majorMinor(py) + ".*"
		}
	}
	for _, en := range ents {
		p := pylock.Package{Name: en.name, Version: en.version, Marker: en.marker(len(targets))}
		var deps []string
		for d := range en.depends {
			deps = append(deps, d)
		}
		sort.Strings(deps)
		for _, d := range deps {
			p.Dependencies = append(p.Dependencies, pylock.Dependency{Name: d})
		}
		tool := &pylock.EnvbuildTool{Requested: en.requested}
		for _, f := range en.files {
			pf := pylock.File{Name: f.Filename, URL: spec.StripCredentials(f.URL), Size: f.Size, Hashes: map[string]string{"sha256": f.Sha256}}
			if f.Kind == lockfile.KindSdist {
				p.Sdist = &pf
			} else {
				p.Wheels = append(p.Wheels, pf)
			}
			if f.Index != "" {
				tool.Index = f.Index
			}
		}
		sort.Slice(p.Wheels, func(i, j int) bool { return p.Wheels[i].Name < p.Wheels[j].Name })
		if tool.Requested || tool.Index != "" {
			p.Tool = &pylock.PackageTool{Envbuild: tool}
		}
		doc.Packages = append(doc.Packages, p)
	}
	var b bytes.Buffer
	enc := toml.NewEncoder(&b)
	enc.Indent = ""
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// CondaExplicit is a conda explicit file (@EXPLICIT, one URL#sha256 per
// line) of one target, which `conda create --file` installs without
// solving.
func CondaExplicit(e *lockfile.Env, targets []lockfile.Target) ([]byte, error) {
	if len(targets) != 1 {
		var ps []string
		for _, t := range targets {
			ps = append(ps, t.Platform)
		}
		return nil, failure.Usage(fmt.Errorf("a conda explicit file is for one platform, and environment %q has %s: choose one with --export-platform", e.Name, strings.Join(ps, ", ")))
	}
	t := targets[0]
	var b bytes.Buffer
	var pypi []string
	subdir := ""
	var lines []string
	for _, p := range t.Packages {
		if p.Source != lockfile.SourceConda {
			pypi = append(pypi, p.Name)
			continue
		}
		if p.Subdir != "" && p.Subdir != "noarch" {
			subdir = p.Subdir
		}
		lines = append(lines, spec.StripCredentials(p.URL)+"#"+p.Sha256)
	}
	if len(lines) == 0 {
		return nil, failure.User(fmt.Errorf("environment %q has no conda packages for %s: export it with --export requirements or pylock", e.Name, t.Platform))
	}
	fmt.Fprintf(&b, "# environment %q for %s, exported by envbuild from its lock\n", e.Name, t.Platform)
	if len(pypi) > 0 {
		fmt.Fprintf(&b, "# its PyPI packages (%s) are not here: install them afterwards from --export requirements\n", strings.Join(pypi, ", "))
	}
	if subdir != "" {
		fmt.Fprintf(&b, "# platform: %s\n", subdir)
	}
	b.WriteString("@EXPLICIT\n")
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	return b.Bytes(), nil
}

func majorMinor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}
