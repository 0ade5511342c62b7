package testbed

import (
	"context"
	"debug/elf"
	"encoding/binary"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/client"
)

func TestMain(m *testing.M) { Main(m) }

func TestBuildkitdAnswers(t *testing.T) {
	bed := Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.New(ctx, bed.BuildkitAddr)
	if err != nil {
		t.Fatalf("client.New(%q): %v", bed.BuildkitAddr, err)
	}
	defer c.Close()
	ws, err := c.ListWorkers(ctx)
	if err != nil {
		t.Fatalf("ListWorkers: %v", err)
	}
	if len(ws) == 0 {
		t.Fatalf("ListWorkers: got no workers, want the OCI worker")
	}
}

func TestRegistriesAnswer(t *testing.T) {
	bed := Require(t)
	tests := []struct {
		name       string
		host       string
		user, pass string
		want       int
	}{
		{"plain registry, anonymous", bed.Registry, "", "", http.StatusOK},
		{"auth registry, anonymous", bed.AuthRegistry, "", "", http.StatusUnauthorized},
		{"auth registry, wrong password", bed.AuthRegistry, bed.AuthUser, bed.AuthPassword + "x", http.StatusUnauthorized},
		{"auth registry, credentials", bed.AuthRegistry, bed.AuthUser, bed.AuthPassword, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, "http://"+tt.host+"/v2/", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.user != "" {
				req.SetBasicAuth(tt.user, tt.pass)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("GET /v2/ on %s: %v", tt.host, err)
			}
			resp.Body.Close()
			if got := resp.StatusCode; got != tt.want {
				t.Errorf("GET /v2/ on %s: got status %d, want %d", tt.host, got, tt.want)
			}
		})
	}
}

func TestAuthRegistryAcceptsPushWithCredentials(t *testing.T) {
	bed := Require(t)
	ctx := context.Background()
	img, err := bed.remoteImage(ctx, bed.BaseNoPython, mustPlatform(t, "linux/amd64"))
	if err != nil {
		t.Fatal(err)
	}
	dst, err := name.ParseReference(bed.AuthRegistry+"/check/nopython:1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(dst, img, remote.WithContext(ctx)); err == nil {
		t.Errorf("anonymous push to %s: got no error, want 401", dst)
	}
	if err := remote.Write(dst, img, remote.WithContext(ctx), remote.WithAuthFromKeychain(bed.Keychain())); err != nil {
		t.Fatalf("push to %s with the bed's credentials: %v", dst, err)
	}
	// buildkitd pulls it through the session's credentials.
	stdout, _, code, err := bed.Run(ctx, dst.String(), "linux/amd64", []string{"cat", "/etc/group"}, nil)
	if err != nil {
		t.Fatalf("Run in %s: %v", dst, err)
	}
	if code != 0 || string(stdout) != "root:x:0:\n" {
		t.Errorf("Run cat /etc/group in %s: got exit %d, stdout %q; want 0, %q", dst, code, stdout, "root:x:0:\n")
	}
}

