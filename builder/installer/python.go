package installer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/envbuild/envbuild/builder/layout"
)

// pyVersion is the environment's Python, as far as paths depend on it.
type pyVersion struct {
	major, minor int
	freeThreaded bool
}

// parsePython reads "3.11", "3.11.2" or "3.13t".
func parsePython(s string, freeThreaded bool) (pyVersion, error) {
	if s == "" {
		return pyVersion{}, fmt.Errorf("no Python version given; pass --python MAJOR.MINOR, e.g. --python 3.11")
	}
	v := strings.TrimSpace(s)
	if strings.HasSuffix(v, "t") {
		v = strings.TrimSuffix(v, "t")
		freeThreaded = true
	}
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return pyVersion{}, fmt.Errorf("reading Python version %q: want MAJOR.MINOR, e.g. 3.11", s)
	}
	var nums [2]int
	for i := range nums {
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 0 {
			return pyVersion{}, fmt.Errorf("reading Python version %q: want MAJOR.MINOR, e.g. 3.11", s)
		}
		nums[i] = n
	}
	if nums[0] != 3 {
		return pyVersion{}, fmt.Errorf("reading Python version %q: only Python 3 is supported", s)
	}
	return pyVersion{major: nums[0], minor: nums[1], freeThreaded: freeThreaded}, nil
}

func (v pyVersion) sitePackages() string {
	return layout.SitePackages(v.major, v.minor, v.freeThreaded)
}
