package integration

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envbuild/envbuild/integration/faultproxy"
	"github.com/envbuild/envbuild/integration/testbed"
)

// faultCase is one fault put between envbuild and a registry or index.
type faultCase struct {
	name string
	// tried says what was done, for docs/RELIABILITY.md.
	tried string
	rule  faultproxy.Rule
	env   []string
	code  int
	want  []string // in stderr; "{host}" is the proxy's HOST:PORT
	// within bounds how long the failing run may take.
	within time.Duration
	// args replaces the build's packages and options ({repo} is the
	// case's repository, {cache} a layer cache shared by the cases);
	// prepare runs them first without a fault.
	args, prepare []string
}

// TestFaults puts a fault-injecting proxy between envbuild and the test
// bed's registry (every push, record and tag goes through it) and between
// envbuild and the package index, and checks for each fault the exit code
// and message, that no env-* tag and no layer-* record was pushed for the
// failed build, and that a rerun once the fault is gone succeeds. With
// ENVBUILD_RELIABILITY_OUT set, it writes a table of what it saw there.
func TestFaults(t *testing.T) {
	bed := testbed.Require(t)
	reg := faultproxy.New("http://" + bed.Registry)
	defer reg.Close()
	ns := uniqueName(t)
	report := newReport(t)

	registryCases := []faultCase{
		{name: "registry 500 on blob uploads", tried: "every blob upload (POST/PATCH/PUT) answered 500",
			rule: func(r *http.Request) faultproxy.Fault {
				if faultproxy.BlobUpload(r) {
					return faultproxy.Fault{Kind: faultproxy.Status, Code: 500}
				}
				return faultproxy.Fault{}
			}, code: 4, want: []string{"{host}"}, within: 3 * time.Minute},
		{name: "registry 401 on manifest writes", tried: "every manifest PUT answered 401",
			rule: func(r *http.Request) faultproxy.Fault {
				if faultproxy.ManifestPut(r) {
					return faultproxy.Fault{Kind: faultproxy.Status, Code: 401}
				}
				return faultproxy.Fault{}
			}, code: 4, want: []string{"{host}", "401"}, within: 3 * time.Minute},
		{name: "registry 403 on every write", tried: "every POST, PATCH and PUT answered 403",
			rule: func(r *http.Request) faultproxy.Fault {
				if faultproxy.Method(r, http.MethodPost, http.MethodPatch, http.MethodPut) {
					return faultproxy.Fault{Kind: faultproxy.Status, Code: 403}
				}
				return faultproxy.Fault{}
			}, code: 4, want: []string{"{host}"}, within: 3 * time.Minute},
		{name: "registry stalls BuildKit's push", tried: "blob bodies (PATCH/PUT) of a layer never pushed before are never read nor answered; ENVBUILD_PUSH_TIMEOUT=5",
			rule: func(r *http.Request) faultproxy.Fault {
				if faultproxy.BlobUpload(r) && r.Method != http.MethodPost {
					return faultproxy.Fault{Kind: faultproxy.Stall}
				}
				return faultproxy.Fault{}
			}, env: []string{"ENVBUILD_PUSH_TIMEOUT=5"}, code: 4, want: []string{"{host}", "no progress for 5s"}, within: 2 * time.Minute,
			args: []string{"--pypi", "idna==3.4"}},
		{name: "registry stalls envbuild's own push", tried: "every layer in the layer cache (no BuildKit at all), a new base: the metadata layer's and config's bodies are never read nor answered; ENVBUILD_PUSH_TIMEOUT=5",
			rule: func(r *http.Request) faultproxy.Fault {
				if faultproxy.BlobUpload(r) && r.Method != http.MethodPost {
					return faultproxy.Fault{Kind: faultproxy.Stall}
				}
				return faultproxy.Fault{}
			}, env: []string{"ENVBUILD_PUSH_TIMEOUT=5"}, code: 4, want: []string{"{host}"}, within: 2 * time.Minute,
			prepare: []string{"--pypi", "certifi==2024.2.2", "--base", bed.Base, "--registry", "{repo}-pre", "--layer-cache-repo", "{cache}"},
			args:    []string{"--pypi", "certifi==2024.2.2", "--base", bed.BaseSwap, "--layer-cache-repo", "{cache}", "--buildkit-addr", "unix:///nonexistent/buildkitd.sock"}},
		{name: "registry drops manifest reads", tried: "every manifest GET/HEAD cut off after 10 bytes of its body",
			rule: func(r *http.Request) faultproxy.Fault {
				if strings.Contains(r.URL.Path, "/manifests/") && faultproxy.Method(r, http.MethodGet, http.MethodHead) {
					return faultproxy.Fault{Kind: faultproxy.Drop, After: 10}
				}
				return faultproxy.Fault{}
			}, code: 4, want: []string{"{host}"}, within: 3 * time.Minute},
	}
	for i, tc := range registryCases {
		t.Run(tc.name, func(t *testing.T) {
			repo := fmt.Sprintf("%s/%s/f%d", reg.Host(), ns, i)
			direct := fmt.Sprintf("%s/%s/f%d", bed.Registry, ns, i)
			cache := fmt.Sprintf("%s/%s/cache", reg.Host(), ns)
			subst := func(in []string) []string {
				out := make([]string, len(in))
				for i, a := range in {
					out[i] = strings.NewReplacer("{repo}", repo, "{cache}", cache).Replace(a)
				}
				return out
			}
			pkgs := tc.args
			if pkgs == nil {
				pkgs = []string{"--pypi", "six==1.16.0"}
			}
			args := append([]string{"build", "--progress", "quiet", "--registry", repo}, subst(pkgs)...)
			if !hasFlag(args, "--base") {
				args = append(args, "--base", bed.Base)
			}
			if tc.prepare != nil {
				if r := envbuild(t, t.TempDir(), nil, append([]string{"build", "--progress", "quiet"}, subst(tc.prepare)...)...); r.code != 0 {
					t.Fatalf("preparing: exit %d\n%s", r.code, tail(r.stderr, 20))
				}
			}
			reg.Set(tc.rule)
			start := time.Now()
			r := envbuild(t, t.TempDir(), tc.env, args...)
			took := time.Since(start)
			faults := reg.Faults.Load()
			reg.Set(nil)
			row := checkFault(t, tc, reg.Host(), r, took)
			tags := listTags(t, direct)
			if len(tags) != 0 {
				t.Errorf("a failed build left tags %v", tags)
			}
			row.kept = fmt.Sprintf("no tag, no layer record (%d faults injected)", faults)
			if len(tags) != 0 {
				row.kept = fmt.Sprintf("LEFT %v", tags)
			}
			again := envbuild(t, t.TempDir(), nil, args...)
			row.rerun = fmt.Sprintf("exit %d", again.code)
			if again.code != 0 {
				t.Errorf("the rerun without the fault failed: exit %d\n%s", again.code, tail(again.stderr, 20))
			}
			report.add(row)
		})
	}

	// The package index: a proxy in front of the index the machine uses.
	idx := faultproxy.NewVirtualHost(indexOrigin())
	defer idx.Close()
	indexCases := []faultCase{
		{name: "index 503", tried: "every index request answered 503",
			rule: func(*http.Request) faultproxy.Fault { return faultproxy.Fault{Kind: faultproxy.Status, Code: 503} },
			code: 4, want: []string{"{host}", "503"}, within: 2 * time.Minute},
		{name: "index 403", tried: "every index request answered 403",
			rule: func(*http.Request) faultproxy.Fault { return faultproxy.Fault{Kind: faultproxy.Status, Code: 403} },
			code: 4, want: []string{"{host}", "403"}, within: time.Minute},
		{name: "index stalls", tried: "index requests never answered; ENVBUILD_INDEX_TIMEOUT=4",
			rule: func(*http.Request) faultproxy.Fault { return faultproxy.Fault{Kind: faultproxy.Stall} },
			env:  []string{"ENVBUILD_INDEX_TIMEOUT=4"}, code: 4, want: []string{"{host}", "did not answer within 4s"}, within: time.Minute},
		{name: "index drops pages", tried: "every index answer cut off after 100 bytes",
			rule: func(*http.Request) faultproxy.Fault { return faultproxy.Fault{Kind: faultproxy.Drop, After: 100} },
			code: 4, want: []string{"{host}"}, within: 2 * time.Minute},
	}
	for _, tc := range indexCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// A cache of its own: a cached page would hide the fault.
			args := []string{"lock", "--pypi", "six==1.16.0", "--python", "3.11", "--index-url", idx.URL() + "/simple", "--cache-dir", filepath.Join(dir, "cache")}
			idx.Set(tc.rule)
			start := time.Now()
			r := envbuild(t, dir, tc.env, args...)
			took := time.Since(start)
			idx.Set(nil)
			row := checkFault(t, tc, idx.Host(), r, took)
			row.kept = "no lock written"
			if _, err := os.Stat(filepath.Join(dir, "envbuild.lock")); err == nil {
				t.Errorf("a failed lock wrote envbuild.lock")
				row.kept = "LOCK WRITTEN"
			}
			again := envbuild(t, dir, nil, args...)
			row.rerun = fmt.Sprintf("exit %d", again.code)
			if again.code != 0 {
				t.Errorf("the rerun without the fault failed: exit %d\n%s", again.code, tail(again.stderr, 20))
			}
			report.add(row)
		})
	}
}

