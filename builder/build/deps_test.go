package build

import (
	"os/exec"
	"strings"
	"testing"
)

// The builder builds one environment from its spec and lock: it depends
// on the spec model (frontends/spec, which the lock types carry) and on
// no frontend that reads a user format. Flows are built above it
// (package flows).
func TestBuilderImportsNoFrontend(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to list the builder's dependencies")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/envbuild/envbuild/builder/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/envbuild/envbuild/frontends/") && p != "github.com/envbuild/envbuild/frontends/spec" {
			t.Errorf("builder/... depends on %s", p)
		}
	}
}
