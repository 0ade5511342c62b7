package spec

import "testing"

func TestPypiRequirement(t *testing.T) {
	for _, tc := range []struct{ name, version, want string }{
		{"pandas", "2.2.2", "pandas==2.2.2"},
		{"requests", ">=2.31", "requests>=2.31"},
		{"requests", "<3", "requests<3"},
		{"numpy", "!=1.0", "numpy!=1.0"},
		{"numpy", "~=1.26", "numpy~=1.26"},
		{"scikit-learn", "", "scikit-learn"},
		{"pkg", "@ https://example.com/pkg.whl", "pkg @ https://example.com/pkg.whl"},
		{"pkg", " 1.0 ", "pkg==1.0"},
	} {
		if got := PypiRequirement(tc.name, tc.version); got != tc.want {
			t.Errorf("PypiRequirement(%q, %q) = %q, want %q", tc.name, tc.version, got, tc.want)
		}
	}
}

func TestCondaSpec(t *testing.T) {
	for _, tc := range []struct{ name, version, want string }{
		{"numpy", "1.26", "numpy==1.26"},
		{"numpy", "=1.26", "numpy=1.26"},
		{"conda-forge::libgdal", ">=3.8", "conda-forge::libgdal>=3.8"},
		{"python", "", "python"},
		{"x", "<2", "x<2"},
		{"x", "!=2", "x!=2"},
		{"x", "~=2.1", "x~=2.1"},
	} {
		if got := CondaSpec(tc.name, tc.version); got != tc.want {
			t.Errorf("CondaSpec(%q, %q) = %q, want %q", tc.name, tc.version, got, tc.want)
		}
	}
}

func TestDigest(t *testing.T) {
	a := Spec{Python: "3.11", PyPI: PyPI{Requirements: []string{"b", "a"}, IndexURL: "https://u:secret@idx/simple"}}
	b := Spec{Python: "3.11", PyPI: PyPI{Requirements: []string{"a", " b"}, IndexURL: "https://idx/simple"}, Platforms: []string{"linux/amd64"}}
	if a.Digest() != b.Digest() {
		t.Errorf("order, whitespace, default platform or credentials changed the digest")
	}
	c := b
	c.PyPI.Requirements = []string{"a", "b==1"}
	if c.Digest() == b.Digest() {
		t.Errorf("a changed requirement kept the digest")
	}
	d := b
	d.Python = "3.12"
	if d.Digest() == b.Digest() {
		t.Errorf("a changed python kept the digest")
	}
}

// Teammates with their own credentials or token for a private conda
// channel have the same spec.
func TestDigestChannelSecrets(t *testing.T) {
	digest := func(ch string) string {
		s := Spec{Python: "3.11", Conda: Conda{Specs: []string{"numpy"}, Channels: []string{ch, "conda-forge"}}}
		return s.Digest()
	}
	want := digest("https://conda.example.com/team")
	for _, ch := range []string{"https://u:pw@conda.example.com/team", "https://conda.example.com/t/tk-1/team", "https://conda.example.com/t/tk-2/team"} {
		if digest(ch) != want {
			t.Errorf("channel %s changed the digest", ch)
		}
	}
	if digest("https://conda.example.com/other") == want {
		t.Errorf("another channel kept the digest")
	}
}
