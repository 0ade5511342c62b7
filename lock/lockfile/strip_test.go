package lockfile

import (
	"strings"
	"testing"

	"github.com/envbuild/envbuild/lock/target"
)

// A conda package's URL and channel are written without credentials or
// token, whatever the caller left in them.
func TestEncodeStripsChannelSecrets(t *testing.T) {
	f := &File{Envs: []Env{{Name: "default", SpecDigest: "sha256:x", Targets: []Target{{Target: target.Target{Platform: "linux/amd64", Python: "3.11.2", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.28"},
		Packages: []Package{{Name: "p", Version: "1", Source: SourceConda, Kind: KindConda, URL: "https://u:pw@h/t/tk-1/chan/noarch/p-1-0.conda", Filename: "p-1-0.conda", Sha256: strings.Repeat("a", 64),
			Channel: "https://h/t/tk-1/chan", Index: "https://u:pw@h/chan"}}}}}}}
	out := string(f.Marshal())
	if strings.Contains(out, "pw") || strings.Contains(out, "tk-1") || !strings.Contains(out, `url = "https://h/chan/noarch/p-1-0.conda"`) || !strings.Contains(out, `channel = "https://h/chan"`) {
		t.Errorf("encoded:\n%s", out)
	}
}
