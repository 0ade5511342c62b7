package lock

import (
	"context"
	"reflect"
	"testing"

	"github.com/envbuild/envbuild/frontends/pylock"
	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/frontends/uvlock"
	"github.com/envbuild/envbuild/lock/export"
	"github.com/envbuild/envbuild/lock/target"
)

// An exported pylock.toml, read back, gives the same lock.
func TestPylockRoundTrip(t *testing.T) {
	r, err := uvlock.Load("../frontends/uvlock/testdata/uv.lock", []string{"socks"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	targets := []target.Target{flagTarget(t, "3.10", "linux/amd64"), flagTarget(t, "3.10", "linux/arm64")}
	first, err := Env(context.Background(), Request{Spec: spec.Spec{Name: "default", Resolved: r}, Targets: targets})
	if err != nil {
		t.Fatal(err)
	}
	out, err := export.Pylock(first, first.Targets)
	if err != nil {
		t.Fatal(err)
	}
	back, err := pylock.Parse(out, "pylock.toml")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	second, err := Env(context.Background(), Request{Spec: spec.Spec{Name: "default", Resolved: back}, Targets: targets})
	if err != nil {
		t.Fatal(err)
	}
	for i := range first.Targets {
		if !reflect.DeepEqual(first.Targets[i], second.Targets[i]) {
			t.Errorf("%s:\nfirst  %+v\nsecond %+v", first.Targets[i].Platform, first.Targets[i].Packages, second.Targets[i].Packages)
		}
	}
}
