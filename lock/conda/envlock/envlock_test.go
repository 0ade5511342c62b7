package envlock

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/lock/conda/repodata"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/target"
)

type rec struct {
	Name        string   `json:"name"`
	Version     string   `json:"version"`
	Build       string   `json:"build"`
	BuildNumber int      `json:"build_number"`
	Depends     []string `json:"depends"`
	Subdir      string   `json:"subdir"`
	Noarch      string   `json:"noarch,omitempty"`
	SHA256      string   `json:"sha256,omitempty"`
	Size        int64    `json:"size"`
}

// channel serves repodata.json for noarch and linux-64 of one fake
// channel; records whose name ends in ".tar.bz2" go under "packages".
func channel(t *testing.T, subdirs map[string]map[string]rec) *httptest.Server {
	t.Helper()
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
		doc := map[string]any{"info": map[string]string{"subdir": parts[0]}, "repodata_version": 1}
		pk, pc := map[string]rec{}, map[string]rec{}
		for fn, r := range recs {
			r.Subdir = parts[0]
			if strings.HasSuffix(fn, ".tar.bz2") {
				pk[fn] = r
			} else {
				pc[fn] = r
			}
		}
		doc["packages"], doc["packages.conda"] = pk, pc
		json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func hex64(n int) string { return fmt.Sprintf("%064x", n) }

func fakeChannel(t *testing.T) *httptest.Server {
	return channel(t, map[string]map[string]rec{
		"noarch": {
			"hello-1.0-pyh_0.tar.bz2": {Name: "hello", Version: "1.0", Build: "pyh_0", Depends: []string{"python >=3.8", "tomli"}, Noarch: "python", SHA256: hex64(1), Size: 10},
			"hello-0.9-pyh_0.conda":   {Name: "hello", Version: "0.9", Build: "pyh_0", Depends: []string{"python"}, Noarch: "python", SHA256: hex64(2), Size: 10},
			"tomli-2.0-pyh_0.conda":   {Name: "tomli", Version: "2.0", Build: "pyh_0", Depends: []string{"python >=3.7"}, Noarch: "python", SHA256: hex64(3), Size: 10},
			"old-1.0-pyh_0.conda":     {Name: "old", Version: "1.0", Build: "pyh_0", Depends: []string{"python <3.8"}, Noarch: "python", SHA256: hex64(4), Size: 10},
		},
		"linux-64": {
			"python-3.11.2-h1_0.conda":        {Name: "python", Version: "3.11.2", Build: "h1_0", Depends: []string{"__glibc >=2.17", "libz"}, SHA256: hex64(5), Size: 100},
			"python-3.12.1-h1_0.conda":        {Name: "python", Version: "3.12.1", Build: "h1_0", Depends: []string{"__glibc >=2.17", "libz"}, SHA256: hex64(6), Size: 100},
			"python-3.13.1-h1_0_cp313.conda":  {Name: "python", Version: "3.13.1", Build: "h1_0_cp313", Depends: []string{"libz"}, SHA256: hex64(7), Size: 100},
			"python-3.13.1-h1_0_cp313t.conda": {Name: "python", Version: "3.13.1", Build: "h1_0_cp313t", Depends: []string{"libz"}, SHA256: hex64(8), Size: 100},
			"libz-1.3-h0_0.tar.bz2":           {Name: "libz", Version: "1.3", Build: "h0_0", SHA256: hex64(9), Size: 5},
			"newglibc-1.0-h0_0.conda":         {Name: "newglibc", Version: "1.0", Build: "h0_0", Depends: []string{"__glibc >=2.40"}, SHA256: hex64(10), Size: 5},
			"nosha-1.0-h0_0.conda":            {Name: "nosha", Version: "1.0", Build: "h0_0", Size: 5},
		},
	})
}

var debian = target.Target{Platform: "linux/amd64", Python: "3.11.2", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36"}

func names(pkgs []lockfile.Package) string {
	var s []string
	for _, p := range pkgs {
		s = append(s, p.Name+"="+p.Version+"="+p.Build)
	}
	return strings.Join(s, " ")
}

func TestLock(t *testing.T) {
	srv := fakeChannel(t)
	ctx := context.Background()
	for _, c := range []struct {
		name     string
		specs    []string
		existing []lockfile.Package
		want     string
	}{
		{"newest python and hello", []string{"hello"}, nil, "hello=1.0=pyh_0 libz=1.3=h0_0 python=3.13.1=h1_0_cp313 tomli=2.0=pyh_0"},
		{"python pinned to 3.11", []string{"hello", "python=3.11"}, nil, "hello=1.0=pyh_0 libz=1.3=h0_0 python=3.11.2=h1_0 tomli=2.0=pyh_0"},
		{"free-threaded python", []string{"python=3.13t"}, nil, "libz=1.3=h0_0 python=3.13.1=h1_0_cp313t"},
		{"free-threaded python, double equals", []string{"python==3.13.1t"}, nil, "libz=1.3=h0_0 python=3.13.1=h1_0_cp313t"},
		{"existing lock preferred", []string{"python"}, []lockfile.Package{{Name: "python", Version: "3.12.1", Build: "h1_0", Source: lockfile.SourceConda}}, "libz=1.3=h0_0 python=3.12.1=h1_0"},
		{"a pypi entry of the existing lock is ignored", []string{"python"}, []lockfile.Package{{Name: "python", Version: "3.12.1", Build: "h1_0", Source: lockfile.SourcePyPI}}, "libz=1.3=h0_0 python=3.13.1=h1_0_cp313"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Lock(ctx, Request{Specs: c.specs, Channels: []string{srv.URL}, Target: debian, Existing: c.existing})
			if err != nil {
				t.Fatal(err)
			}
			if g := names(got); g != c.want {
				t.Errorf("got %s\nwant %s", g, c.want)
			}
		})
	}
}

func TestLockFields(t *testing.T) {
	srv := fakeChannel(t)
	got, err := Lock(context.Background(), Request{Specs: []string{"hello >=1", "python=3.11"}, Channels: []string{srv.URL}, Target: debian})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]lockfile.Package{}
	for _, p := range got {
		byName[p.Name] = p
	}
	hello := byName["hello"]
	want := lockfile.Package{Name: "hello", Version: "1.0", Source: lockfile.SourceConda, Kind: lockfile.KindTarBz2,
		URL: srv.URL + "/noarch/hello-1.0-pyh_0.tar.bz2", Filename: "hello-1.0-pyh_0.tar.bz2", Sha256: hex64(1), Size: 10,
		Depends: []string{"python", "tomli"}, Requested: true, Index: srv.URL, Channel: srv.URL, Subdir: "noarch",
		Build: "pyh_0", Noarch: "python", Spec: "hello >=1"}
	if g, w := fmt.Sprintf("%+v", hello), fmt.Sprintf("%+v", want); g != w {
		t.Errorf("hello:\ngot  %s\nwant %s", g, w)
	}
	py := byName["python"]
	if py.Kind != lockfile.KindConda || py.Subdir != "linux-64" || !py.Requested || py.Spec != "python=3.11" || strings.Join(py.Depends, ",") != "libz" || py.Noarch != "" {
		t.Errorf("python: %+v", py)
	}
	if tomli := byName["tomli"]; tomli.Requested || tomli.Spec != "" {
		t.Errorf("tomli is a dependency, not requested: %+v", tomli)
	}
}

