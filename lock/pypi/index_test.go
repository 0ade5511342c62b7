package pypi

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/pypi/index"
)

func TestLockBehindBasicAuth(t *testing.T) {
	f := newFakeIndex(t, testProjects(t))
	f.user, f.pass = "alice", "s3cret-pw"
	tg := mustTarget(t, "3.11", "linux/amd64")

	pkgs, log, err := lockAt(t, f, tg, []string{"lib"}, func(r *Request) {
		r.Indexes = []index.Index{{Name: "private", URL: f.url("alice", "s3cret-pw")}}
	})
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if got, want := summary(pkgs), "lib 2.0"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if pkgs[0].Index != "private" || strings.Contains(pkgs[0].URL, "alice") || strings.Contains(pkgs[0].URL, "s3cret") {
		t.Errorf("entry %+v: want index \"private\" and a URL without credentials", pkgs[0])
	}
	if strings.Contains(log, "s3cret") {
		t.Errorf("the log shows the password:\n%s", log)
	}

	_, log, err = lockAt(t, f, tg, []string{"lib"}, func(r *Request) {
		r.Indexes = []index.Index{{Name: "private", URL: f.url("alice", "wrong-pw")}}
	})
	if err == nil {
		t.Fatal("Lock with a wrong password succeeded")
	}
	if !failure.IsInfra(err) {
		t.Errorf("wrong password: error kind %d, want infrastructure (4): %v", failure.KindOf(err), err)
	}
	if strings.Contains(err.Error(), "wrong-pw") || strings.Contains(log, "wrong-pw") {
		t.Errorf("the password is printed: %v\n%s", err, log)
	}
}

