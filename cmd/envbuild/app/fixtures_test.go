package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// condaRecord is one repodata.json record of the test channel.
type condaRecord struct {
	Name        string   `json:"name"`
	Version     string   `json:"version"`
	Build       string   `json:"build"`
	BuildNumber int      `json:"build_number"`
	Depends     []string `json:"depends"`
	Subdir      string   `json:"subdir"`
	Noarch      string   `json:"noarch,omitempty"`
	SHA256      string   `json:"sha256"`
	Size        int64    `json:"size"`
}

// condaChannel serves the repodata.json of a small conda channel (noarch
// and linux-64): a few Pythons and a noarch package, enough to lock.
func condaChannel(t *testing.T) string {
	t.Helper()
	n := 0
	rec := func(name, version, build, noarch string, deps ...string) condaRecord {
		n++
		return condaRecord{Name: name, Version: version, Build: build, Depends: deps, Noarch: noarch, SHA256: fmt.Sprintf("%064x", n), Size: 100}
	}
	subdirs := map[string]map[string]condaRecord{
		"noarch": {
			"six-1.16.0-pyh_0.conda": rec("six", "1.16.0", "pyh_0", "python", "python"),
		},
		"linux-64": {
			"python-3.6.15-h1_0.conda": rec("python", "3.6.15", "h1_0", "", "__glibc >=2.17", "libz"),
			"python-3.11.9-h1_0.conda": rec("python", "3.11.9", "h1_0", "", "__glibc >=2.17", "libz"),
			"python-3.12.4-h1_0.conda": rec("python", "3.12.4", "h1_0", "", "__glibc >=2.17", "libz"),
			"libz-1.3-h0_0.conda":      rec("libz", "1.3", "h0_0", ""),
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		if len(parts) != 2 || parts[1] != "repodata.json" {
			http.NotFound(w, r)
			return
		}
		recs, ok := subdirs[parts[0]]
		if !ok {
			http.NotFound(w, r)
			return
		}
		pc := map[string]condaRecord{}
		for fn, r := range recs {
			r.Subdir = parts[0]
			pc[fn] = r
		}
		json.NewEncoder(w).Encode(map[string]any{"info": map[string]string{"subdir": parts[0]}, "repodata_version": 1, "packages": map[string]any{}, "packages.conda": pc})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
