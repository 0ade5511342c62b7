package plan

import (
	"context"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"

	"github.com/envbuild/envbuild/builder/installstep"
	"github.com/envbuild/envbuild/lock/lockfile"
)

// The packages of a token channel are fetched by the installer with the
// token as a session secret: no HTTP source names them, each fetch step
// mounts the channel's secret and parses as a fetch step of the lock's
// URL; a PyPI wheel is still BuildKit's HTTP source. Nothing of the LLB
// can depend on the token: it is not an input of Lower.
func TestLowerTokenChannel(t *testing.T) {
	p := makePlan(t, condaTarget(), "linux/amd64")
	tc := TokenChannel{URL: "http://ch", At: len("http://ch"), SecretID: TokenSecretID("http://ch")}
	if !strings.HasPrefix(tc.SecretID, "envbuild-conda-token-") || tc.SecretID != TokenSecretID("http://ch") {
		t.Errorf("secret id %q: want a stable name from the URL", tc.SecretID)
	}
	lw, err := Lower(p, p.Platforms[0], LowerOptions{Installer: llb.Scratch(), InstallerName: "envbuild", HostPlatform: "linux/amd64", TokenChannels: []TokenChannel{tc}})
	if err != nil {
		t.Fatal(err)
	}
	def, err := lw.Layers.Marshal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fetched := map[string]bool{}
	var sources []string
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.Unmarshal(dt); err != nil {
			t.Fatal(err)
		}
		if s := op.GetSource(); s != nil {
			sources = append(sources, s.Identifier)
		}
		e := op.GetExec()
		if e == nil || len(e.Meta.Args) < 3 || e.Meta.Args[2] != string(installstep.Fetch) {
			continue
		}
		steps, err := installstep.ParseAll(e.Meta.Args[2:])
		if err != nil || len(steps) != 1 {
			t.Fatalf("fetch step %q: %v", e.Meta.Args, err)
		}
		st := steps[0]
		if st.URL[:st.TokenAt] != "http://ch" {
			t.Errorf("fetch of %s puts the token at %d", st.URL, st.TokenAt)
		}
		secret := false
		for _, m := range e.Mounts {
			if m.MountType == pb.MountType_SECRET && m.SecretOpt.ID == tc.SecretID && m.Dest == st.Secret {
				secret = true
			}
		}
		if !secret {
			t.Errorf("fetch of %s mounts no secret %s at %s", st.URL, tc.SecretID, st.Secret)
		}
		fetched[st.URL] = true
	}
	for _, pk := range condaTarget().Packages {
		want := pk.Source == lockfile.SourceConda
		if fetched[pk.URL] != want {
			t.Errorf("%s: fetched by the installer %v, want %v", pk.URL, fetched[pk.URL], want)
		}
		http := false
		for _, s := range sources {
			if s == pk.URL {
				http = true
			}
		}
		if http == want {
			t.Errorf("%s: BuildKit's HTTP source %v, want %v (sources %q)", pk.URL, http, !want, sources)
		}
	}
}
