package metaflow

import (
	"reflect"
	"testing"
)

func TestParseWith(t *testing.T) {
	for _, tc := range []struct {
		in    string
		deco  string
		image string
		attrs map[string]any
	}{
		{"kubernetes", "kubernetes", "", map[string]any{}},
		{"kubernetes:cpu=4,image=IMG", "kubernetes", "IMG", map[string]any{"cpu": int64(4), "image": "IMG"}},
		{"kubernetes:image=reg.example.com:5000/a/b:1,cpu=0.5", "kubernetes", "reg.example.com:5000/a/b:1", map[string]any{"cpu": 0.5, "image": "reg.example.com:5000/a/b:1"}},
		{`batch:image="x/y:1",queue=q`, "batch", "x/y:1", map[string]any{"image": "x/y:1", "queue": "q"}},
		{`kubernetes:image=\"x/y\"`, "kubernetes", "x/y", map[string]any{"image": "x/y"}},
		{"kubernetes:image=null", "kubernetes", "", map[string]any{"image": nil}},
		{"kubernetes:image=a,b", "kubernetes", "a,b", map[string]any{"image": "a,b"}},
	} {
		w, err := ParseWith(tc.in)
		if err != nil {
			t.Errorf("ParseWith(%q): %v", tc.in, err)
			continue
		}
		img, err := w.Image()
		if w.Decorator != tc.deco || img != tc.image || err != nil || !reflect.DeepEqual(w.Attrs, tc.attrs) {
			t.Errorf("ParseWith(%q) = %s %v (image %q, %v); want %s %v (image %q)", tc.in, w.Decorator, w.Attrs, img, err, tc.deco, tc.attrs, tc.image)
		}
	}
	for _, bad := range []string{"", ":image=x", "kubernetes:cpu"} {
		if _, err := ParseWith(bad); err == nil {
			t.Errorf("ParseWith(%q) accepted", bad)
		}
	}
	if w, _ := ParseWith("kubernetes:image=4"); w.Compute() {
		if _, err := w.Image(); err == nil {
			t.Errorf("image=4 (a number, to Metaflow) accepted as an image")
		}
	}
}
