package metalayer

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/builder/installer"
	"github.com/envbuild/envbuild/builder/layout"
	"github.com/envbuild/envbuild/builder/plan"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/target"
)

func meta() (*installer.EnvMeta, []installer.LayerMeta) {
	site := layout.SitePackages(3, 11, false)
	return &installer.EnvMeta{
			EnvID: "ab", LockDigest: "sha256:cd", Python: "3.11",
			Venv:      &installer.Venv{Home: "/usr/bin", Executable: "/usr/bin/python3.11", Version: "3.11.2"},
			Requested: []installer.RequestedDist{{Name: "pyyaml", Version: "6.0.1"}},
		}, []installer.LayerMeta{
			{DistInfo: []string{site + "/PyYAML-6.0.1.dist-info"}},
			{DistInfo: []string{site + "/six-1.16.0.dist-info"}},
		}
}

// The same inputs give the same bytes, in both compressions; the layer
// holds the venv files and the REQUESTED marker in the recorded (not the
// guessed) .dist-info directory, owned by root at the fixed time.
func TestBuildIsReproducible(t *testing.T) {
	for _, c := range []string{"gzip", "zstd"} {
		m, metas := meta()
		a, err := Build(m, metas, c)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Build(m, metas, c)
		if err != nil {
			t.Fatal(err)
		}
		if a.Digest != b.Digest || a.DiffID != b.DiffID || !bytes.Equal(a.Compressed, b.Compressed) {
			t.Errorf("%s: two builds differ: %s vs %s", c, a.Digest, b.Digest)
		}
		if !strings.HasSuffix(a.MediaType, "+"+c) {
			t.Errorf("%s: media type %s", c, a.MediaType)
		}
	}
	m, metas := meta()
	l, err := Build(m, metas, "gzip")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(l.Compressed))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	names := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names[h.Name] = h
		if h.Uid != 0 || h.Gid != 0 || h.ModTime.Unix() != layout.Epoch {
			t.Errorf("%s: owner %d:%d, time %v", h.Name, h.Uid, h.Gid, h.ModTime)
		}
	}
	for _, want := range []string{
		"opt/envbuild/env/pyvenv.cfg",
		"opt/envbuild/env/lib/python3.11/site-packages/PyYAML-6.0.1.dist-info/REQUESTED",
		"opt/envbuild/env/.envbuild/env.json",
	} {
		if names[want] == nil {
			t.Errorf("the layer lacks %s", want)
		}
	}
	if h := names["opt/envbuild/env/bin/python"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "/usr/bin/python3.11" {
		t.Errorf("bin/python: %+v", h)
	}
	if names["opt/envbuild/env/lib/python3.11/site-packages/six-1.16.0.dist-info/REQUESTED"] != nil {
		t.Error("a dependency got a REQUESTED marker")
	}
	if names["opt/envbuild/env/lib/python3.11/site-packages/six-1.16.0.dist-info/"] != nil {
		t.Error("the package layers' own directories leaked into the metadata layer")
	}
	if _, err := Build(m, metas, "lz4"); err == nil {
		t.Error("an unknown compression was accepted")
	}
}

func TestEnvMetaConda(t *testing.T) {
	pp := plan.PlatformPlan{Target: lockfile.Target{Target: target.Target{Python: "3.11.2"}, PythonSource: lockfile.PythonFromConda, Packages: []lockfile.Package{
		{Name: "python", Version: "3.11.2", Build: "h_0", Source: lockfile.SourceConda, URL: "http://ch/linux-64/python-3.11.2-h_0.conda", Channel: "http://ch", Requested: true, Spec: "python 3.11.*"},
		{Name: "six", Version: "1.16.0", Build: "pyh_0", Source: lockfile.SourceConda, URL: "http://ch/noarch/six-1.16.0-pyh_0.conda", Channel: "http://ch"},
		{Name: "idna", Version: "3.7", Source: lockfile.SourcePyPI, Requested: true},
	}}}
	m := EnvMeta(&plan.Plan{EnvID: "ab", LockDigest: "sha256:cd"}, pp)
	if m.Venv != nil {
		t.Errorf("a conda Python got a venv: %+v", m.Venv)
	}
	got, _ := json.Marshal(m.Conda)
	want := `[{"name":"python","version":"3.11.2","build":"h_0","requested_spec":"python 3.11.*","url":"http://ch/linux-64/python-3.11.2-h_0.conda","channel":"http://ch"},` +
		`{"name":"six","version":"1.16.0","build":"pyh_0","url":"http://ch/noarch/six-1.16.0-pyh_0.conda","channel":"http://ch"}]`
	if string(got) != want {
		t.Errorf("conda entries\n got %s\nwant %s", got, want)
	}
	if len(m.Requested) != 1 || m.Requested[0].Name != "idna" || !strings.HasPrefix(m.Python, "3.11") {
		t.Errorf("requested %+v, python %q", m.Requested, m.Python)
	}
}
