package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/lock/failure"
)

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
		want string
	}{
		{"unix:///run/buildkit/buildkitd.sock", true, ""},
		{"tcp://127.0.0.1:1234", true, ""},
		{"tcp://buildkit.example.com:1234", true, ""},
		{"docker-container://buildx_buildkit_b0", true, ""},
		{"docker-container://b?context=remote", true, ""},
		{"podman-container://buildkitd", true, ""},
		{"nerdctl-container://buildkitd", true, ""},
		{"kube-pod://buildkitd-0?namespace=ci&container=buildkitd", true, ""},
		{"ssh://root@host:2222/run/buildkit/buildkitd.sock", true, ""},
		{"ssh://host", true, ""},
		{"/run/buildkit/buildkitd.sock", false, "no scheme"},
		{"http://host:1234", false, `unknown scheme "http"`},
		{"tcp://host", false, "tcp://HOST:PORT"},
		{"unix://", false, "no socket path"},
		{"kube-pod://Bad_Pod", false, "unsupported pod name"},
		{"kube-pod://", false, "pod"},
		{"ssh://user:secret@host", false, "password"},
		{"tcp://user:secret@host:1234", false, "password"},
		{"docker-container://u:secret@c", false, "password"},
		{"docker-container://", false, "container name"},
	} {
		_, err := ParseAddress(tc.addr)
		if tc.ok {
			if err != nil {
				t.Errorf("%s: %v", tc.addr, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.addr, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error repeats the password: %v", tc.addr, err)
		}
		if failure.KindOf(err) != failure.KindUsage {
			t.Errorf("%s: exit %d, want 2", tc.addr, failure.KindOf(err))
		}
		if !strings.Contains(err.Error(), "docker-container://NAME") {
			t.Errorf("%s: the error does not show the address forms: %v", tc.addr, err)
		}
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	for _, tc := range []struct {
		name string
		o    ConnectOptions
		kind failure.Kind // 0: valid
		want string
	}{
		{"local", ConnectOptions{}, 0, ""},
		{"tcp without TLS", ConnectOptions{Addr: "tcp://127.0.0.1:1"}, 0, ""},
		{"tcp with CA", ConnectOptions{Addr: "tcp://127.0.0.1:1", TLS: TLSOptions{CACert: ca}}, 0, ""},
		{"missing CA", ConnectOptions{Addr: "tcp://127.0.0.1:1", TLS: TLSOptions{CACert: missing}}, failure.KindUser, missing + " (--tlscacert): no such file"},
		{"missing key", ConnectOptions{Addr: "tcp://127.0.0.1:1", TLS: TLSOptions{CACert: ca, Cert: ca, Key: missing}}, failure.KindUser, "--tlskey"},
		{"cert without key", ConnectOptions{Addr: "tcp://127.0.0.1:1", TLS: TLSOptions{Cert: ca}}, failure.KindUser, "together"},
		{"TLS on unix", ConnectOptions{Addr: "unix:///x.sock", TLS: TLSOptions{CACert: ca}}, failure.KindUsage, "tcp://"},
		{"TLS without address", ConnectOptions{TLS: TLSOptions{ServerName: "x"}}, failure.KindUsage, "tcp://"},
		{"TLS with builder", ConnectOptions{Builder: "b", TLS: TLSOptions{CACert: ca}}, failure.KindUsage, "driver options"},
		{"address and builder", ConnectOptions{Addr: "tcp://h:1", Builder: "b"}, failure.KindUsage, "use one"},
		{"bad address", ConnectOptions{Addr: "buildkitd.sock"}, failure.KindUsage, "no scheme"},
	} {
		err := tc.o.Validate()
		if tc.kind == 0 {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil || failure.KindOf(err) != tc.kind || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v (exit %d), want exit %d and %q", tc.name, err, failure.KindOf(err), tc.kind, tc.want)
		}
	}
}

func TestExplainDial(t *testing.T) {
	tls := TLSOptions{CACert: "/etc/ca.pem", Cert: "/c.pem", Key: "/k.pem"}
	for _, tc := range []struct {
		addr string
		t    TLSOptions
		err  string
		want []string
	}{
		{"tcp://127.0.0.1:9", tls, `rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"`,
			[]string{"tcp://127.0.0.1:9", "not signed by /etc/ca.pem", "--tlscacert"}},
		{"tcp://127.0.0.1:9", tls, `transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate is valid for buildkitd.test, not wrong.test`,
			[]string{"tcp://127.0.0.1:9", "--tlsservername"}},
		{"tcp://127.0.0.1:9", tls, `connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:9: connect: connection refused"`,
			[]string{"no BuildKit daemon answers at tcp://127.0.0.1:9", "buildkitd --addr tcp://127.0.0.1:9"}},
		{"tcp://127.0.0.1:9", tls, `tls: first record does not look like a TLS handshake`,
			[]string{"does not speak TLS"}},
		{"tcp://127.0.0.1:9", tls, `remote error: tls: certificate required`,
			[]string{"client certificate"}},
		{"tcp://127.0.0.1:9", TLSOptions{CACert: "/etc/ca.pem"}, `Unavailable: write tcp 127.0.0.1:39902->127.0.0.1:9: write: broken pipe`,
			[]string{"client certificate", "--tlscert"}},
		{"ssh://root@127.0.0.1:2222/run/b.sock", TLSOptions{}, `command [ssh ...] has exited with exit status 255`,
			[]string{"ssh://root@127.0.0.1:2222/run/b.sock", "buildctl on the remote PATH"}},
		{"kube-pod://p", TLSOptions{}, `exit status 1`, []string{"kube-pod://p", "kubectl get pod"}},
		{"docker-container://x", TLSOptions{}, `exit status 1`, []string{"docker-container://x", "docker buildx create"}},
	} {
		got := explainDial(tc.addr, tc.t, errors.New(tc.err)).Error()
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s %q:\n%s\nlacks %q", tc.addr, tc.err, got, w)
			}
		}
	}
}

