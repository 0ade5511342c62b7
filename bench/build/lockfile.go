package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/envbuild/envbuild/lock/lockfile"
)

// lockedPackage is the part of an envbuild.lock package entry the
// benchmark needs.
type lockedPackage struct {
	Name    string          `toml:"name"`
	Version string          `toml:"version"`
	Source  lockfile.Source `toml:"source"`
	// Kind is lockfile.KindWheel or KindSdist (built on the base, so its
	// layer is keyed on the base too).
	Kind lockfile.Kind `toml:"kind"`
	Size int64         `toml:"size"`
}

// lockFile is the part of envbuild.lock the benchmark reads.
type lockFile struct {
	Env []struct {
		Name   string `toml:"name"`
		Target []struct {
			Platform string          `toml:"platform"`
			Package  []lockedPackage `toml:"package"`
		} `toml:"target"`
	} `toml:"env"`
}

// readLockPackages returns the packages of the lock's only environment for
// linux/amd64, sorted by name.
func readLockPackages(path string) ([]lockedPackage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the lock: %w", err)
	}
	return parseLockPackages(path, data)
}

func parseLockPackages(path string, data []byte) ([]lockedPackage, error) {
	var lf lockFile
	if _, err := toml.Decode(string(data), &lf); err != nil {
		return nil, fmt.Errorf("parsing the lock %q: %w", path, err)
	}
	if len(lf.Env) != 1 {
		return nil, fmt.Errorf("reading the lock %q: want one environment, found %d", path, len(lf.Env))
	}
	for _, t := range lf.Env[0].Target {
		if t.Platform != "linux/amd64" {
			continue
		}
		pkgs := append([]lockedPackage(nil), t.Package...)
		if len(pkgs) == 0 {
			return nil, fmt.Errorf("reading the lock %q: the linux/amd64 target has no packages", path)
		}
		sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].Name < pkgs[j].Name })
		return pkgs, nil
	}
	return nil, fmt.Errorf("reading the lock %q: no linux/amd64 target", path)
}

// requirementsTxt renders the lock's PyPI packages as pip requirements,
// one `name==version` a line, so the peers install exactly the locked
// versions. A package from another source (conda) cannot be given to pip.
func requirementsTxt(pkgs []lockedPackage) (string, error) {
	var b strings.Builder
	for _, p := range pkgs {
		if p.Source != lockfile.SourcePyPI {
			return "", fmt.Errorf("writing requirements.txt: package %q comes from %q, which pip cannot install", p.Name, p.Source)
		}
		fmt.Fprintf(&b, "%s==%s\n", p.Name, p.Version)
	}
	return b.String(), nil
}

// artifactBytes is the sum of the locked artifacts' sizes: what every tool
// must download at least once.
func artifactBytes(pkgs []lockedPackage) int64 {
	var n int64
	for _, p := range pkgs {
		n += p.Size
	}
	return n
}

// sdists counts the packages installed from source distributions.
func sdists(pkgs []lockedPackage) int {
	n := 0
	for _, p := range pkgs {
		if p.Kind == lockfile.KindSdist {
			n++
		}
	}
	return n
}
