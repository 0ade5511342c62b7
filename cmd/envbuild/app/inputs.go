package app

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/envbuild/envbuild/frontends/envyml"
	"github.com/envbuild/envbuild/frontends/pylock"
	"github.com/envbuild/envbuild/frontends/pyproject"
	"github.com/envbuild/envbuild/frontends/requirements"
	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/frontends/uvlock"
	"github.com/envbuild/envbuild/lock/failure"
)

// The kinds of file --file reads.
const (
	kindEnvToml      = "envbuild.toml"
	kindPyproject    = "pyproject.toml"
	kindUVLock       = "uv.lock"
	kindPylock       = "pylock.toml"
	kindEnvYML       = "environment.yml"
	kindRequirements = "requirements"
)

// inputFlags read environments from the files teams already have.
func inputFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "requirement", Aliases: []string{"r"}, Usage: "a pip requirements `FILE` (repeatable; -r/-c includes, --index-url, --hash pins enforced)"},
		&cli.StringSliceFlag{Name: "constraint", Usage: "a pip constraints `FILE`: limits versions of packages that are installed, adds none (repeatable)"},
		&cli.StringSliceFlag{Name: "extra", Usage: "with a pyproject.toml or uv.lock: also install the project's optional dependencies `NAME` (repeatable)"},
		&cli.StringSliceFlag{Name: "group", Usage: "with a pyproject.toml or uv.lock: also install the dependency group `NAME` (repeatable)"},
	}
}

var (
	yamlStartRE = regexp.MustCompile(`(?m)^(name|channels|dependencies)\s*:`)
	uvVersionRE = regexp.MustCompile(`(?m)^version\s*=\s*1\s*$`)
	pyprojectRE = regexp.MustCompile(`(?m)^\[(project|dependency-groups|build-system)\]`)
)

// fileKind recognises a --file by its name, else by its content.
func fileKind(path string, data []byte) string {
	base := filepath.Base(path)
	switch {
	case base == "envbuild.toml":
		return kindEnvToml
	case base == "pyproject.toml":
		return kindPyproject
	case base == "uv.lock":
		return kindUVLock
	case pylock.NameRE.MatchString(base):
		return kindPylock
	case strings.HasSuffix(base, ".yml") || strings.HasSuffix(base, ".yaml"):
		return kindEnvYML
	case strings.HasSuffix(base, ".txt") || strings.HasSuffix(base, ".in"):
		return kindRequirements
	}
	switch {
	case bytes.Contains(data, []byte("lock-version")) && bytes.Contains(data, []byte("[[packages]]")):
		return kindPylock
	case uvVersionRE.Match(data) && bytes.Contains(data, []byte("[[package]]")):
		return kindUVLock
	case pyprojectRE.Match(data):
		return kindPyproject
	case yamlStartRE.Match(data):
		return kindEnvYML
	case bytes.Contains(data, []byte("[pypi]")) || bytes.Contains(data, []byte("[conda]")) || bytes.Contains(data, []byte("[envs.")):
		return kindEnvToml
	}
	return kindRequirements
}

// loadInputFile reads a --file other than envbuild.toml into s.
func loadInputFile(c *cli.Context, kind, file string, env map[string]string, s *spec.Spec) error {
	extras, groups := c.StringSlice("extra"), c.StringSlice("group")
	if (len(extras) > 0 || len(groups) > 0) && kind != kindPyproject && kind != kindUVLock {
		return failure.Usage(fmt.Errorf("--extra and --group apply to a pyproject.toml or uv.lock; %s is read as %s", file, kind))
	}
	switch kind {
	case kindPyproject:
		r, err := pyproject.Load(file, extras, groups)
		if err != nil {
			return err
		}
		s.PyPI.Requirements = append(s.PyPI.Requirements, r.Requirements...)
		s.PyPI.RequiresPython = r.RequiresPython
	case kindUVLock, kindPylock:
		var r *spec.Resolved
		var err error
		if kind == kindUVLock {
			r, err = uvlock.Load(file, extras, groups)
		} else {
			r, err = pylock.Load(file)
		}
		if err != nil {
			return err
		}
		s.Resolved = r
	case kindEnvYML:
		r, err := envyml.Load(file, env)
		if err != nil {
			return err
		}
		if r.Name != "" && c.String("env") == "" {
			s.Name = r.Name
		}
		s.Conda.Specs = append(s.Conda.Specs, r.CondaSpecs...)
		s.Conda.Channels = r.Channels
		if r.Pip != nil {
			addRequirements(s, r.Pip)
		}
	case kindRequirements:
		p := requirements.NewParser(env)
		if err := p.File(file, false); err != nil {
			return err
		}
		addRequirements(s, p.Result())
	}
	return nil
}

// loadRequirementFlags reads -r/--requirement and --constraint files.
func loadRequirementFlags(c *cli.Context, env map[string]string, s *spec.Spec) error {
	if len(c.StringSlice("requirement")) == 0 && len(c.StringSlice("constraint")) == 0 {
		return nil
	}
	p := requirements.NewParser(env)
	for _, f := range c.StringSlice("requirement") {
		if err := p.File(f, false); err != nil {
			return err
		}
	}
	for _, f := range c.StringSlice("constraint") {
		if err := p.File(f, true); err != nil {
			return err
		}
	}
	addRequirements(s, p.Result())
	return nil
}

func addRequirements(s *spec.Spec, r *requirements.Result) {
	s.PyPI.Requirements = append(s.PyPI.Requirements, r.Requirements...)
	s.PyPI.Constraints = append(s.PyPI.Constraints, r.Constraints...)
	if r.IndexURL != "" {
		s.PyPI.IndexURL = r.IndexURL
	}
	s.PyPI.ExtraIndexURLs = append(s.PyPI.ExtraIndexURLs, r.ExtraIndexURLs...)
	for n, hs := range r.Hashes {
		if s.PyPI.Hashes == nil {
			s.PyPI.Hashes = map[string][]string{}
		}
		s.PyPI.Hashes[n] = append(s.PyPI.Hashes[n], hs...)
	}
}

func readHead(path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	n, _ := f.Read(buf)
	return buf[:n]
}