func TestLockFailures(t *testing.T) {
	srv := fakeChannel(t)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer failing.Close()
	empty := httptest.NewServer(http.NotFoundHandler())
	defer empty.Close()
	for _, c := range []struct {
		name     string
		specs    []string
		channels []string
		target   target.Target
		offline  bool
		kind     failure.Kind
		contains []string
	}{
		{"unsatisfiable", []string{"old", "python=3.11"}, []string{srv.URL}, debian, false, failure.KindUser, []string{"cannot solve the conda environment", "old", "python"}},
		{"unknown package", []string{"nosuchpkg"}, []string{srv.URL}, debian, false, failure.KindUser, []string{"nosuchpkg"}},
		{"glibc of the target too old", []string{"newglibc"}, []string{srv.URL}, debian, false, failure.KindUser, []string{"__glibc"}},
		{"bad spec", []string{"python >=<3"}, []string{srv.URL}, debian, false, failure.KindUser, []string{`"python >=<3"`}},
		{"same package twice", []string{"python=3.11", "python>=3"}, []string{srv.URL}, debian, false, failure.KindUser, []string{"name the same package"}},
		{"record without sha256", []string{"nosha"}, []string{srv.URL}, debian, false, failure.KindInfra, []string{"no sha256"}},
		{"channel answers 500", []string{"python"}, []string{failing.URL}, debian, false, failure.KindInfra, []string{"500"}},
		{"unknown channel", []string{"python"}, []string{empty.URL}, debian, false, failure.KindInfra, []string{"no repodata.json", repodata.ErrChannelNotFound.Error()}},
		{"musl target", []string{"python"}, []string{srv.URL}, target.Target{Platform: "linux/amd64", Libc: "musl", LibcVersion: "1.2"}, false, failure.KindUser, []string{"need glibc"}},
		{"offline with an http channel", []string{"python"}, []string{srv.URL}, debian, true, failure.KindUser, []string{"offline"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Lock(context.Background(), Request{Specs: c.specs, Channels: c.channels, Target: c.target, Offline: c.offline,
				Fetch: []repodata.Option{repodata.WithRetries(0)}})
			if err == nil {
				t.Fatal("got no error")
			}
			if k := failure.KindOf(err); k != c.kind {
				t.Errorf("kind %d, want %d: %v", k, c.kind, err)
			}
			for _, s := range c.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

func TestChannelsFromEnvironment(t *testing.T) {
	srv := fakeChannel(t)
	got, err := Lock(context.Background(), Request{Specs: []string{"libz"}, Target: debian, Env: map[string]string{"CONDA_CHANNELS": srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Channel != srv.URL {
		t.Errorf("got %+v, want libz from CONDA_CHANNELS's channel", got)
	}
	// A channel named by a spec is read even when not configured.
	other := channel(t, map[string]map[string]rec{"noarch": {"libz-9.0-h_0.conda": {Name: "libz", Version: "9.0", Build: "h_0", SHA256: hex64(11)}}})
	got, err = Lock(context.Background(), Request{Specs: []string{other.URL + "::libz"}, Channels: []string{srv.URL}, Target: debian})
	if err != nil {
		t.Fatal(err)
	}
	if names(got) != "libz=9.0=h_0" {
		t.Errorf("got %s, want libz 9.0 from the spec's channel", names(got))
	}
}

func TestPythonSpec(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"3.11", "python 3.11.*"},
		{"3.11.4", "python 3.11.4"},
		{"3.13t", "python 3.13.* *_cp313t"},
		{"3.13.1t", "python 3.13.1 *_cp313t"},
	} {
		got, err := PythonSpec(c.in)
		if err != nil || got != c.want {
			t.Errorf("PythonSpec(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := PythonSpec("three"); err == nil {
		t.Error("PythonSpec(\"three\") gave no error")
	}
	for _, c := range []struct {
		build string
		want  bool
	}{{"h1_0_cp313t", true}, {"h1_0_cp313", false}, {"h1_0", false}, {"hbest", false}} {
		if got := IsFreeThreaded(c.build); got != c.want {
			t.Errorf("IsFreeThreaded(%q) = %v, want %v", c.build, got, c.want)
		}
	}
}
