package tomlcheck

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"a = " + strings.Repeat("[", MaxNesting) + strings.Repeat("]", MaxNesting), ""},
		{"a = " + strings.Repeat("[", MaxNesting+1) + strings.Repeat("]", MaxNesting+1), "f.toml:1:37: arrays and tables nested more than 32 levels deep"},
		{"# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\na = \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[[[[[[[\"\nb = '''\n" + strings.Repeat("{", 40) + "'''\n", ""},
		{"a = \"\"\"\n\n\"\"\"\nb = " + strings.Repeat("{x=", 40), "f.toml:4:"},
	} {
		err := Check("f.toml", []byte(tc.src), 1<<20)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Check(%.60q) = %v, want %q", tc.src, err, tc.want)
		}
	}
	if err := Check("f.toml", make([]byte, 11), 10); err == nil || !strings.Contains(err.Error(), "at most 10") {
		t.Errorf("size: %v", err)
	}
}

// What Check lets through never takes the decoder deeper than it can go.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("a = [[1], {b = [2]}]\n[t]\nc = '''x'''\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if Check("f.toml", data, 1<<20) != nil {
			return
		}
		var v map[string]any
		_, _ = toml.Decode(string(data), &v)
	})
}
