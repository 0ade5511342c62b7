package envtoml

import (
	"strings"
	"testing"
)

// Arrays nested a million levels deep are refused before the TOML decoder
// sees them (it recurses once per level), with the position.
func TestDeepTOMLIsAnError(t *testing.T) {
	for _, src := range []string{
		"platforms = " + strings.Repeat("[", 400_000) + strings.Repeat("]", 400_000) + "\n",
		"[pypi]\npackages = " + strings.Repeat("{ a = ", 100_000) + "1" + strings.Repeat("}", 100_000) + "\n",
	} {
		_, err := Parse("envbuild.toml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), "nested more than") || !strings.HasPrefix(err.Error(), "envbuild.toml:") {
			t.Errorf("error %.200v", err)
		}
	}
	// Brackets inside strings and comments do not count.
	src := "python = \"3.11\" # " + strings.Repeat("[", 100) + "\n[pypi]\npackages = { six = \"" + strings.Repeat("(", 100) + "\" }\n"
	if _, err := Parse("envbuild.toml", []byte(src)); err != nil && strings.Contains(err.Error(), "levels deep") && !strings.Contains(err.Error(), "[pypi]") {
		t.Errorf("brackets in a comment or string counted: %v", err)
	}
	// A marker nested deeper than the limit is an error too.
	deep := "[pypi]\npackages = { six = \">=1; " + strings.Repeat("(", 200_000) + "python_version>'3'" + strings.Repeat(")", 200_000) + "\" }\n"
	if _, err := Parse("envbuild.toml", []byte(deep)); err == nil || len(err.Error()) > 2000 {
		t.Errorf("deep marker: %.300v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"python = \"3.11\"\nbase = \"ml/base:1\"\nplatforms = [\"linux/amd64\"]\n[pypi]\npackages = { pandas = \"2.2.2\", requests = \">=2.31\" }\n[conda]\npackages = { numpy = \"1.26\" }\nchannels = [\"conda-forge\"]\n",
		"[envs.a.pypi]\npackages = { six = \"\" }\n[envs.b]\npython = \"3.12\"\n",
		"s = '''\n[[[\n'''\nx = \"\"\"a\\\"\"\"\" # {{\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		specs, err := Parse("envbuild.toml", data)
		if err != nil {
			_ = err.Error()
			return
		}
		for _, s := range specs {
			_ = s.Digest()
		}
	})
}
