package installer

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/envbuild/envbuild/builder/layout"
)

// What WriteLayerMetaFile writes of a layer, ParseLayerMeta reads back.
func TestLayerMetaFileParses(t *testing.T) {
	root := t.TempDir()
	site := filepath.Join(root, filepath.FromSlash(layout.Prefix), "lib", "python3.11", "site-packages", "six-1.16.0.dist-info")
	cm := filepath.Join(root, filepath.FromSlash(layout.CondaMeta))
	for _, d := range []string{site, cm} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(cm, "libz-1.3-h0.json"), []byte(`{"name":"libz"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "meta.json")
	if err := WriteLayerMetaFile(root, out); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseLayerMeta(data)
	want, _ := ReadLayerMeta(root)
	if err != nil || !reflect.DeepEqual(got, *want) || len(got.DistInfo) != 1 || len(got.CondaMeta) != 1 {
		t.Errorf("ParseLayerMeta = %+v, %v; want %+v", got, err, *want)
	}
	if _, err := ParseLayerMeta([]byte("{")); err == nil {
		t.Errorf("ParseLayerMeta accepted a truncated record")
	}
}
