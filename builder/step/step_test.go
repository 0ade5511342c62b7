package step

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/builder/installstep"
)

func TestStepsRunInOrderAndStopAtTheFirstFailure(t *testing.T) {
	root := t.TempDir()
	var out, errb bytes.Buffer
	// normalize succeeds on an empty root; an unknown installer step fails
	// and the step after it must not run.
	rc := Main([]string{"normalize", "--root", root, installstep.Separator, "no-such-step", installstep.Separator, "normalize", "--root", "/nonexistent-root"}, &out, &errb)
	if rc == 0 {
		t.Fatalf("an unknown step succeeded")
	}
	if strings.Contains(errb.String(), "nonexistent-root") {
		t.Errorf("the step after a failure ran: %q", errb.String())
	}
	if rc := Main([]string{"normalize", "--root", root, installstep.Separator}, &out, &errb); rc != 2 {
		t.Errorf("an empty step: exit %d, want 2", rc)
	}
	if rc := Main([]string{"wheel-in-dir", "--dir", t.TempDir(), "--root", root}, &out, &errb); rc != 1 || !strings.Contains(errb.String(), "gave 0 wheels") {
		t.Errorf("wheel-in-dir on an empty directory: exit %d, %q", rc, errb.String())
	}
	// A step failing when it runs stops the steps after it.
	meta := filepath.Join(root, "meta.json")
	if rc := Main([]string{"wheel-in-dir", "--dir", t.TempDir(), "--root", root, installstep.Separator, "layermeta", "--root", root, "--out", meta}, &out, &errb); rc != 1 {
		t.Errorf("a failing first step: exit %d, want 1", rc)
	}
	if _, err := os.Stat(meta); err == nil {
		t.Errorf("the step after a failing one ran")
	}
	if rc := Main([]string{"layermeta", "--root", root, "--out", meta}, &out, &errb); rc != 0 {
		t.Errorf("layermeta alone: exit %d, %q", rc, errb.String())
	}
}
