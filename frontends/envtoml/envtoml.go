// Package envtoml reads envbuild.toml (docs/envbuild.toml.md) into specs. Parsing is
// strict, as apko's is: an unknown key, a value of the wrong type or a
// syntax error is reported with file:line:col and nothing is built.
//
// Top-level keys describe one environment named "default". With [envs.NAME]
// tables, each names an environment; the top-level keys are then defaults
// that each named environment may override key by key, and the top-level
// [pypi] and [conda] tables merge into each environment's as Metaflow
// merges @pypi_base into @pypi: packages name by name (the environment's
// version wins), index_url, extra_index_urls and channels inherited unless
// the environment sets them.
package envtoml

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/internal/tomlcheck"
	"github.com/envbuild/envbuild/lock/conda/matchspec"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/pypi/pep508"
)

type pypiTable struct {
	Packages       map[string]string `toml:"packages"`
	IndexURL       *string           `toml:"index_url"`
	ExtraIndexURLs *[]string         `toml:"extra_index_urls"`
}

type condaTable struct {
	Packages map[string]string `toml:"packages"`
	Channels *[]string         `toml:"channels"`
}

type envTable struct {
	Python     *string     `toml:"python"`
	Base       *string     `toml:"base"`
	Platforms  []string    `toml:"platforms"`
	Repository *string     `toml:"repository"`
	AllowSdist *bool       `toml:"allow_sdist"`
	Bytecode   *bool       `toml:"bytecode"`
	PyPI       *pypiTable  `toml:"pypi"`
	Conda      *condaTable `toml:"conda"`
}

type file struct {
	envTable
	Envs map[string]envTable `toml:"envs"`
}

// Load reads path and returns its environments, sorted by name.
func Load(path string) ([]spec.Spec, error) {
	data, err := tomlcheck.ReadFile(path, tomlcheck.MaxSpecFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, failure.User(fmt.Errorf("reading %s: no such file; write one (see examples/) or give packages with --pypi/--conda", path))
		}
		return nil, failure.User(fmt.Errorf("reading %s: %w", path, err))
	}
	return Parse(path, data)
}

