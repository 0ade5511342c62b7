package integration

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/envbuild/envbuild/integration/testbed"
)

// Done-when 5: a registry with htpasswd auth and credentials in a Docker
// config file; the secret appears nowhere.
func TestAuthRegistryKeepsTheSecret(t *testing.T) {
	bed := testbed.Require(t)
	dir := t.TempDir()
	repo := bed.AuthRegistry + "/envs/auth"
	env := []string{"DOCKER_CONFIG=" + bed.DockerConfig}
	r := envbuild(t, dir, env, "build", "--json", "--progress", "plain", "--pypi", "six==1.16.0", "--base", bed.Base, "--registry", repo)
	if r.code != 0 {
		t.Fatalf("build to the auth registry failed: %d\n%s", r.code, r.stderr)
	}
	secret := bed.AuthPassword
	for what, s := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
		if strings.Contains(s, secret) {
			t.Errorf("the password appears in %s", what)
		}
	}
	lock, _ := os.ReadFile(filepath.Join(dir, "envbuild.lock"))
	if strings.Contains(string(lock), secret) {
		t.Errorf("the password appears in the lock")
	}
	var res result
	if err := jsonUnmarshal(r.stdout, &res); err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(res.Image, name.Insecure)
	img, err := remote.Image(ref, remote.WithAuthFromKeychain(bed.Keychain()))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := img.RawConfigFile()
	if strings.Contains(string(raw), secret) {
		t.Errorf("the password appears in the image config")
	}
	layers, _ := img.Layers()
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), secret) {
			t.Errorf("the password appears in layer %d", i)
		}
	}
	// Without credentials the same registry refuses: exit 4, nothing built.
	r = envbuild(t, t.TempDir(), []string{"DOCKER_CONFIG=" + t.TempDir()}, "build", "--pypi", "six==1.16.0", "--base", bed.Base, "--registry", bed.AuthRegistry+"/envs/noauth")
	if r.code != 4 {
		t.Errorf("push without credentials: exit %d, want 4\n%s", r.code, r.stderr)
	}
}

// fakeRegistry answers every request with status.
func fakeRegistry(t *testing.T, status int) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Done-when 3 (errors) and 6: every error a user can cause, with its exit
// code and nothing pushed.
func TestErrors(t *testing.T) {
	bed := testbed.Require(t)
	repo := bed.Registry + "/envs/errors"
	for _, tc := range []struct {
		name  string
		setup func(dir string) []string
		args  []string
		code  int
		want  string
	}{
		{name: "unknown package", args: []string{"--pypi", "envbuild-no-such-package-xyz"}, code: 1, want: "envbuild-no-such-package-xyz"},
		{name: "version that does not exist", args: []string{"--pypi", "six==99.0.0"}, code: 1, want: "six"},
		{name: "malformed requirement", args: []string{"--pypi", "six>>=1"}, code: 1, want: "six>>=1"},
		{name: "malformed toml", setup: func(dir string) []string {
			os.WriteFile(filepath.Join(dir, "envbuild.toml"), []byte("[pypi]\npackages = { six = \"1.16.0\" }\nbogus = 1\n"), 0o644)
			return nil
		}, args: []string{}, code: 1, want: "envbuild.toml:3:1: unknown key"},
		{name: "base not found", args: []string{"--pypi", "six", "--base", bed.Registry + "/bases/none:latest"}, code: 1, want: "not found"},
		{name: "base not authorised", args: []string{"--pypi", "six", "--base", bed.AuthRegistry + "/bases/debian:bookworm"}, code: 4, want: bed.AuthRegistry},
		{name: "base without python", args: []string{"--pypi", "six", "--base", bed.BaseNoPython}, code: 1, want: "no usable Python"},
		{name: "buildkitd unreachable", args: []string{"--pypi", "six==1.16.0", "--pypi", "idna==3.4", "--buildkit-addr", "unix:///nonexistent/bk.sock"}, code: 4, want: "BuildKit"},
		{name: "registry unreachable", args: []string{"--pypi", "six==1.16.0", "--registry", "127.0.0.1:1/envs/x"}, code: 4, want: "127.0.0.1:1"},
		{name: "registry answers 500", args: []string{"--pypi", "six==1.16.0", "--registry", fakeRegistry(t, 500) + "/envs/x"}, code: 4, want: "500"},
		{name: "registry answers 401", args: []string{"--pypi", "six==1.16.0", "--registry", fakeRegistry(t, 401) + "/envs/x"}, code: 4, want: "401"},
		{name: "artifact sha256 differs from the lock", setup: func(dir string) []string {
			lock := lockFor(t, bed, dir, "six==1.16.0")
			sha := firstSha(lock)
			flipped := "f"
			if sha[0] == 'f' {
				flipped = "0"
			}
			bad := strings.Replace(lock, sha, flipped+sha[1:], 1)
			os.WriteFile(filepath.Join(dir, "envbuild.lock"), []byte(bad), 0o644)
			return nil
		}, args: []string{"--pypi", "six==1.16.0"}, code: 1, want: "sha256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.setup != nil {
				tc.setup(dir)
			}
			args := append([]string{"build", "--progress", "plain"}, tc.args...)
			if !hasFlag(args, "--base") {
				args = append(args, "--base", bed.Base)
			}
			if !hasFlag(args, "--registry") {
				args = append(args, "--registry", repo)
			}
			r := envbuild(t, dir, nil, args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\n%s", r.code, tc.code, r.stderr)
			}
			last := lastLine(r.stderr)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("error does not mention %q: %q", tc.want, last)
			}
			if r.stdout != "" {
				t.Errorf("a failed build printed a result: %q", r.stdout)
			}
			if tags := listTags(t, repo); len(tags) != 0 {
				t.Errorf("a failed build pushed %v", tags)
			}
		})
	}
}

func hasFlag(args []string, f string) bool {
	for _, a := range args {
		if a == f {
			return true
		}
	}
	return false
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func listTags(t *testing.T, repo string) []string {
	r, err := name.NewRepository(repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := remote.List(r, remote.WithContext(context.Background()))
	if err != nil {
		return nil
	}
	return tags
}

// lockFor writes a lock of reqs for the bed's base into dir and returns it.
func lockFor(t *testing.T, bed *testbed.Bed, dir string, reqs ...string) string {
	args := []string{"lock", "--base", bed.Base}
	for _, r := range reqs {
		args = append(args, "--pypi", r)
	}
	if r := envbuild(t, dir, nil, args...); r.code != 0 {
		t.Fatalf("lock failed: %s", r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "envbuild.lock"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func firstSha(lock string) string {
	i := strings.Index(lock, `sha256 = "`)
	return lock[i+len(`sha256 = "`) : i+len(`sha256 = "`)+64]
}
