package tags

import "testing"

func FuzzParseWheelFilename(f *testing.F) {
	for _, s := range []string{
		"numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
		"foo-1.0-1000abc-py2.py3-none-any.whl", "foo_bár-1.0-py3-none-any.whl",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, fn string) {
		w, err := ParseWheelFilename(fn)
		if err != nil {
			return
		}
		if len(w.Tags) == 0 || w.Name == "" {
			t.Fatalf("ParseWheelFilename(%q) = %+v: no tags or no name", fn, w)
		}
		for _, tag := range w.Tags {
			if tag.Interpreter == "" || tag.ABI == "" || tag.Platform == "" {
				t.Fatalf("ParseWheelFilename(%q) gave an empty tag part: %+v", fn, tag)
			}
		}
		cp311.Rank(w)
	})
}
