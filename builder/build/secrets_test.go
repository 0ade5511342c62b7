package build

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/envbuild/envbuild/builder/plan"
	"github.com/envbuild/envbuild/frontends/spec"
)

// The credentials of a spec's conda channels become session secrets: basic
// auth and netrc as the host's Authorization header, a token as a secret of
// its own named by the channel's URL without it.
func TestBuildCredentialsChannels(t *testing.T) {
	home := t.TempDir()
	netrc := filepath.Join(home, "netrc")
	os.WriteFile(netrc, []byte("machine n.example login nu password np\n"), 0o600)
	env := map[string]string{"HOME": home, "NETRC": netrc, "PIP_CONFIG_FILE": os.DevNull}
	s := spec.Spec{Conda: spec.Conda{Specs: []string{"numpy"}, Channels: []string{
		"https://b.example/t/tk-abc/org/team", "https://u:p@a.example/team", "https://n.example/team", "conda-forge"}}}
	c, err := buildCredentials(s, env, true)
	if err != nil {
		t.Fatal(err)
	}
	id := plan.TokenSecretID("https://b.example/org/team")
	if string(c.secrets[id]) != "tk-abc" || len(c.tokenChannels) != 1 {
		t.Fatalf("token channel: secrets %v, channels %+v", c.secrets, c.tokenChannels)
	}
	if tc := c.tokenChannels[0]; tc.URL != "https://b.example/org/team" || tc.URL[:tc.At] != "https://b.example" || tc.SecretID != id {
		t.Errorf("token channel %+v", tc)
	}
	if string(c.secrets["HTTP_AUTH_HEADER_a.example"]) != "Basic dTpw" || string(c.secrets["HTTP_AUTH_HEADER_n.example"]) != "Basic bnU6bnA=" {
		t.Errorf("basic auth and netrc: %v", c.secrets)
	}
	if _, ok := c.secrets["HTTP_AUTH_HEADER_conda.anaconda.org"]; ok {
		t.Errorf("a public channel got credentials")
	}
	none, err := buildCredentials(s, env, false)
	if err != nil || len(none.tokenChannels) != 0 || len(none.secrets) != 0 {
		t.Errorf("without conda packages: %+v %v; want no channel secrets", none, err)
	}
}