func TestLockIndexFailures(t *testing.T) {
	tg := mustTarget(t, "3.11", "linux/amd64")
	t.Run("500", func(t *testing.T) {
		f := newFakeIndex(t, testProjects(t))
		f.status = 500
		_, _, err := lockAt(t, f, tg, []string{"lib"}, nil)
		if err == nil || !failure.IsInfra(err) {
			t.Fatalf("got %v, want an infrastructure error", err)
		}
	})
	t.Run("hangs", func(t *testing.T) {
		f := newFakeIndex(t, testProjects(t))
		f.hang = time.Minute
		start := time.Now()
		_, _, err := lockAt(t, f, tg, []string{"lib"}, func(r *Request) { r.Timeout = 300 * time.Millisecond })
		t.Log(err)
		if err == nil || !failure.IsInfra(err) {
			t.Fatalf("got %v, want an infrastructure error", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("gave up after %v, want about the timeout", d)
		}
	})
	t.Run("a metadata file whose hash differs", func(t *testing.T) {
		p := testProjects(t)
		p["lib"][1].metadataHash = strings.Repeat("0", 64)
		f := newFakeIndex(t, p)
		_, _, err := lockAt(t, f, tg, []string{"lib>=2"}, nil)
		t.Log(err)
		if err == nil || !strings.Contains(err.Error(), "lib-2.0-py3-none-any.whl") {
			t.Fatalf("got %v, want an error naming the file whose metadata does not match", err)
		}
	})
	t.Run("metadata that contradicts the wheel", func(t *testing.T) {
		p := testProjects(t)
		p["lib"][1].metadataBody = metadataText("lib", "9.9")
		f := newFakeIndex(t, p)
		_, _, err := lockAt(t, f, tg, []string{"lib>=2"}, nil)
		t.Log(err)
		if err == nil || !strings.Contains(err.Error(), "9.9") {
			t.Fatalf("got %v, want an error about the contradicting version", err)
		}
	})
}

func TestLockHashesWhatTheIndexDoesNotHash(t *testing.T) {
	p := testProjects(t)
	d := p["lib"][1]
	d.noHash = true
	d.noMetadata = true
	f := newFakeIndex(t, p)
	pkgs, log, err := lockAt(t, f, mustTarget(t, "3.11", "linux/amd64"), []string{"lib>=2"}, nil)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if len(pkgs) != 1 || pkgs[0].Sha256 != sha(d.body) || pkgs[0].Size != int64(len(d.body)) {
		t.Errorf("got %+v, want sha256 %s and size %d", pkgs, sha(d.body), len(d.body))
	}
	if !strings.Contains(log, "lib-2.0-py3-none-any.whl") || !strings.Contains(log, "hash") {
		t.Errorf("the log does not say the file was downloaded to hash it:\n%s", log)
	}
}

func TestLockExcludeNewer(t *testing.T) {
	p := testProjects(t)
	p["lib"][1].uploaded = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	f := newFakeIndex(t, p)
	pkgs, _, err := lockAt(t, f, mustTarget(t, "3.11", "linux/amd64"), []string{"lib<3"}, func(r *Request) {
		r.ExcludeNewer = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	})
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if got, want := summary(pkgs), "lib 1.0"; got != want {
		t.Errorf("got %s, want %s (2.0 was uploaded after the cut-off)", got, want)
	}
}

func TestLockDirectReference(t *testing.T) {
	p := testProjects(t)
	direct := wheel(t, "direct-1.0-py3-none-any.whl", "Requires-Dist: lib<2")
	p["not-an-index-project"] = []*dist{direct}
	f := newFakeIndex(t, p)
	tg := mustTarget(t, "3.11", "linux/amd64")
	link := f.srv.URL + "/files/direct-1.0-py3-none-any.whl"

	pkgs, _, err := lockAt(t, f, tg, []string{"direct @ " + link + "#sha256=" + sha(direct.body)}, nil)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if got, want := summary(pkgs), "direct 1.0 [lib]; lib 1.0"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if pkgs[0].URL != link || pkgs[0].Sha256 != sha(direct.body) || !pkgs[0].Requested {
		t.Errorf("entry %+v: want URL %s and the wheel's sha256", pkgs[0], link)
	}

	_, _, err = lockAt(t, f, tg, []string{"direct @ " + link + "#sha256=" + strings.Repeat("a", 64)}, nil)
	if err == nil || failure.KindOf(err) != failure.KindUser || !strings.Contains(err.Error(), "but the URL says") {
		t.Errorf("a wrong #sha256: got %v, want a user error about the hash", err)
	}
	x86 := wheel(t, "direct-2.0-cp311-cp311-manylinux_2_17_x86_64.whl")
	p["not-an-index-project"] = append(p["not-an-index-project"], x86)
	_, _, err = lockAt(t, f, mustTarget(t, "3.11", "linux/arm64"), []string{"direct @ " + f.srv.URL + "/files/" + x86.filename}, nil)
	if err == nil || failure.KindOf(err) != failure.KindUser || !strings.Contains(err.Error(), "does not fit CPython 3.11.0 on linux/arm64 (glibc 2.28)") {
		t.Errorf("a wheel for another platform: got %v, want a user error naming the target", err)
	}
	_, _, err = lockAt(t, f, tg, []string{"other @ " + link}, nil)
	if err == nil || failure.KindOf(err) != failure.KindUser || !strings.Contains(err.Error(), `is of project "direct", not "other"`) {
		t.Errorf("a wheel of another project: got %v, want a user error", err)
	}
}

// Lock must stop its background fetches when it returns.
func TestLockCancelled(t *testing.T) {
	f := newFakeIndex(t, testProjects(t))
	f.hang = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := Lock(ctx, Request{Requirements: []string{"app"}, Target: mustTarget(t, "3.11", "linux/amd64"),
		Indexes: []index.Index{{Name: "pypi", URL: f.url("", "")}}, CacheDir: t.TempDir()})
	if err == nil {
		t.Fatal("Lock succeeded on a hanging index")
	}
}

// A second lock from the same cache works with the index gone (--offline).
func TestLockOffline(t *testing.T) {
	f := newFakeIndex(t, testProjects(t))
	cache := t.TempDir()
	tg := mustTarget(t, "3.12", "linux/arm64")
	first, _, err := lockAt(t, f, tg, []string{"app[opt]"}, func(r *Request) { r.CacheDir = cache })
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	f.srv.Close()
	second, log, err := lockAt(t, f, tg, []string{"app[opt]"}, func(r *Request) { r.CacheDir = cache; r.Offline = true })
	if err != nil {
		t.Fatalf("offline Lock: %v", err)
	}
	if a, b := summary(first), summary(second); a != b {
		t.Errorf("offline lock differs:\n%s\nvs\n%s", b, a)
	}
	if !strings.Contains(log, "locked 7 packages for CPython 3.12.0 on linux/arm64 (glibc 2.28)") {
		t.Errorf("the log does not sum up the lock:\n%s", log)
	}
	_, _, err = lockAt(t, f, tg, []string{"lib"}, func(r *Request) { r.CacheDir = t.TempDir(); r.Offline = true })
	if err == nil {
		t.Error("an offline lock with an empty cache succeeded")
	}
}
