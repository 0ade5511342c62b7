package baseimage

import (
	"context"
	"testing"
)

// walk builds a view from layers given top first, as Inspect walks them.
func walk(t *testing.T, layers ...[]entry) *view {
	t.Helper()
	v := newView()
	for _, l := range layers {
		if err := walkLayer(context.Background(), v, layer(t, l...)); err != nil {
			t.Fatal(err)
		}
		v.endLayer()
	}
	v.done = true
	return v
}

func TestViewMergesLayers(t *testing.T) {
	v := walk(t,
		// top
		[]entry{
			whiteout("etc/gone"),
			txt("etc/new", "top"),
			dir("opt/app"), txt("opt/app/.wh..wh..opq", ""), txt("opt/app/main.py", ""),
			txt("srv", "a file where a directory was"),
			sym("loop/a", "b"), sym("loop/b", "a"),
			txt("data/.wh.kept", ""), txt("data/kept", "the same layer's file stays"),
		},
		// bottom
		[]entry{
			txt("etc/gone", "deleted above"),
			txt("etc/new", "bottom"),
			txt("etc/kept", ""),
			txt("opt/app/old.py", ""),
			txt("srv/www/index.html", ""),
			sym("usr/lib64", "lib"), txt("usr/lib/libz.so.1", ""),
			txt("data/below", ""),
		},
	)
	tests := []struct {
		path   string
		exists bool
		layer  int
	}{
		{"etc/gone", false, 0},
		{"etc/new", true, 0},
		{"etc/kept", true, 1},
		{"opt/app/main.py", true, 0},
		{"opt/app/old.py", false, 0},
		{"srv/www/index.html", false, 0},
		{"srv", true, 0},
		{"usr/lib64/libz.so.1", true, 1},
		{"loop/a", false, 0},
		{"data/kept", true, 0},
		{"data/below", true, 1},
	}
	for _, tt := range tests {
		_, n, sure := v.resolve(tt.path)
		if !sure {
			t.Errorf("resolve(%q) not final after the last layer", tt.path)
		}
		if (n != nil) != tt.exists {
			t.Errorf("resolve(%q) exists = %v, want %v", tt.path, n != nil, tt.exists)
			continue
		}
		if n != nil && n.layer != tt.layer {
			t.Errorf("resolve(%q) from layer %d, want %d", tt.path, n.layer, tt.layer)
		}
	}
	if names, _ := v.list("opt/app"); len(names) != 1 || names[0] != "main.py" {
		t.Errorf("list(opt/app) = %q, want [main.py]", names)
	}
}

func TestViewFinality(t *testing.T) {
	v := newView()
	if err := walkLayer(context.Background(), v, layer(t,
		whiteout("usr/bin/python3"), txt("usr/bin/python3.12", ""), sym("bin", "usr/bin"))); err != nil {
		t.Fatal(err)
	}
	v.endLayer()
	tests := []struct {
		path   string
		exists bool
		sure   bool
	}{
		{"bin/python3.12", true, true},   // found: nothing below can change it
		{"usr/bin/python3", false, true}, // whited out above
		{"usr/bin/python3.11", false, false},
		{"bin/python3.11", false, false},
	}
	for _, tt := range tests {
		_, n, sure := v.resolve(tt.path)
		if (n != nil) != tt.exists || sure != tt.sure {
			t.Errorf("resolve(%q) = exists %v sure %v, want %v %v", tt.path, n != nil, sure, tt.exists, tt.sure)
		}
	}
}
