package repodata

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

const sampleRepodata = `{
  "info": {"subdir": "linux-64"},
  "packages": {
    "numpy-1.26.4-py311h_0.tar.bz2": {"name": "numpy", "version": "1.26.4", "build": "py311h_0", "build_number": 0,
      "depends": ["python >=3.11,<3.12.0a0", "libblas >=3.9"], "sha256": "aa", "md5": "bb", "size": 10,
      "timestamp": 1700000000, "license": "BSD-3-Clause", "subdir": "linux-64"},
    "mkl-2023-h_1.tar.bz2": {"name": "mkl", "version": "2023", "build": "h_1", "build_number": 1,
      "track_features": "mkl blas_mkl", "features": "", "timestamp": 1700000000123},
    "oldpkg-1.0-0.tar.bz2": {"name": "oldpkg", "version": "1.0", "build": "0", "build_number": 0, "noarch": true,
      "track_features": ["a", "b"]}
  },
  "packages.conda": {
    "numpy-1.26.4-py311h_0.conda": {"name": "numpy", "version": "1.26.4", "build": "py311h_0", "build_number": 0,
      "depends": ["python >=3.11,<3.12.0a0"], "constrains": ["numpy-base <0a0"], "sha256": "cc", "size": 8,
      "noarch": null},
    "tzdata-2024a-h0.conda": {"name": "tzdata", "version": "2024a", "build": "h0", "build_number": 0, "noarch": "generic", "subdir": "noarch"}
  },
  "repodata_version": 1
}`

func zstdBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func checkSample(t *testing.T, recs []Record) {
	t.Helper()
	var got []string
	for _, r := range recs {
		got = append(got, fmt.Sprintf("%s %s %s %s noarch=%q tf=%q ts=%d url=%s", r.Fn, r.Name, r.ParsedVersion, r.Subdir, r.Noarch, []string(r.TrackFeatures), r.Timestamp, r.URL))
	}
	want := []string{
		`mkl-2023-h_1.tar.bz2 mkl 2023 linux-64 noarch="" tf=["mkl" "blas_mkl"] ts=1700000000123 url=https://example.test/ch/linux-64/mkl-2023-h_1.tar.bz2`,
		`numpy-1.26.4-py311h_0.conda numpy 1.26.4 linux-64 noarch="" tf=[] ts=0 url=https://example.test/ch/linux-64/numpy-1.26.4-py311h_0.conda`,
		`oldpkg-1.0-0.tar.bz2 oldpkg 1.0 linux-64 noarch="generic" tf=["a" "b"] ts=0 url=https://example.test/ch/linux-64/oldpkg-1.0-0.tar.bz2`,
		`tzdata-2024a-h0.conda tzdata 2024a noarch noarch="generic" tf=[] ts=0 url=https://example.test/ch/linux-64/tzdata-2024a-h0.conda`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, r := range recs {
		if r.Name == "numpy" && (len(r.Constrains) != 1 || r.SHA256 != "cc" || r.Channel != "example") {
			t.Errorf("numpy record = %+v, want the .conda one (constrains, sha256 cc, channel example)", r)
		}
	}
}

func TestReadPlainAndZstd(t *testing.T) {
	src := Source{Channel: "example", BaseURL: "https://example.test/ch/"}
	recs, err := Read(strings.NewReader(sampleRepodata), src)
	if err != nil {
		t.Fatal(err)
	}
	checkSample(t, recs)
	recs, err = Read(bytes.NewReader(zstdBytes(t, []byte(sampleRepodata))), src)
	if err != nil {
		t.Fatal(err)
	}
	checkSample(t, recs)
}

func TestReadErrors(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"truncated", sampleRepodata[:200], "decoding repodata.json"},
		{"bad version", `{"packages": {"a-1-0.tar.bz2": {"name": "a", "version": "1..2", "build": "0"}}}`, `"a-1-0.tar.bz2"`},
		{"no name", `{"packages": {"a-1-0.tar.bz2": {"version": "1", "build": "0"}}}`, "no name"},
		{"bad zstd", string(append(append([]byte{}, zstdMagic...), 1, 2, 3)), "zst"},
	} {
		_, err := Read(strings.NewReader(c.body), Source{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Read error = %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

func TestResolveChannel(t *testing.T) {
	for _, c := range []struct{ in, alias, name, url string }{
		{"conda-forge", "", "conda-forge", "https://conda.anaconda.org/conda-forge"},
		{"conda-forge", "https://mirror.example/conda/", "conda-forge", "https://mirror.example/conda/conda-forge"},
		{"pkgs/main", "", "pkgs/main", "https://conda.anaconda.org/pkgs/main"},
		{"https://repo.example/ch/", "", "https://repo.example/ch", "https://repo.example/ch"},
		{"file:///srv/ch", "", "file:///srv/ch", "file:///srv/ch"},
		{"/srv/ch/", "", "/srv/ch", "file:///srv/ch"},
	} {
		ch, err := ResolveChannel(c.in, c.alias)
		if err != nil {
			t.Errorf("ResolveChannel(%q): %v", c.in, err)
			continue
		}
		if ch.Name != c.name || ch.URL != c.url {
			t.Errorf("ResolveChannel(%q, %q) = %+v, want {%s %s}", c.in, c.alias, ch, c.name, c.url)
		}
	}
	for _, bad := range []string{"", "ftp://x/y", "a b", "c:d"} {
		if _, err := ResolveChannel(bad, ""); err == nil {
			t.Errorf("ResolveChannel(%q) succeeded, want an error", bad)
		}
	}
	chs, err := ResolveChannels([]string{"conda-forge", "defaults", "conda-forge"}, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range chs {
		got = append(got, c.URL)
	}
	want := "https://conda.anaconda.org/conda-forge https://repo.anaconda.com/pkgs/main https://repo.anaconda.com/pkgs/r"
	if strings.Join(got, " ") != want {
		t.Errorf("ResolveChannels = %v, want %s", got, want)
	}
}

func TestCondarcAndConfig(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	os.MkdirAll(home, 0o755)
	os.WriteFile(filepath.Join(home, ".condarc"), []byte(`# my condarc
proxy_servers:
  http: http://proxy:8080
channels:
  - 'bioconda'   # first
  - conda-forge
  - "defaults"
channel_alias: https://mirror.example/  # comment
show_channel_urls: true
`), 0o644)
	flow := filepath.Join(dir, "flow.condarc")
	os.WriteFile(flow, []byte("channels: [pytorch, 'nvidia']\n"), 0o644)

	rc, err := ReadCondarc(filepath.Join(home, ".condarc"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rc.Channels, ","); got != "bioconda,conda-forge,defaults" || rc.ChannelAlias != "https://mirror.example/" {
		t.Errorf("ReadCondarc = %+v, want channels bioconda,conda-forge,defaults and alias https://mirror.example/", rc)
	}
	if rc, _ := ReadCondarc(filepath.Join(dir, "missing")); len(rc.Channels) != 0 {
		t.Errorf("a missing .condarc should be empty, got %+v", rc)
	}
	bad := filepath.Join(dir, "bad.condarc")
	os.WriteFile(bad, []byte("channels: conda-forge\n"), 0o644)
	if _, err := ReadCondarc(bad); err == nil || !strings.Contains(err.Error(), "bad.condarc:1") {
		t.Errorf("ReadCondarc(bad) error = %v, want one with file:line", err)
	}

	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, c := range []struct {
		name     string
		spec     []string
		env      map[string]string
		home     string
		channels string
		alias    string
		from     string
	}{
		{"spec wins", []string{"x"}, map[string]string{"CONDA_CHANNELS": "y"}, home, "x", "https://mirror.example/", "spec"},
		{"env next", nil, map[string]string{"CONDA_CHANNELS": " y , z "}, home, "y,z", "https://mirror.example/", "CONDA_CHANNELS"},
		{"CONDARC file", nil, map[string]string{"CONDARC": flow}, home, "pytorch,nvidia", "https://mirror.example/", flow},
		{"home condarc", nil, map[string]string{}, home, "bioconda,conda-forge,defaults", "https://mirror.example/", filepath.Join(home, ".condarc")},
		{"default", nil, map[string]string{}, "", "conda-forge", DefaultChannelAlias, "default"},
		{"alias env", nil, map[string]string{"CONDA_CHANNEL_ALIAS": "https://a.example/"}, "", "conda-forge", "https://a.example/", "default"},
	} {
		cfg, err := LoadConfig(c.spec, env(c.env), c.home)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := strings.Join(cfg.Channels, ","); got != c.channels || cfg.ChannelAlias != c.alias || cfg.From != c.from {
			t.Errorf("%s: LoadConfig = %+v, want channels %s alias %s from %s", c.name, cfg, c.channels, c.alias, c.from)
		}
	}
}

// channelServer serves noarch and linux-64 repodata, counting requests and
// honouring If-None-Match.
type channelServer struct {
	mu       sync.Mutex
	files    map[string][]byte // path -> body
	hits     map[string]int
	notMod   int
	fail     int // answer 503 to this many requests first
	hang     bool
	truncate bool
}

func (s *channelServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hits[r.URL.Path]++
	fail := s.fail > 0
	if fail {
		s.fail--
	}
	body, ok := s.files[r.URL.Path]
	s.mu.Unlock()
	if s.hang {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		return
	}
	if fail {
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	etag := fmt.Sprintf(`"%x"`, len(body))
	if r.Header.Get("If-None-Match") == etag {
		s.mu.Lock()
		s.notMod++
		s.mu.Unlock()
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	if s.truncate {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body[:len(body)/2])
		return
	}
	w.Write(body)
}

func newChannelServer(t *testing.T, files map[string][]byte) (*channelServer, Channel) {
	s := &channelServer{files: files, hits: map[string]int{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, Channel{Name: "test", URL: srv.URL + "/ch"}
}

const noarchRepodata = `{"info": {"subdir": "noarch"}, "packages.conda": {
  "six-1.16.0-pyh_0.conda": {"name": "six", "version": "1.16.0", "build": "pyh_0", "build_number": 0, "noarch": "python", "depends": ["python"]}}}`

func TestFetchPlainZstdAndETag(t *testing.T) {
	s, ch := newChannelServer(t, map[string][]byte{
		"/ch/noarch/repodata.json":       []byte(noarchRepodata),
		"/ch/linux-64/repodata.json.zst": zstdBytes(t, []byte(sampleRepodata)),
	})
	cache := t.TempDir()
	f := NewFetcher(cache, WithBackoff(time.Millisecond))
	for round := 0; round < 2; round++ {
		recs, err := f.Fetch(context.Background(), ch, "noarch", "linux-64")
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 5 || recs[0].Name != "six" || recs[0].URL != ch.URL+"/noarch/six-1.16.0-pyh_0.conda" || recs[0].Channel != "test" {
			t.Fatalf("round %d: got %d records, first %+v", round, len(recs), recs[0])
		}
	}
	if s.notMod != 2 {
		t.Errorf("second fetch: %d answers were 304 Not Modified, want 2 (noarch and linux-64 revalidated)", s.notMod)
	}
	if s.hits["/ch/noarch/repodata.json.zst"] != 2 || s.hits["/ch/linux-64/repodata.json"] != 0 {
		t.Errorf("requests = %v; want .zst tried first and plain json only when .zst is missing", s.hits)
	}
}

func TestFetchRetriesThenSucceeds(t *testing.T) {
	s, ch := newChannelServer(t, map[string][]byte{"/ch/noarch/repodata.json": []byte(noarchRepodata)})
	s.fail = 2
	recs, err := NewFetcher("", WithBackoff(time.Millisecond)).Fetch(context.Background(), ch, "noarch")
	if err != nil || len(recs) != 1 {
		t.Fatalf("Fetch after two 503s = %d records, %v; want 1 record", len(recs), err)
	}
}

func TestFetchFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("server errors", func(t *testing.T) {
		s, ch := newChannelServer(t, nil)
		s.fail = 100
		_, err := NewFetcher("", WithBackoff(time.Millisecond), WithRetries(2)).Fetch(ctx, ch, "noarch")
		var ce *ChannelError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "after 3 attempts") {
			t.Errorf("err = %v, want a *ChannelError naming 503 after 3 attempts", err)
		}
	})
	t.Run("hang", func(t *testing.T) {
		s, ch := newChannelServer(t, nil)
		s.hang = true
		start := time.Now()
		_, err := NewFetcher("", WithTimeout(100*time.Millisecond), WithRetries(1), WithBackoff(time.Millisecond)).Fetch(ctx, ch, "noarch")
		var ce *ChannelError
		if !errors.As(err, &ce) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want a *ChannelError wrapping a deadline", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("a hanging channel took %v to fail", d)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		s, ch := newChannelServer(t, map[string][]byte{"/ch/noarch/repodata.json": []byte(noarchRepodata)})
		s.truncate = true
		_, err := NewFetcher("", WithBackoff(time.Millisecond), WithRetries(0)).Fetch(ctx, ch, "noarch")
		var ce *ChannelError
		if !errors.As(err, &ce) {
			t.Errorf("err = %v, want a *ChannelError", err)
		}
	})
	t.Run("not found", func(t *testing.T) {
		_, ch := newChannelServer(t, nil)
		_, err := NewFetcher("").Fetch(ctx, ch, "noarch", "linux-64")
		var ce *ChannelError
		if !errors.Is(err, ErrChannelNotFound) || errors.As(err, &ce) {
			t.Errorf("err = %v, want ErrChannelNotFound and no *ChannelError", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		u := srv.URL
		srv.Close()
		_, err := NewFetcher("", WithRetries(0)).Fetch(ctx, Channel{Name: "gone", URL: u}, "noarch")
		var ce *ChannelError
		if !errors.As(err, &ce) || ce.Channel != "gone" {
			t.Errorf("err = %v, want a *ChannelError for channel gone", err)
		}
	})
}

func TestFetchFileChannel(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "linux-64"), 0o755)
	os.WriteFile(filepath.Join(dir, "linux-64", "repodata.json"), []byte(sampleRepodata), 0o644)
	ch, err := ResolveChannel(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := NewFetcher("").Fetch(context.Background(), ch, "noarch", "linux-64")
	if err != nil || len(recs) != 4 {
		t.Fatalf("Fetch(file channel) = %d records, %v; want 4", len(recs), err)
	}
	if _, err := NewFetcher("").Fetch(context.Background(), ch, "noarch"); !errors.Is(err, ErrChannelNotFound) {
		t.Errorf("Fetch(noarch only) err = %v, want ErrChannelNotFound", err)
	}
}

func TestIndex(t *testing.T) {
	x, err := ReadIndex(bytes.NewReader(zstdBytes(t, []byte(sampleRepodata))), Source{Channel: "example", BaseURL: "https://example.test/ch"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(x.Names(), " "); got != "mkl numpy oldpkg tzdata" || x.Len() != 4 {
		t.Errorf("Names = %s, Len = %d; want mkl numpy oldpkg tzdata, 4 (the .tar.bz2 twin of numpy dropped)", got, x.Len())
	}
	if len(x.decoded) != 0 {
		t.Errorf("records were decoded before being asked for")
	}
	recs, err := x.Records("numpy")
	if err != nil || len(recs) != 1 || recs[0].Fn != "numpy-1.26.4-py311h_0.conda" || recs[0].Constrains[0] != "numpy-base <0a0" {
		t.Errorf("Records(numpy) = %+v, %v", recs, err)
	}
	if len(x.decoded) != 1 {
		t.Errorf("asking for numpy decoded %d names, want 1", len(x.decoded))
	}
	broken, err := ReadIndex(strings.NewReader(`{"packages": {"a-1-0.tar.bz2": {"name": "a", "version": "1..0"}}}`), Source{Channel: "bad"})
	if err != nil {
		t.Fatal(err)
	}
	var ce *ChannelError
	if _, err := broken.Records("a"); !errors.As(err, &ce) || ce.Channel != "bad" {
		t.Errorf("a record with a bad version: err = %v, want a *ChannelError of channel bad", err)
	}
	if recs, err := x.Records("absent"); recs != nil || err != nil {
		t.Errorf("Records(absent) = %v, %v; want nothing", recs, err)
	}
	all, err := x.All()
	if err != nil {
		t.Fatal(err)
	}
	checkSample(t, all)
}

func TestDecodeRecordShapes(t *testing.T) {
	raw := `{"name": "odd", "version": 2, "build": "a\"b\u00e9", "build_number": null, "depends": null,
	  "track_features": ["x", "  y  ", ""], "features": "f1,f2", "license": null, "timestamp": 1.7e12,
	  "noarch": false, "extra": {"nested": [1, "]", {"a": null}]}, "md5": "m"}`
	var r Record
	if err := decodeRecord([]byte(raw), &r); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%s|%s|%s|%d|%v|%v|%v|%d|%q|%s", r.Name, r.Version, r.Build, r.BuildNumber, r.Depends, []string(r.TrackFeatures), []string(r.Features), r.Timestamp, r.Noarch, r.MD5)
	want := `odd|2|a"bé|0|[]|[x y]|[f1 f2]|1700000000000|""|m`
	if got != want {
		t.Errorf("decodeRecord = %s, want %s", got, want)
	}
	for _, bad := range []string{`{"name": "a", "depends": "x"}`, `{"name": "a" "b": 1}`, `{"name": "a", "size": "big"}`, `{"name": "a", "noarch": 3}`, `{"name": "a"`} {
		var r Record
		if err := decodeRecord([]byte(bad), &r); err == nil {
			t.Errorf("decodeRecord(%s) succeeded, want an error", bad)
		}
	}
	for _, bad := range []string{`{"packages": {"a-1-0.tar.bz2": {"version": "1"}}}`, `{"packages": [}`, `{"packages": {"a": {"name": "a"}`, `{"packages": {"a": {"name": 3}}}`} {
		if _, err := ReadIndex(strings.NewReader(bad), Source{}); err == nil {
			t.Errorf("ReadIndex(%s) succeeded, want an error", bad)
		}
	}
	// A record's inside is checked when its name is asked for.
	x, err := ReadIndex(strings.NewReader(`{"packages": {"a-1-0.tar.bz2": {"name": "a", "version": "1",}}}`), Source{Channel: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Records("a"); err == nil {
		t.Errorf("Records(a) of a record with a trailing comma succeeded, want an error")
	}
}
