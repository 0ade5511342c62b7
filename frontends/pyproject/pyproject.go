// Package pyproject reads a project's requirements from pyproject.toml:
// PEP 621's [project] dependencies and optional-dependencies (extras),
// PEP 735's [dependency-groups] (with include-group), and
// requires-python. Errors name file:line.
package pyproject

import (
	"errors"
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/pypi/pep440"
	"github.com/envbuild/envbuild/lock/pypi/pep508"
)

// Result is what the chosen parts of a pyproject.toml require.
type Result struct {
	// Name is the project's name, or "".
	Name           string
	Requirements   []string
	RequiresPython string
}

type document struct {
	Project *struct {
		Name                 string              `toml:"name"`
		Dependencies         *[]string           `toml:"dependencies"`
		OptionalDependencies map[string][]string `toml:"optional-dependencies"`
		RequiresPython       string              `toml:"requires-python"`
		Dynamic              []string            `toml:"dynamic"`
	} `toml:"project"`
	DependencyGroups map[string][]any `toml:"dependency-groups"`
}

// Load reads path and returns the project's dependencies, those of the
// extras named, and those of the dependency groups named.
func Load(path string, extras, groups []string) (*Result, error) {
	data, err := failure.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, path, extras, groups)
}

// Parse reads pyproject.toml content; name is used in messages.
func Parse(data []byte, name string, extras, groups []string) (*Result, error) {
	var doc document
	if _, err := toml.Decode(string(data), &doc); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, failure.User(fmt.Errorf("%s:%d:%d: %s", name, pe.Position.Line, pe.Position.Col, pe.Message))
		}
		return nil, failure.User(fmt.Errorf("%s: %v", name, err))
	}
	src := string(data)
	res := &Result{}
	if doc.Project == nil && doc.DependencyGroups == nil {
		return nil, failure.User(fmt.Errorf("%s has neither a [project] table nor [dependency-groups]: nothing to install", name))
	}
	check := func(key, r string) error {
		if _, err := pep508.ParseRequirement(r); err != nil {
			return failure.User(fmt.Errorf("%s:%d: %s: invalid requirement %q: %v", name, lineOf(src, r), key, r, err))
		}
		return nil
	}
	if p := doc.Project; p != nil {
		res.Name = p.Name
		for _, d := range p.Dynamic {
			if d == "dependencies" || (d == "optional-dependencies" && len(extras) > 0) {
				return nil, failure.User(fmt.Errorf("%s:%d: [project] lists %q as dynamic: only building the project can tell them; write them in pyproject.toml or give a requirements file", name, lineOf(src, "dynamic"), d))
			}
		}
		if p.RequiresPython != "" {
			if _, err := pep440.ParseSpecifiers(p.RequiresPython); err != nil {
				return nil, failure.User(fmt.Errorf("%s:%d: requires-python %q: %v", name, lineOf(src, "requires-python"), p.RequiresPython, err))
			}
			res.RequiresPython = p.RequiresPython
		}
		if p.Dependencies != nil {
			for _, r := range *p.Dependencies {
				if err := check("project.dependencies", r); err != nil {
					return nil, err
				}
				res.Requirements = append(res.Requirements, r)
			}
		}
		norm := map[string][]string{}
		for k, v := range p.OptionalDependencies {
			norm[pep508.NormalizeName(k)] = v
		}
		for _, e := range extras {
			deps, ok := norm[pep508.NormalizeName(e)]
			if !ok {
				return nil, failure.User(fmt.Errorf("%s: --extra %s: [project.optional-dependencies] has no such extra; it has: %s", name, e, spec.KeyList(p.OptionalDependencies)))
			}
			for _, r := range deps {
				if err := check("project.optional-dependencies."+e, r); err != nil {
					return nil, err
				}
				res.Requirements = append(res.Requirements, r)
			}
		}
	} else if len(extras) > 0 {
		return nil, failure.User(fmt.Errorf("%s: --extra needs a [project] table with optional-dependencies", name))
	}
	groupsNorm := map[string]string{}
	for k := range doc.DependencyGroups {
		n := pep508.NormalizeName(k)
		if other, dup := groupsNorm[n]; dup {
			return nil, failure.User(fmt.Errorf("%s:%d: dependency groups %q and %q have the same normalised name", name, lineOf(src, k), other, k))
		}
		groupsNorm[n] = k
	}
	var expand func(g string, stack []string) ([]string, error)
	expand = func(g string, stack []string) ([]string, error) {
		key, ok := groupsNorm[pep508.NormalizeName(g)]
		if !ok {
			return nil, failure.User(fmt.Errorf("%s: dependency group %q does not exist; [dependency-groups] has: %s", name, g, spec.KeyList(doc.DependencyGroups)))
		}
		for _, s := range stack {
			if s == key {
				return nil, failure.User(fmt.Errorf("%s:%d: dependency group %q includes itself: %s -> %s", name, lineOf(src, key), key, strings.Join(stack, " -> "), key))
			}
		}
		stack = append(stack, key)
		var out []string
		for _, item := range doc.DependencyGroups[key] {
			switch v := item.(type) {
			case string:
				if err := check("dependency-groups."+key, v); err != nil {
					return nil, err
				}
				out = append(out, v)
			case map[string]any:
				inc, ok := v["include-group"].(string)
				if !ok || len(v) != 1 {
					return nil, failure.User(fmt.Errorf("%s:%d: dependency group %q: a table entry must be { include-group = \"NAME\" } (PEP 735)", name, lineOf(src, key), key))
				}
				more, err := expand(inc, stack)
				if err != nil {
					return nil, err
				}
				out = append(out, more...)
			default:
				return nil, failure.User(fmt.Errorf("%s:%d: dependency group %q: %v is neither a requirement string nor an include-group table", name, lineOf(src, key), key, v))
			}
		}
		return out, nil
	}
	for _, g := range groups {
		deps, err := expand(g, nil)
		if err != nil {
			return nil, err
		}
		res.Requirements = append(res.Requirements, deps...)
	}
	res.Requirements = dedupe(res.Requirements)
	if len(res.Requirements) == 0 {
		return nil, failure.User(fmt.Errorf("%s: the project's dependencies are empty (choose extras with --extra, groups with --group)", name))
	}
	return res, nil
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// lineOf is the 1-based line where needle first appears, or 1.
func lineOf(src, needle string) int {
	if i := strings.Index(src, needle); i >= 0 {
		return strings.Count(src[:i], "\n") + 1
	}
	return 1
}