func TestHelperCause(t *testing.T) {
	in := `connection error: desc = "error reading server preface: command [kubectl --context= --namespace= exec --container= -i nope -- buildctl dial-stdio] has exited with exit status 1, make sure the URL is valid, and Docker 18.09 or later is installed on the remote host: stderr=E1203 memcache.go:265] \"Unhandled Error\"\nThe connection to the server localhost:8080 was refused - did you specify the right host or port?\n"`
	got := helperCause(errors.New(in))
	if strings.Contains(got, "Docker 18.09") || strings.Contains(got, "memcache") || !strings.Contains(got, "stderr: The connection to the server localhost:8080 was refused") || !strings.Contains(got, "kubectl --context=") {
		t.Errorf("helperCause: %s", got)
	}
}

func TestJudge(t *testing.T) {
	fit := DaemonInfo{Package: "github.com/moby/buildkit", Version: "v0.34.2", MergeOp: true, DiffOp: true}
	if note, err := Judge("a", fit, "v0.34.2"); note != "" || err != nil {
		t.Errorf("same version: %q %v", note, err)
	}
	other := fit
	other.Version = "v0.20.1"
	if note, err := Judge("a", other, "v0.34.2"); err != nil || !strings.Contains(note, "v0.20.1") || !strings.Contains(note, "v0.34.2") {
		t.Errorf("other version: %q %v", note, err)
	}
	unknown := fit
	unknown.Version = "v0.0.0+unknown"
	if note, err := Judge("a", unknown, "v0.34.2"); err != nil || !strings.Contains(note, "v0.0.0+unknown") {
		t.Errorf("unstamped version: %q %v", note, err)
	}
	old := DaemonInfo{Package: "github.com/moby/buildkit", Version: "v0.9.3", MergeOp: false}
	_, err := Judge("tcp://old:1", old, "v0.34.2")
	if err == nil || failure.KindOf(err) != failure.KindInfra || !strings.Contains(err.Error(), "v0.9.3") || !strings.Contains(err.Error(), MinBuildkitVersion) || !strings.Contains(err.Error(), "docker buildx create") {
		t.Errorf("old daemon: %v", err)
	}
	docker := DaemonInfo{Package: "github.com/docker/docker", Version: "v0.12.5", MergeOp: false, DiffOp: false}
	_, err = Judge("docker-container://x", docker, "v0.34.2")
	if err == nil || failure.KindOf(err) != failure.KindInfra || !strings.Contains(err.Error(), "Docker's built-in builder") || !strings.Contains(err.Error(), "containerd") || !strings.Contains(err.Error(), "MergeOp") {
		t.Errorf("docker without MergeOp: %v", err)
	}
	noDiff := fit
	noDiff.DiffOp = false
	if _, err := Judge("a", noDiff, "v0.34.2"); err == nil || !strings.Contains(err.Error(), "DiffOp") {
		t.Errorf("no DiffOp: %v", err)
	}
	if v := ClientBuildkitVersion(); !strings.HasPrefix(v, "v0.") {
		t.Errorf("ClientBuildkitVersion() = %q", v)
	}
}

func TestGoModBuildkitVersion(t *testing.T) {
	data, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "github.com/moby/buildkit" {
			if f[1] != goModBuildkitVersion {
				t.Fatalf("go.mod has BuildKit %s; set goModBuildkitVersion in fit.go to it", f[1])
			}
			return
		}
	}
	t.Fatal("go.mod does not require github.com/moby/buildkit")
}