func TestBaseImages(t *testing.T) {
	bed := Require(t)
	ctx := context.Background()
	tests := []struct {
		ref, platform string
		wantArch      string
		wantVariant   string
		wantLabel     string
	}{
		{bed.Base, "linux/amd64", "amd64", "", "debian"},
		{bed.BaseSwap, "linux/amd64", "amd64", "", "debian-swap"},
		{bed.BaseARM64, "linux/arm64", "arm64", "v8", "debian"},
		{bed.BaseMulti, "linux/amd64", "amd64", "", "debian"},
		{bed.BaseMulti, "linux/arm64/v8", "arm64", "v8", "debian"},
		{bed.BaseNoPython, "linux/amd64", "amd64", "", "nopython"},
	}
	for _, tt := range tests {
		t.Run(tt.ref+"@"+tt.platform, func(t *testing.T) {
			plat, err := parsePlatform(tt.platform)
			if err != nil {
				t.Fatal(err)
			}
			img, err := bed.remoteImage(ctx, tt.ref, plat)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.OS != "linux" || cfg.Architecture != tt.wantArch || cfg.Variant != tt.wantVariant {
				t.Errorf("platform: got %s/%s/%s, want linux/%s/%s", cfg.OS, cfg.Architecture, cfg.Variant, tt.wantArch, tt.wantVariant)
			}
			if got := cfg.Config.Labels["org.example.base"]; got != tt.wantLabel {
				t.Errorf("label org.example.base: got %q, want %q", got, tt.wantLabel)
			}
			hasPath := false
			for _, e := range cfg.Config.Env {
				hasPath = hasPath || strings.HasPrefix(e, "PATH=")
			}
			if !hasPath {
				t.Errorf("config Env %q has no PATH", cfg.Config.Env)
			}
		})
	}

	t.Run("swap shares the root file system layer", func(t *testing.T) {
		layers := func(ref string) []string {
			img, err := bed.remoteImage(ctx, ref, mustPlatform(t, "linux/amd64"))
			if err != nil {
				t.Fatal(err)
			}
			ls, err := img.Layers()
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, l := range ls {
				d, _ := l.Digest()
				out = append(out, d.String())
			}
			return out
		}
		base, swap := layers(bed.Base), layers(bed.BaseSwap)
		if len(base) != 2 || len(swap) != 2 {
			t.Fatalf("layers: got %d and %d, want 2 and 2", len(base), len(swap))
		}
		if base[0] != swap[0] {
			t.Errorf("first layer: got %s and %s, want the same", base[0], swap[0])
		}
		if base[1] == swap[1] {
			t.Errorf("second layer: got %s in both, want different", base[1])
		}
	})
}

func mustPlatform(t *testing.T, s string) v1.Platform {
	t.Helper()
	p, err := parsePlatform(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunInBase(t *testing.T) {
	bed := Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tests := []struct {
		name       string
		ref        string
		argv, env  []string
		wantStdout string
		wantStderr string
		wantCode   int
	}{
		{"system yaml", bed.Base, []string{"python3", "-c", "import yaml; print(1)"}, nil, "1\n", "", 0},
		{"config env, workdir and marker file", bed.Base, []string{"sh", "-c", `echo "$BASE_MARKER $(pwd) $(cat /etc/base-marker.txt)"`}, nil, "from-base /srv base-file-ok\n", "", 0},
		{"extra env", bed.Base, []string{"sh", "-c", `echo "$EXTRA"`}, []string{"EXTRA=given"}, "given\n", "", 0},
		{"stderr and exit code", bed.Base, []string{"sh", "-c", "echo oops >&2; exit 3"}, nil, "", "oops\n", 3},
		{"swap marker", bed.BaseSwap, []string{"cat", "/etc/base-marker.txt"}, nil, "swap-base-file-ok\n", "", 0},
		{"no python in busybox base", bed.BaseNoPython, []string{"sh", "-c", "command -v python3 || echo none"}, nil, "none\n", "", 0},
	}
	ref, err := name.ParseReference(bed.Base, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref, remote.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	tests = append(tests, struct {
		name       string
		ref        string
		argv, env  []string
		wantStdout string
		wantStderr string
		wantCode   int
	}{"tag and digest reference", bed.Base + "@" + desc.Digest.String(), []string{"cat", "/etc/base-marker.txt"}, nil, "base-file-ok\n", "", 0})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code, err := bed.Run(ctx, tt.ref, "linux/amd64", tt.argv, tt.env)
			if err != nil {
				t.Fatalf("Run(%q, %q): %v", tt.ref, tt.argv, err)
			}
			if string(stdout) != tt.wantStdout || string(stderr) != tt.wantStderr || code != tt.wantCode {
				t.Errorf("Run(%q, %q): got stdout %q, stderr %q, exit %d; want %q, %q, %d", tt.ref, tt.argv, stdout, stderr, code, tt.wantStdout, tt.wantStderr, tt.wantCode)
			}
		})
	}
}