// indexOrigin is the scheme and host of the index pip would use here.
func indexOrigin() string {
	u := os.Getenv("PIP_INDEX_URL")
	if u == "" {
		u = "https://pypi.org/simple"
	}
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
			return u[:i+3+j]
		}
	}
	return u
}

func checkFault(t *testing.T, tc faultCase, host string, r run, took time.Duration) reportRow {
	t.Helper()
	if r.code != tc.code {
		t.Errorf("exit %d, want %d\n%s", r.code, tc.code, tail(r.stderr, 20))
	}
	for _, w := range tc.want {
		w = strings.ReplaceAll(w, "{host}", host)
		if !strings.Contains(r.stderr, w) {
			t.Errorf("the message does not mention %q:\n%s", w, tail(r.stderr, 5))
		}
	}
	if r.stdout != "" {
		t.Errorf("a failure printed %q on stdout", r.stdout)
	}
	if took > tc.within {
		t.Errorf("took %s, want at most %s", took.Round(time.Second), tc.within)
	}
	msg := strings.TrimPrefix(lastLine(r.stderr), "envbuild: ")
	msg = strings.ReplaceAll(msg, host, "PROXY")
	if len(msg) > 220 {
		msg = msg[:220] + "…"
	}
	return reportRow{name: tc.name, tried: tc.tried, code: r.code, message: msg, took: took}
}

type reportRow struct {
	name, tried, message, kept, rerun string
	code                              int
	took                              time.Duration
}

type report struct {
	path string
	rows []reportRow
}

func newReport(t *testing.T) *report {
	return newReportTo(t, "ENVBUILD_RELIABILITY_OUT")
}

// newReportTo is newReport writing where the environment variable env says.
func newReportTo(t *testing.T, env string) *report {
	r := &report{path: os.Getenv(env)}
	t.Cleanup(func() {
		if r.path == "" {
			return
		}
		var b strings.Builder
		b.WriteString("| case | what was tried | exit | message (last line) | time | kept after the failure | rerun without the fault |\n| --- | --- | --- | --- | --- | --- | --- |\n")
		for _, row := range r.rows {
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %s |\n", row.name, row.tried, row.code, strings.ReplaceAll(row.message, "|", "\\|"), row.took.Round(100*time.Millisecond), row.kept, row.rerun)
		}
		if err := os.WriteFile(r.path, []byte(b.String()), 0o644); err != nil {
			t.Error(err)
		}
	})
	return r
}

func (r *report) add(row reportRow) { r.rows = append(r.rows, row) }
