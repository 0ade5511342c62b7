package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/lock/failure"
)

// writeStore writes builders the way buildx does: instances/NAME holds the
// JSON of the node group (json.Marshal of buildx's store.NodeGroup).
func writeStore(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBuildxStore(t *testing.T) {
	dir := writeStore(t, map[string]string{
		// As `docker buildx create --name Shared --driver remote --driver-opt cacert=...,cert=...,key=... tcp://buildkit.example.com:1234` writes it.
		"instances/shared": `{"Name":"shared","Driver":"remote","Nodes":[{"Name":"shared0","Endpoint":"tcp://buildkit.example.com:1234","Platforms":null,"DriverOpts":{"cacert":"/certs/ca.pem","cert":"/certs/cert.pem","key":"/certs/key.pem"},"Flags":null,"Files":null}],"Dynamic":false}`,
		"instances/dc":     `{"Name":"dc","Driver":"docker-container","Nodes":[{"Name":"dc0","Endpoint":"default","Platforms":[{"architecture":"amd64","os":"linux"}],"DriverOpts":null,"Flags":["--allow-insecure-entitlement=network.host"],"Files":null}],"Dynamic":false}`,
		"instances/other":  `{"Name":"other","Driver":"docker-container","Nodes":[{"Name":"other0","Endpoint":"laptop","DriverOpts":{}}]}`,
		"instances/k8s":    `{"Name":"k8s","Driver":"kubernetes","Nodes":[{"Name":"k8s0","Endpoint":"kubernetes:///k8s?deployment=k8s0&kubeconfig=","DriverOpts":{"namespace":"builds","replicas":"1"}}]}`,
		"instances/desk":   `{"Name":"desk","Driver":"docker","Nodes":[{"Name":"desk","Endpoint":"desk"}]}`,
		"current":          `{"Key":"unix:///var/run/docker.sock","Name":"dc","Global":false}`,
	})
	names, err := BuildxBuilders(dir)
	if err != nil || strings.Join(names, ",") != "dc,desk,k8s,other,shared" {
		t.Fatalf("builders %v %v", names, err)
	}

	b, err := ReadBuildxBuilder(dir, "Shared") // buildx lower-cases names
	if err != nil {
		t.Fatal(err)
	}
	ts, err := b.Targets()
	if err != nil || len(ts) != 1 {
		t.Fatalf("remote targets %v %v", ts, err)
	}
	want := TLSOptions{CACert: "/certs/ca.pem", Cert: "/certs/cert.pem", Key: "/certs/key.pem", ServerName: "buildkit.example.com"}
	if ts[0].Addr != "tcp://buildkit.example.com:1234" || ts[0].TLS != want {
		t.Errorf("remote target %+v", ts[0])
	}

	for name, addr := range map[string]string{"dc": "docker-container://buildx_buildkit_dc0", "other": "docker-container://buildx_buildkit_other0?context=laptop", "current": "docker-container://buildx_buildkit_dc0"} {
		b, err := ReadBuildxBuilder(dir, name)
		if err != nil {
			t.Fatal(err)
		}
		ts, err := b.Targets()
		if err != nil || ts[0].Addr != addr {
			t.Errorf("%s: %+v %v, want %s", name, ts, err, addr)
		}
		if _, err := ParseAddress(ts[0].Addr); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	b, _ = ReadBuildxBuilder(dir, "k8s")
	ts, err = b.Targets()
	if err != nil || ts[0].Kube == nil || *ts[0].Kube != (KubeDeployment{Name: "k8s0", Namespace: "builds"}) {
		t.Errorf("kubernetes target %+v %v", ts, err)
	}

	b, _ = ReadBuildxBuilder(dir, "desk")
	if _, err := b.Targets(); err == nil || failure.KindOf(err) != failure.KindInfra || !strings.Contains(err.Error(), "docker buildx create --name envbuild --driver docker-container") {
		t.Errorf("docker driver: %v", err)
	}

	_, err = ReadBuildxBuilder(dir, "nope")
	if err == nil || failure.KindOf(err) != failure.KindUser || !strings.Contains(err.Error(), "dc, desk, k8s, other, shared") {
		t.Errorf("missing builder: %v", err)
	}
	if _, err := ReadBuildxBuilder(dir, "../etc/passwd"); err == nil || failure.KindOf(err) != failure.KindUsage {
		t.Errorf("a path as a name: %v", err)
	}

	empty := t.TempDir()
	if _, err := ReadBuildxBuilder(empty, "current"); err == nil || !strings.Contains(err.Error(), "docker buildx use") || !strings.Contains(err.Error(), "none") {
		t.Errorf("no current builder: %v", err)
	}
}

func TestBuildxStoreDir(t *testing.T) {
	if d := BuildxStoreDir(map[string]string{"BUILDX_CONFIG": "/bx", "DOCKER_CONFIG": "/dc"}, "/home/u"); d != "/bx" {
		t.Error(d)
	}
	if d := BuildxStoreDir(map[string]string{"DOCKER_CONFIG": "/dc"}, "/home/u"); d != "/dc/buildx" {
		t.Error(d)
	}
	if d := BuildxStoreDir(nil, "/home/u"); d != "/home/u/.docker/buildx" {
		t.Error(d)
	}
}

func TestBuildxRemoteMissingTLSFile(t *testing.T) {
	dir := writeStore(t, map[string]string{
		"instances/shared": `{"Name":"shared","Driver":"remote","Nodes":[{"Name":"shared0","Endpoint":"tcp://127.0.0.1:1","DriverOpts":{"cacert":"/nonexistent/ca.pem"}}]}`,
	})
	_, err := connectBuilder(t.Context(), ConnectOptions{Builder: "shared", BuildxDir: dir})
	if err == nil || failure.KindOf(err) != failure.KindUser || !strings.Contains(err.Error(), "/nonexistent/ca.pem") || !strings.Contains(err.Error(), "driver options") {
		t.Errorf("a remote builder's missing CA file: %v", err)
	}
}
