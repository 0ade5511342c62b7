package mapfile

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

// A mapped file reads as the file, before and after pages are released,
// and Release moves its start only by whole steps (or to the end).
func TestOpenAndRelease(t *testing.T) {
	want := make([]byte, 3*ReleaseStep+12345)
	rand.New(rand.NewSource(1)).Read(want)
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, want, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !bytes.Equal(m.Data, want) {
		t.Fatal("the mapped bytes are not the file's")
	}
	next := m.Release(0, 1000)
	if next != 0 {
		t.Errorf("Release of less than a step moved to %d", next)
	}
	next = m.Release(next, 2*ReleaseStep+7)
	if m.mapped && (next == 0 || next > 2*ReleaseStep+7 || next%os.Getpagesize() != 0) {
		t.Errorf("Release moved to %d", next)
	}
	m.Release(next, len(m.Data))
	if !bytes.Equal(m.Data, want) {
		t.Fatal("the bytes read after Release are not the file's")
	}
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, nil, 0o644)
	e, err := Open(empty)
	if err != nil || len(e.Data) != 0 || e.Close() != nil {
		t.Errorf("an empty file: %v, %d bytes", err, len(e.Data))
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing")); !os.IsNotExist(err) {
		t.Errorf("a missing file: %v", err)
	}
}
