package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envbuild/envbuild/integration/condachannel"
	"github.com/envbuild/envbuild/integration/testbed"
	"github.com/envbuild/envbuild/lock/lockfile"
)

// A private conda channel, reached with an anaconda-style token in its
// URL (/t/<token>/) and with HTTP basic auth: the lock is made and the
// packages fetched inside BuildKit with them (the token by the installer
// from a session secret, the password by BuildKit's HTTP source), and the
// secret is in no lock, output, image config or layer. A teammate with
// another token gets the same image; so does the basic-auth build.
func TestPrivateCondaChannel(t *testing.T) {
	bed := testbed.Require(t)
	for _, tool := range []string{"bzip2"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not on PATH: the test writes .tar.bz2 packages with it", tool)
		}
	}
	const user, password = "condauser", "Pr1vate-Channel-Pass"
	const token, otherToken = "tk-5ecret0token0a1b2c3", "tk-5ecret0token0d4e5f6"
	chanDir := t.TempDir()
	// A package of this run's own: BuildKit has never fetched its bytes,
	// so each build below downloads it from the channel (the others may
	// come from BuildKit's cache of an earlier run).
	runID := fmt.Sprint(time.Now().UnixNano())
	private := condachannel.Package{Name: "envbuild-private", Version: "1.0", Build: "h_0", Subdir: "noarch", Format: "conda",
		Files: []condachannel.File{{Path: "share/envbuild-private/run", Data: []byte(runID + "\n")}}}
	if err := condachannel.Write(chanDir, []condachannel.Package{repackagedPython(t, bed.Base, "x86_64"), helloPackage(), sixPackage(), private}); err != nil {
		t.Fatal(err)
	}
	ch := condachannel.ServePrivate(chanDir, user, password, token, otherToken)
	defer ch.Close()
	host := strings.TrimPrefix(ch.URL, "http://")
	repo := fmt.Sprintf("%s/envs/privconda-%s", bed.Registry, runID)
	secrets := []string{token, otherToken, password}

	build := func(t *testing.T, channel, repo string) (result, string) {
		t.Helper()
		dir := t.TempDir()
		r := envbuild(t, dir, nil, "build", "--json", "--progress", "plain", "--conda", "envbuild-hello>=1", "--conda", "envbuild-private", "--channel", channel, "--base", bed.Base, "--registry", repo)
		if r.code != 0 {
			t.Fatalf("build from the private channel failed with exit %d:\n%s", r.code, tail(r.stderr, 60))
		}
		for _, s := range secrets {
			if strings.Contains(r.stdout+r.stderr, s) {
				t.Errorf("a secret of the channel (%.6s…) is in envbuild's output", s)
			}
		}
		var res result
		if err := jsonUnmarshal(r.stdout, &res); err != nil {
			t.Fatal(err)
		}
		lockPath := filepath.Join(dir, "envbuild.lock")
		data, _ := os.ReadFile(lockPath)
		for _, s := range append(secrets, "/t/") {
			if strings.Contains(string(data), s) {
				t.Errorf("the lock holds %.6s…:\n%s", s, data)
			}
		}
		lf, err := lockfile.Read(lockPath)
		if err != nil || lf == nil {
			t.Fatalf("reading the lock: %v", err)
		}
		for _, p := range lf.Envs[0].Targets[0].Packages {
			if p.Source == lockfile.SourceConda && (p.Channel != "http://"+host || !strings.HasPrefix(p.URL, "http://"+host+"/")) {
				t.Errorf("locked %s: channel %q, url %q; want the channel's URL without credentials", p.Name, p.Channel, p.URL)
			}
		}
		return res, string(data)
	}
	noSecretInImage := func(t *testing.T, ref string) {
		t.Helper()
		img := image(t, ref)
		cfg, err := img.RawConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		ls, _ := img.Layers()
		blobs := [][]byte{cfg}
		for _, l := range ls {
			rc, err := l.Uncompressed()
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(rc)
			rc.Close()
			blobs = append(blobs, data)
		}
		for i, b := range blobs {
			for _, s := range secrets {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("a secret of the channel (%.6s…) is in blob %d of %s (0: the config)", s, i, ref)
				}
			}
		}
	}

	tok, _ := build(t, "http://"+host+"/t/"+token, repo+"-token")
	if ch.Count("token") == 0 {
		t.Errorf("nothing was fetched with the token: %v", ch.Served)
	}
	noSecretInImage(t, tok.Image)
	out, errOut, code, err := bed.Run(context.Background(), tok.Image, "linux/amd64", []string{"envbuild-hello"}, nil)
	if err != nil || code != 0 || !strings.Contains(string(out), "hello from envbuild_hello") {
		t.Errorf("envbuild-hello from the private channel: %v exit %d %q %q", err, code, out, errOut)
	}

	// A teammate with another token: the same environment, already built.
	mate, _ := build(t, "http://"+host+"/t/"+otherToken, repo+"-token")
	if !mate.Cached || mate.Digest != tok.Digest || mate.EnvID != tok.EnvID {
		t.Errorf("another token: cached %v, digest %s env %s; want the first build's %s %s", mate.Cached, mate.Digest, mate.EnvID, tok.Digest, tok.EnvID)
	}

	// Basic auth, into another repository so that BuildKit fetches again.
	basic, _ := build(t, "http://"+user+":"+password+"@"+host, repo+"-basic")
	if ch.Count("basic") == 0 {
		t.Errorf("nothing was fetched with basic auth: %v", ch.Served)
	}
	noSecretInImage(t, basic.Image)
	if basic.Cached || basic.EnvID != tok.EnvID || basic.Digest != tok.Digest {
		t.Errorf("basic auth: cached %v, digest %s env %s; want a fresh build of the token build's image %s %s", basic.Cached, basic.Digest, basic.EnvID, tok.Digest, tok.EnvID)
	}

	// Refused credentials: a clear error naming the channel, no secret.
	dir := t.TempDir()
	r := envbuild(t, dir, nil, "lock", "--conda", "envbuild-hello", "--channel", "http://"+user+":wrong-"+password+"@"+host, "--python", "3.11")
	if r.code != 4 || !strings.Contains(r.stderr, "http://"+host) || !strings.Contains(r.stderr, "401") || strings.Contains(r.stderr, password) {
		t.Errorf("wrong password: exit %d, stderr %q; want exit 4 naming the channel and the 401, without the password", r.code, r.stderr)
	}
	r = envbuild(t, dir, nil, "lock", "--conda", "envbuild-hello", "--channel", "http://"+host+"/t/tk-wrong0token", "--python", "3.11")
	if r.code != 4 || !strings.Contains(r.stderr, "token") || !strings.Contains(r.stderr, "403") || strings.Contains(r.stderr, "tk-wrong0token") {
		t.Errorf("wrong token: exit %d, stderr %q; want exit 4 naming the refused token without it", r.code, r.stderr)
	}
}
