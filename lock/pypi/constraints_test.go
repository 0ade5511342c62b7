package pypi

import (
	"strings"
	"testing"
)

// Constraints limit a package in the solution and add none, as pip's -c.
func TestLockConstraints(t *testing.T) {
	f := newFakeIndex(t, testProjects(t))
	tg := mustTarget(t, "3.11", "linux/amd64")
	pkgs, _, err := lockAt(t, f, tg, []string{"app"}, func(r *Request) {
		r.Constraints = []string{"lib<2", "optdep==1.0", "newpy<2 ; python_version >= '3.12'"}
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summary(pkgs), "app 1.0 [fancy lib]; colorlib 0.5; fancy 1.0 [colorlib]; lib 1.0"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	_, _, err = lockAt(t, f, tg, []string{"lib>=2"}, func(r *Request) { r.Constraints = []string{"lib<2"} })
	if err == nil || !strings.Contains(err.Error(), "no set of packages") {
		t.Errorf("conflicting constraint: %v", err)
	}
	_, _, err = lockAt(t, f, tg, []string{"lib"}, func(r *Request) { r.Constraints = []string{"lib @ https://x/lib-1.0-py3-none-any.whl"} })
	if err == nil || !strings.Contains(err.Error(), "direct reference") {
		t.Errorf("URL constraint: %v", err)
	}
}
