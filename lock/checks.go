package lock

import (
	"fmt"
	"strings"

	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/pypi/pep440"
	"github.com/envbuild/envbuild/lock/pypi/pep508"
)

// CheckHashes enforces the --hash pins of a requirements file: every
// locked PyPI package the spec gives hashes for must be a file with one of
// those sha256 digests, as pip's hash-checking mode demands.
func CheckHashes(s spec.Spec, t lockfile.Target) error {
	if len(s.PyPI.Hashes) == 0 {
		return nil
	}
	for _, p := range t.Packages {
		if p.Source != lockfile.SourcePyPI {
			continue
		}
		want, ok := s.PyPI.Hashes[pep508.NormalizeName(p.Name)]
		if !ok {
			continue
		}
		found := false
		for _, h := range want {
			if strings.EqualFold(h, p.Sha256) {
				found = true
			}
		}
		if !found {
			return failure.User(fmt.Errorf("%s %s for %s: the file locked, %s, has sha256 %s, which is not one of the %d hash(es) the requirements allow for %s; add its hash (pip hash FILE) or pin the version the hashes are for", p.Name, p.Version, t.Platform, p.Filename, p.Sha256, len(want), p.Name))
		}
	}
	return nil
}

// checkRequiresPython refuses a target whose Python the spec's
// requires-python (pyproject.toml) or resolved input's excludes.
func checkRequiresPython(s spec.Spec, t lockfile.Target) error {
	check := func(rp, from string) error {
		if strings.TrimSpace(rp) == "" {
			return nil
		}
		ss, err := pep440.ParseSpecifiers(rp)
		if err != nil {
			return failure.User(fmt.Errorf("%s requires-python %q: %w", from, rp, err))
		}
		v, err := pep440.Parse(t.Python)
		if err != nil {
			return nil
		}
		if !ss.Contains(v, true) {
			return failure.User(fmt.Errorf("environment %q: the target's Python for %s is %s, which %s's requires-python %q excludes; choose another base or --python", s.Name, t.Platform, t.Python, from, rp))
		}
		return nil
	}
	if err := check(s.PyPI.RequiresPython, "the project"); err != nil {
		return err
	}
	if s.Resolved != nil {
		return check(s.Resolved.RequiresPython, s.Resolved.Source)
	}
	return nil
}