// Parse reads envbuild.toml content; name is used in error positions.
func Parse(name string, data []byte) ([]spec.Spec, error) {
	if err := tomlcheck.Check(name, data, tomlcheck.MaxSpecFile); err != nil {
		return nil, err
	}
	var f file
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		var pe toml.ParseError
		var ppe *toml.ParseError
		if errors.As(err, &ppe) {
			pe = *ppe
		}
		if ppe != nil || errors.As(err, &pe) {
			col := pe.Position.Col
			if col == 0 {
				col = 1
			}
			return nil, failure.User(fmt.Errorf("%s:%d:%d: %s", name, pe.Position.Line, col, pe.Message))
		}
		if m := typeErrRE.FindStringSubmatch(err.Error()); m != nil {
			line, col := locateKey(string(data), strings.Split(m[2], "."))
			return nil, failure.User(fmt.Errorf("%s:%d:%d: key %q: %s", name, line, col, m[2], m[3]))
		}
		return nil, failure.User(fmt.Errorf("%s: %w", name, err))
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		line, col := locateKey(string(data), k)
		return nil, failure.User(fmt.Errorf("%s:%d:%d: unknown key %q; known keys: python, base, platforms, repository, allow_sdist, bytecode, [pypi] packages/index_url/extra_index_urls, [conda] packages/channels, [envs.NAME]", name, line, col, k.String()))
	}
	// A list or a string where the packages table belongs would decode
	// to no packages at all: an empty environment, built without a word.
	for _, k := range md.Keys() {
		if len(k) < 2 || k[len(k)-1] != "packages" || (k[len(k)-2] != "pypi" && k[len(k)-2] != "conda") {
			continue
		}
		if typ := md.Type(k...); typ != "Hash" {
			line, col := locateKey(string(data), k)
			return nil, failure.User(fmt.Errorf("%s:%d:%d: %s is %s; write a table of name = \"version\", as Metaflow's @%s(packages={...}): packages = { six = \"1.16.0\", requests = \">=2.31\" }", name, line, col, k.String(), describeType(typ), k[len(k)-2]))
		}
	}
	if err := f.envTable.checkPackages(name, data, nil); err != nil {
		return nil, err
	}
	for n, e := range f.Envs {
		if err := e.checkPackages(name, data, toml.Key{"envs", n}); err != nil {
			return nil, err
		}
	}
	if len(f.Envs) == 0 {
		s, err := f.envTable.toSpec(name, "default", envTable{})
		if err != nil {
			return nil, err
		}
		return []spec.Spec{s}, nil
	}
	names := make([]string, 0, len(f.Envs))
	for n := range f.Envs {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []spec.Spec
	for _, n := range names {
		s, err := f.Envs[n].toSpec(name, n, f.envTable)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (e envTable) toSpec(file, name string, def envTable) (spec.Spec, error) {
	s := spec.Spec{Name: name}
	s.Python = pick(e.Python, def.Python)
	s.Base = pick(e.Base, def.Base)
	s.Repository = pick(e.Repository, def.Repository)
	s.Platforms = e.Platforms
	if s.Platforms == nil {
		s.Platforms = def.Platforms
	}
	for _, p := range s.Platforms {
		if p != "linux/amd64" && p != "linux/arm64" && p != "linux/arm64/v8" {
			return s, failure.User(fmt.Errorf("%s: environment %q: platform %q is not supported; use linux/amd64 or linux/arm64", file, name, p))
		}
	}
	if b := pickBool(e.AllowSdist, def.AllowSdist); b != nil {
		s.Options.AllowSdist = *b
	}
	if b := pickBool(e.Bytecode, def.Bytecode); b != nil {
		s.Options.NoBytecode = !*b
	}
	// [pypi] and [conda] merge into each environment's own tables as
	// Metaflow merges @pypi_base into @pypi: packages name by name (the
	// environment's version wins), every other key inherited unless the
	// environment sets it.
	if e.PyPI != nil || def.PyPI != nil {
		own, top := orEmptyPyPI(e.PyPI), orEmptyPyPI(def.PyPI)
		s.PyPI.Requirements = spec.PypiRequirements(mergePackages(top.Packages, own.Packages, pypiKey))
		if v := pick(own.IndexURL, top.IndexURL); v != "" {
			s.PyPI.IndexURL = v
		}
		s.PyPI.ExtraIndexURLs = pickList(own.ExtraIndexURLs, top.ExtraIndexURLs)
	}
	if e.Conda != nil || def.Conda != nil {
		own, top := orEmptyConda(e.Conda), orEmptyConda(def.Conda)
		s.Conda.Specs = spec.CondaSpecs(mergePackages(top.Packages, own.Packages, condaKey))
		s.Conda.Channels = pickList(own.Channels, top.Channels)
	}
	return s, nil
}

// checkPackages reads every package of the table's [pypi] and [conda] as
// the lock will, so that a bad one is reported at its position and as it
// is written in the file (six = "==>1.0"), not as the requirement made of
// it (six==>1.0).
func (e envTable) checkPackages(file string, data []byte, prefix toml.Key) error {
	at := func(table, pkg, version string, err error) error {
		k := append(append(toml.Key{}, prefix...), table, "packages", pkg)
		line, col := locateKey(string(data), k)
		return failure.User(fmt.Errorf("%s:%d:%d: [%s] packages: %s = %s: %w", file, line, col, table, failure.Quote(pkg), failure.Quote(version), err))
	}
	if e.PyPI != nil {
		for _, n := range sortedNames(e.PyPI.Packages) {
			v := e.PyPI.Packages[n]
			r, err := pep508.ParseRequirement(spec.PypiRequirement(n, v))
			if err == nil {
				_, err = r.Specifiers.Set()
			}
			if err != nil && strings.HasPrefix(strings.TrimSpace(v), "=") {
				// Metaflow's rule makes ==VERSION of it: say so, rather
				// than quote the requirement that rule made.
				return at("pypi", n, v, fmt.Errorf("a version is taken as written only when it starts with <, >, !, ~ or @; any other means ==VERSION, and %s is not a version: write %s for exactly that version", failure.Quote(strings.TrimSpace(v)), failure.Quote(strings.TrimLeft(strings.TrimSpace(v), "=<> "))))
			}
			if err != nil {
				return at("pypi", n, v, err)
			}
		}
	}
	if e.Conda != nil {
		for _, n := range sortedNames(e.Conda.Packages) {
			v := e.Conda.Packages[n]
			if _, err := matchspec.Parse(spec.CondaSpec(n, v)); err != nil {
				return at("conda", n, v, err)
			}
		}
	}
	return nil
}

func sortedNames(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func orEmptyPyPI(t *pypiTable) *pypiTable {
	if t == nil {
		return &pypiTable{}
	}
	return t
}

func orEmptyConda(t *condaTable) *condaTable {
	if t == nil {
		return &condaTable{}
	}
	return t
}

// mergePackages is base's packages with own's on top: an entry of own
// replaces the entry of base that names the same package (key gives the
// name a key stands for), whatever its spelling.
func mergePackages(base, own map[string]string, key func(string) string) map[string]string {
	if base == nil && own == nil {
		return nil
	}
	out := map[string]string{}
	names := map[string]string{}
	for k, v := range base {
		out[k] = v
		names[key(k)] = k
	}
	for k, v := range own {
		if prev, ok := names[key(k)]; ok {
			delete(out, prev)
		}
		out[k] = v
		names[key(k)] = k
	}
	return out
}

var pypiSep = regexp.MustCompile(`[-_.]+`)

// pypiKey is a project name normalised as PEP 503 does (Scikit_Learn and
// scikit-learn are one project).
func pypiKey(k string) string {
	return pypiSep.ReplaceAllString(strings.ToLower(strings.TrimSpace(k)), "-")
}

// condaKey is a conda package name without its channel
// (conda-forge::numpy names numpy).
func condaKey(k string) string {
	if i := strings.LastIndex(k, "::"); i >= 0 {
		k = k[i+2:]
	}
	return strings.ToLower(strings.TrimSpace(k))
}

func pickList(a, b *[]string) []string {
	if a != nil {
		return *a
	}
	if b != nil {
		return *b
	}
	return nil
}

func describeType(t string) string {
	switch t {
	case "Array":
		return "a list"
	case "String":
		return "a string"
	case "":
		return "not a table"
	}
	return "a value of type " + strings.ToLower(t)
}

func pick(a, b *string) string {
	if a != nil {
		return *a
	}
	if b != nil {
		return *b
	}
	return ""
}

func pickBool(a, b *bool) *bool {
	if a != nil {
		return a
	}
	return b
}

var typeErrRE = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "([^"]*)"\): (.*)$`)

var headerRE = regexp.MustCompile(`^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$`)

// locateKey finds where key k is written in src: the table it is in is
// tracked from [headers], and the last component is looked for at the
// start of a line (or inside an inline table on that line). It returns the
// 1-based line and column, or the header's line when the key itself is not
// found (an unknown table).
func locateKey(src string, k toml.Key) (int, int) {
	lines := strings.Split(src, "\n")
	want := k[len(k)-1]
	parent := strings.Join(k[:len(k)-1], ".")
	current := ""
	headerLine := 0
	for i, l := range lines {
		if m := headerRE.FindStringSubmatch(l); m != nil {
			current = normalizeHeader(m[1])
			if current == k.String() || strings.HasPrefix(current, k.String()+".") {
				return i + 1, strings.Index(l, "[") + 2
			}
			if current == parent {
				headerLine = i + 1
			}
			continue
		}
		if current != parent && !strings.HasPrefix(parent, current) {
			continue
		}
		for _, form := range []string{want, `"` + want + `"`, "'" + want + "'"} {
			if form == "" {
				continue // an empty bare key is written quoted
			}
			idx := strings.Index(l, form)
			for idx >= 0 {
				rest := strings.TrimLeft(l[idx+len(form):], " \t")
				before := strings.TrimRight(l[:idx], " \t")
				if strings.HasPrefix(rest, "=") && (before == "" || strings.HasSuffix(before, "{") || strings.HasSuffix(before, ",") || strings.HasSuffix(before, ".")) {
					return i + 1, idx + 1
				}
				next := strings.Index(l[idx+1:], form)
				if next < 0 {
					break
				}
				idx += 1 + next
			}
		}
	}
	if headerLine > 0 {
		return headerLine, 1
	}
	return 1, 1
}

func normalizeHeader(h string) string {
	parts := strings.Split(h, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}
