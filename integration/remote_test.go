package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/envbuild/envbuild/integration/testbed"
)

// pki is a CA with a server and a client certificate, as PEM files.
type pki struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
}

// newPKI writes a CA, a server certificate for serverName and 127.0.0.1,
// and a client certificate, all signed by the CA, under dir.
func newPKI(t *testing.T, dir, serverName string) pki {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	writeKey := func(name string, k *ecdsa.PrivateKey) string {
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return write(name, "EC PRIVATE KEY", der)
	}
	now := time.Now()
	caKey := key()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "envbuild test CA " + filepath.Base(dir)},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, tmpl *x509.Certificate, k *ecdsa.PrivateKey) []byte {
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(24*time.Hour)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	sk, ck := key(), key()
	p := pki{CA: write("ca.pem", "CERTIFICATE", caDER)}
	p.ServerCert = write("server.pem", "CERTIFICATE", issue(2, &x509.Certificate{
		Subject: pkix.Name{CommonName: serverName}, DNSNames: []string{serverName}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, sk))
	p.ServerKey = writeKey("server-key.pem", sk)
	p.ClientCert = write("client.pem", "CERTIFICATE", issue(3, &x509.Certificate{
		Subject: pkix.Name{CommonName: "envbuild"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ck))
	p.ClientKey = writeKey("client-key.pem", ck)
	return p
}

// TestRemoteBuilders builds the same lock on the same base through every
// way of reaching BuildKit that can run here: the bed's unix socket, tcp://
// with mutual TLS (flags, config file, a buildx "remote" builder), ssh://
// through OpenSSH's sshd, and kube-pod:// through a kubectl stand-in. Each
// pushes to its own repository, so none is a registry cache hit, and every
// one must give the same image digest. The TLS and builder failures must
// name the address and the fix, with the documented exit codes.
func TestRemoteBuilders(t *testing.T) {
	bed := testbed.Require(t)
	ctx := context.Background()
	dir := t.TempDir()
	pkgs := []string{"--pypi", "six==1.16.0", "--base", bed.Base}
	// A bed that stays up (ENVBUILD_TESTBED_STATE) keeps earlier runs'
	// images: each run pushes under its own prefix.
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	repo := func(name string) []string {
		return []string{"--registry", bed.Registry + "/envs/remote-" + run + "-" + name}
	}
	build := func(t *testing.T, env []string, name string, extra ...string) result {
		t.Helper()
		res := mustBuild(t, dir, env, append(append(append([]string{}, pkgs...), repo(name)...), extra...)...)
		if res.Cached {
			t.Fatalf("%s: a registry cache hit; each path pushes to its own repository", name)
		}
		return res
	}
	fail := func(t *testing.T, env []string, code int, wants []string, extra ...string) {
		t.Helper()
		args := append(append(append([]string{"build", "--progress", "plain"}, pkgs...), repo("fail")...), extra...)
		r := envbuild(t, dir, env, args...)
		if r.code != code {
			t.Errorf("exit %d, want %d:\n%s", r.code, code, tail(r.stderr, 20))
		}
		for _, w := range wants {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("stderr lacks %q:\n%s", w, tail(r.stderr, 20))
			}
		}
	}

	base := build(t, nil, "unix")
	sameDigest := func(t *testing.T, name string, res result) {
		t.Helper()
		if res.Digest != base.Digest {
			t.Errorf("%s built %s; the unix:// build %s: the same lock and base must give the same image", name, res.Digest, base.Digest)
		}
	}

	certs := newPKI(t, filepath.Join(dir, "pki"), "buildkitd.test")
	tcp, err := bed.StartTLSBuildkitd(ctx, certs.CA, certs.ServerCert, certs.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	tlsFlags := []string{"--buildkit-addr", tcp, "--tlscacert", certs.CA, "--tlscert", certs.ClientCert, "--tlskey", certs.ClientKey}

	t.Run("tcp mTLS flags", func(t *testing.T) {
		sameDigest(t, "tcp:// with TLS flags", build(t, nil, "tcp-flags", tlsFlags...))
	})

	t.Run("tcp mTLS config file", func(t *testing.T) {
		cfg := filepath.Join(dir, "tls-config.toml")
		body := fmt.Sprintf("buildkit_addr = %q\ntlscacert = %q\ntlscert = %q\ntlskey = %q\ntlsservername = %q\n", tcp, certs.CA, certs.ClientCert, certs.ClientKey, "buildkitd.test")
		if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		// BUILDKIT_HOST (the bed's) would win over the config file.
		sameDigest(t, "tcp:// from the config file", build(t, []string{"BUILDKIT_HOST="}, "tcp-config", "--config", cfg))
	})

	t.Run("wrong CA", func(t *testing.T) {
		other := newPKI(t, filepath.Join(dir, "other-pki"), "buildkitd.test")
		fail(t, nil, 4, []string{tcp, "not signed by " + other.CA, "--tlscacert"},
			"--buildkit-addr", tcp, "--tlscacert", other.CA, "--tlscert", certs.ClientCert, "--tlskey", certs.ClientKey)
	})

	t.Run("server name mismatch", func(t *testing.T) {
		fail(t, nil, 4, []string{tcp, `does not name "wrong.test"`, "--tlsservername"}, append(tlsFlags, "--tlsservername", "wrong.test")...)
	})

	t.Run("no client certificate", func(t *testing.T) {
		fail(t, nil, 4, []string{tcp, "client certificate"}, "--buildkit-addr", tcp, "--tlscacert", certs.CA)
	})

	t.Run("missing cert file", func(t *testing.T) {
		missing := filepath.Join(dir, "pki", "nope.pem")
		fail(t, nil, 1, []string{missing + " (--tlscert): no such file"}, "--buildkit-addr", tcp, "--tlscacert", certs.CA, "--tlscert", missing, "--tlskey", certs.ClientKey)
	})

	t.Run("buildx builders", func(t *testing.T) {
		store := filepath.Join(dir, "buildx")
		writeBuilder := func(name string, ng map[string]any) {
			data, err := json.Marshal(ng)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(store, "instances"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(store, "instances", name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		// What `docker buildx create --name shared --driver remote
		// --driver-opt cacert=…,cert=…,key=…,servername=buildkitd.test
		// tcp://…` writes (buildx's store.NodeGroup).
		writeBuilder("shared", map[string]any{"Name": "shared", "Driver": "remote", "Dynamic": false, "Nodes": []map[string]any{{
			"Name": "shared0", "Endpoint": tcp, "Platforms": nil, "Flags": nil, "Files": nil,
			"DriverOpts": map[string]string{"cacert": certs.CA, "cert": certs.ClientCert, "key": certs.ClientKey, "servername": "buildkitd.test"},
		}}})
		writeBuilder("desktop-linux", map[string]any{"Name": "desktop-linux", "Driver": "docker", "Dynamic": false, "Nodes": []map[string]any{{
			"Name": "desktop-linux", "Endpoint": "desktop-linux", "Platforms": nil, "Flags": nil, "Files": nil, "DriverOpts": nil,
		}}})
		env := []string{"BUILDX_CONFIG=" + store, "BUILDKIT_HOST="}
		sameDigest(t, "--builder shared", build(t, env, "builder", "--builder", "shared"))
		sameDigest(t, "BUILDX_BUILDER=shared", build(t, append(env, "BUILDX_BUILDER=shared"), "builder-env"))
		// `docker buildx use shared` writes "current".
		if err := os.WriteFile(filepath.Join(store, "current"), []byte(`{"Key":"unix:///var/run/docker.sock","Name":"shared","Global":false}`), 0o600); err != nil {
			t.Fatal(err)
		}
		sameDigest(t, "--builder current", build(t, env, "builder-current", "--builder", "current"))
		fail(t, env, 4, []string{`"desktop-linux" uses the docker driver`, "docker buildx create --name envbuild --driver docker-container"}, "--builder", "desktop-linux")
		fail(t, env, 1, []string{`no buildx builder "nope"`, "desktop-linux, shared"}, "--builder", "nope")
	})

	t.Run("ssh", func(t *testing.T) {
		addr, env := startSSHD(t, bed)
		res := build(t, env, "ssh", "--buildkit-addr", addr)
		sameDigest(t, addr, res)
		// Without a socket path, the remote buildctl's BUILDKIT_HOST decides.
		host := addr[:strings.Index(addr[len("ssh://"):], "/")+len("ssh://")]
		sameDigest(t, host, build(t, env, "ssh-nopath", "--buildkit-addr", host))
	})

	t.Run("kube-pod without a cluster", func(t *testing.T) {
		env, log := kubectlStandIn(t, bed)
		res := build(t, env, "kube-pod", "--buildkit-addr", "kube-pod://buildkitd-0?namespace=builds")
		sameDigest(t, "kube-pod://", res)
		calls, _ := os.ReadFile(log)
		if !strings.Contains(string(calls), "--namespace=builds exec --container= -i buildkitd-0 -- buildctl dial-stdio") {
			t.Errorf("kubectl was not called as BuildKit's kube-pod helper calls it:\n%s", calls)
		}

		// A builder of buildx's kubernetes driver: its pod is found with
		// kubectl, then reached through kube-pod://.
		store := filepath.Join(dir, "buildx-k8s")
		if err := os.MkdirAll(filepath.Join(store, "instances"), 0o700); err != nil {
			t.Fatal(err)
		}
		ng := `{"Name":"k8s","Driver":"kubernetes","Nodes":[{"Name":"k8s0","Endpoint":"kubernetes:///k8s?deployment=k8s0&kubeconfig=","Platforms":null,"DriverOpts":{"namespace":"ci"},"Flags":null,"Files":null}],"Dynamic":false}`
		if err := os.WriteFile(filepath.Join(store, "instances", "k8s"), []byte(ng), 0o600); err != nil {
			t.Fatal(err)
		}
		res = build(t, append(env, "BUILDX_CONFIG="+store, "BUILDKIT_HOST="), "kube-builder", "--builder", "k8s")
		sameDigest(t, "--builder k8s", res)
		calls, _ = os.ReadFile(log)
		for _, want := range []string{"--namespace=ci get pods --selector=app=k8s0", "--namespace=ci exec --container=buildkitd -i buildkitd-0 -- buildctl dial-stdio"} {
			if !strings.Contains(string(calls), want) {
				t.Errorf("kubectl calls lack %q:\n%s", want, calls)
			}
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		addr := "tcp://127.0.0.1:" + freePort(t)
		fail(t, nil, 4, []string{"no BuildKit daemon answers at " + addr, "buildkitd --addr " + addr}, "--buildkit-addr", addr)
		fail(t, nil, 2, []string{`unknown scheme "http"`, "docker-container://NAME"}, "--buildkit-addr", "http://127.0.0.1:1")
	})
}

// startSSHD runs OpenSSH's sshd on 127.0.0.1 with a generated host key and
// an authorized key whose sessions have buildctl on PATH. It returns the
// ssh:// address of the bed's buildkitd socket through it, and the
// environment that puts an `ssh` wrapper (the real client with a
// temporary config: key, known_hosts) first on PATH, so nothing of the
// user's ~/.ssh is read or written.
func startSSHD(t *testing.T, bed *testbed.Bed) (string, []string) {
	t.Helper()
	sshd := "/usr/sbin/sshd"
	if _, err := os.Stat(sshd); err != nil {
		t.Fatalf("no %s: run scripts/setup.sh (apt-get install openssh-server)", sshd)
	}
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatal("no ssh client: run scripts/setup.sh (apt-get install openssh-client)")
	}
	buildctl, err := testbed.Buildctl()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "envbuild-sshd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	keygen := func(path string) string {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
		pub, err := os.ReadFile(path + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(pub))
	}
	hostPub := keygen(filepath.Join(dir, "host_ed25519"))
	userPub := keygen(filepath.Join(dir, "id_ed25519"))
	remoteBin := filepath.Join(dir, "remote-bin")
	if err := os.MkdirAll(remoteBin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(buildctl, filepath.Join(remoteBin, "buildctl")); err != nil {
		t.Fatal(err)
	}
	// environment= needs PermitUserEnvironment; it gives the session a PATH
	// with buildctl, as a server with buildctl installed would have.
	// BUILDKIT_HOST is what buildctl dial-stdio uses when the ssh:// address
	// names no socket.
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), []byte(fmt.Sprintf("environment=\"PATH=%s:/usr/local/bin:/usr/bin:/bin\",environment=\"BUILDKIT_HOST=%s\" %s\n", remoteBin, bed.BuildkitAddr, userPub)), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	conf := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(conf, []byte(strings.Join([]string{
		"ListenAddress 127.0.0.1",
		"Port " + port,
		"HostKey " + filepath.Join(dir, "host_ed25519"),
		"PidFile " + filepath.Join(dir, "sshd.pid"),
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"PermitRootLogin prohibit-password",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		"StrictModes no",
		"PermitUserEnvironment yes",
		"",
	}, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	// sshd's privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "sshd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(sshd, "-D", "-e", "-f", conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "sshd.log"))
			t.Logf("sshd log:\n%s", log)
		}
	})

	// The client side: a wrapper first on PATH, so BuildKit's helper runs
	// the real ssh with this config.
	if err := os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(fmt.Sprintf("[127.0.0.1]:%s %s\n", port, hostPub)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ssh_config"), []byte(strings.Join([]string{
		"Host 127.0.0.1",
		"  IdentityFile " + filepath.Join(dir, "id_ed25519"),
		"  IdentitiesOnly yes",
		"  UserKnownHostsFile " + filepath.Join(dir, "known_hosts"),
		"  StrictHostKeyChecking yes",
		"  BatchMode yes",
		"",
	}, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	clientBin := filepath.Join(dir, "client-bin")
	if err := os.MkdirAll(clientBin, 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := fmt.Sprintf("#!/bin/sh\nexec %s -F %s \"$@\"\n", sshBin, filepath.Join(dir, "ssh_config"))
	if err := os.WriteFile(filepath.Join(clientBin, "ssh"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + clientBin + ":" + os.Getenv("PATH")}
	// Wait until sshd accepts connections.
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "sshd.log"))
			t.Fatalf("sshd did not listen on 127.0.0.1:%s: %v\n%s", port, err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	sock := strings.TrimPrefix(bed.BuildkitAddr, "unix://")
	return "ssh://root@127.0.0.1:" + port + sock, env
}

// kubectlStandIn puts a `kubectl` first on PATH that does what `kubectl
// exec -i POD -- buildctl dial-stdio` does in a BuildKit pod: it runs
// buildctl dial-stdio against the bed's daemon. It logs its arguments.
func kubectlStandIn(t *testing.T, bed *testbed.Bed) (env []string, logPath string) {
	t.Helper()
	buildctl, err := testbed.Buildctl()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	logPath = filepath.Join(dir, "kubectl.log")
	script := fmt.Sprintf(`#!/bin/sh
# A kubectl stand-in for BuildKit's kube-pod:// helper (no cluster runs here).
echo "$*" >> %s
# What the kubernetes builder asks first: its running pod.
for a in "$@"; do [ "$a" = "get" ] && { echo buildkitd-0; exit 0; }; done
while [ $# -gt 0 ] && [ "$1" != "--" ]; do shift; done
[ "$1" = "--" ] || { echo "kubectl stand-in: only exec ... -- buildctl dial-stdio" >&2; exit 1; }
shift
[ "$1" = "buildctl" ] || { echo "kubectl stand-in: runs buildctl only, not $1" >&2; exit 1; }
shift
exec %s --addr %s "$@"
`, logPath, buildctl, bed.BuildkitAddr)
	if err := os.WriteFile(filepath.Join(dir, "kubectl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return []string{"PATH=" + dir + ":" + os.Getenv("PATH")}, logPath
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// TestBuildkitVersionChecked starts buildkitd binaries stamped with other
// versions (the same code; BuildKit's release builds set the version the
// same way) and checks what envbuild does with the version the daemon
// reports: one other than envbuild's own is named on stderr and used, one
// older than envbuild needs is refused with the fix (exit 4).
func TestBuildkitVersionChecked(t *testing.T) {
	bed := testbed.Require(t)
	ctx := context.Background()
	root, err := testbed.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	stamped := func(version string) string {
		bin := filepath.Join(t.TempDir(), "buildkitd")
		cmd := exec.Command("go", "build", "-ldflags", "-X github.com/moby/buildkit/version.Version="+version, "-o", bin, "github.com/moby/buildkit/cmd/buildkitd")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building buildkitd stamped %s: %v\n%s", version, err, out)
		}
		return bin
	}
	dir := t.TempDir()
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	args := []string{"build", "--progress", "plain", "--pypi", "six==1.16.0", "--base", bed.Base, "--registry", bed.Registry + "/envs/version-" + run}

	other, err := bed.StartExtraBuildkitdBinary(ctx, stamped("v0.33.0"))
	if err != nil {
		t.Fatal(err)
	}
	r := envbuild(t, dir, nil, append(args, "--buildkit-addr", other)...)
	if r.code != 0 || !strings.Contains(r.stderr, "BuildKit at "+other+" is v0.33.0; envbuild is built with BuildKit v0.") {
		t.Errorf("a daemon of another version: exit %d, and stderr does not name both versions:\n%s", r.code, tail(r.stderr, 20))
	}

	old, err := bed.StartExtraBuildkitdBinary(ctx, stamped("v0.9.3"))
	if err != nil {
		t.Fatal(err)
	}
	// Another repository: the first build's image would be a cache hit.
	args[len(args)-1] += "-old"
	r = envbuild(t, dir, nil, append(args, "--buildkit-addr", old)...)
	if r.code != 4 || !strings.Contains(r.stderr, "BuildKit at "+old+" is v0.9.3; envbuild needs v0.10.0 or later") || !strings.Contains(r.stderr, "docker buildx create --name envbuild --driver docker-container") {
		t.Errorf("a daemon older than envbuild needs: exit %d, want 4 with the fix:\n%s", r.code, tail(r.stderr, 20))
	}
}