func TestRunRefusesWhatCannotRun(t *testing.T) {
	bed := Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tests := []struct {
		name, ref, platform string
		wantErr             string
	}{
		{"missing image", bed.Registry + "/bases/none:latest", "linux/amd64", "bases/none:latest"},
		{"platform the image lacks", bed.BaseARM64, "linux/amd64", "linux/amd64"},
		{"arm64 binaries on this host", bed.BaseARM64, "linux/arm64", "linux/arm64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOARCH == "arm64" && tt.platform == "linux/arm64" {
				t.Skip("this host runs arm64 binaries")
			}
			_, _, code, err := bed.Run(ctx, tt.ref, tt.platform, []string{"true"}, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Run(%q, %q): got exit %d, error %v; want an error naming %q", tt.ref, tt.platform, code, err, tt.wantErr)
			}
			t.Logf("error: %v", err)
		})
	}
}

func TestReadFileARM64Python(t *testing.T) {
	bed := Require(t)
	ctx := context.Background()
	tests := []struct {
		ref, platform, path string
		want                elf.Machine
	}{
		{bed.BaseARM64, "linux/arm64", "/usr/bin/python3.11", elf.EM_AARCH64},
		{bed.BaseMulti, "linux/arm64", "/usr/bin/python3", elf.EM_AARCH64}, // a symlink to python3.11
		{bed.BaseMulti, "linux/amd64", "/usr/bin/python3.11", elf.EM_X86_64},
	}
	for _, tt := range tests {
		t.Run(tt.platform+tt.path, func(t *testing.T) {
			data, err := bed.ReadFile(ctx, tt.ref, tt.platform, tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if len(data) < 20 || string(data[:4]) != "\x7fELF" {
				t.Fatalf("%s in %s: got %d bytes without an ELF header", tt.path, tt.ref, len(data))
			}
			if got := elf.Machine(binary.LittleEndian.Uint16(data[18:20])); got != tt.want {
				t.Errorf("%s in %s: got e_machine %d (%s), want %d (%s)", tt.path, tt.ref, uint16(got), got, uint16(tt.want), tt.want)
			}
		})
	}
}

func TestARM64BaseIsComplete(t *testing.T) {
	bed := Require(t)
	want := []string{
		"/etc/base-marker.txt",
		"/etc/group",
		"/etc/passwd",
		"/usr/bin/python3.11",
		"/usr/lib/aarch64-linux-gnu/libc.so.6",
		"/usr/lib/python3.11/os.py",
		"/usr/lib/python3.11/venv/__init__.py",
		"/usr/lib/python3/dist-packages/yaml/__init__.py",
	}
	files, err := bed.ListFiles(context.Background(), bed.BaseARM64, "linux/arm64", "/")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range files {
		have[f] = true
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("arm64 base: %s missing (%d entries)", w, len(files))
		}
	}
	for _, f := range files {
		if strings.HasSuffix(f, ".deb") || strings.HasPrefix(f, "/debootstrap") {
			t.Errorf("arm64 base: got bootstrap leftover %s", f)
		}
	}
	passwd, err := bed.ReadFile(context.Background(), bed.BaseARM64, "linux/arm64", "/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(string(passwd), "\n"); !strings.HasPrefix(first, "root:") || !strings.Contains(first, ":0:0:") {
		t.Errorf("arm64 /etc/passwd: got first line %q, want root with uid and gid 0", first)
	}
}

func TestListFiles(t *testing.T) {
	bed := Require(t)
	got, err := bed.ListFiles(context.Background(), bed.BaseNoPython, "linux/amd64", "/bin")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"/bin": true, "/bin/busybox": true, "/bin/sh": true, "/bin/cat": true, "/bin/ls": true}
	for _, p := range got {
		delete(want, p)
		if !strings.HasPrefix(p, "/bin") {
			t.Errorf("ListFiles /bin: got %q outside /bin", p)
		}
	}
	if len(want) != 0 {
		t.Errorf("ListFiles /bin: got %q, missing %v", got, want)
	}
}

func TestExtraBuildkitd(t *testing.T) {
	bed := Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	addr, err := bed.StartExtraBuildkitd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if addr == bed.BuildkitAddr {
		t.Fatalf("extra buildkitd: got the main address %q", addr)
	}
	if err := pingBuildkitd(ctx, addr); err != nil {
		t.Errorf("extra buildkitd on %q: %v", addr, err)
	}
}
