package lockfile

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/lock/target"
)

// A lock target converts to its on-disk form and back unchanged, and what
// is read from disk is written back byte for byte.
func TestTargetEncodingRoundTrips(t *testing.T) {
	for _, lt := range []Target{
		{Target: target.Target{Platform: "linux/amd64", Python: "3.11.2", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36", Base: "r/b@sha256:00", Interpreter: "/usr/bin/python3.11"}, PythonSource: PythonFromBase},
		{Target: target.Target{Platform: "linux/arm64", Python: "3.13.1", Implementation: "cpython", FreeThreaded: true, Libc: "musl", LibcVersion: "1.2"}, PythonSource: PythonFromConda,
			Packages: []Package{{Name: "six", Version: "1.16.0", Source: SourcePyPI, Kind: KindWheel, Sha256: strings.Repeat("a", 64)}}},
		{Target: target.Target{Platform: "linux/amd64", Python: "3.11.0"}},
	} {
		d := encodeTarget(lt)
		back, err := decodeTarget(d)
		if err != nil || !reflect.DeepEqual(back, lt) {
			t.Errorf("%+v reads back as %+v, %v", lt, back, err)
		}
		js, err := json.Marshal(lt)
		var fromJSON Target
		if err != nil || json.Unmarshal(js, &fromJSON) != nil || !reflect.DeepEqual(fromJSON, lt) {
			t.Errorf("%+v reads back from JSON %s as %+v", lt, js, fromJSON)
		}
		if again := encodeTarget(back); !reflect.DeepEqual(again, d) {
			t.Errorf("%+v is written as %+v, then %+v", lt, d, again)
		}
	}
	if d := encodeTarget(Target{Target: target.Target{Libc: "glibc", LibcVersion: "2.36"}}); d.Libc != "glibc 2.36" {
		t.Errorf("libc written as %q", d.Libc)
	}
	for _, bad := range []string{"glibc", "uclibc 1.0", " glibc 2.36", "glibc ", "glibc  2.36", "glibc 2.36 x"} {
		if got, err := decodeTarget(diskTarget{Libc: bad}); err == nil {
			t.Errorf("libc %q read as %+v, want an error", bad, got)
		}
	}
}

func TestParseRefusesABadLibc(t *testing.T) {
	src := "lock-version = 1\n[[env]]\nname=\"a\"\nspec-digest=\"x\"\n[[env.target]]\nplatform=\"linux/amd64\"\npython=\"3.11.0\"\nimplementation=\"cpython\"\nlibc=\"uclibc 1.0\"\n"
	if _, err := Parse("envbuild.lock", []byte(src)); err == nil || !strings.Contains(err.Error(), `"uclibc 1.0"`) {
		t.Errorf("error %v", err)
	}
}
