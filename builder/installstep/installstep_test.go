package installstep

import (
	"reflect"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/builder/layout"
)

func TestRoundTrip(t *testing.T) {
	sha := strings.Repeat("a", 64)
	steps := []Step{
		{Kind: Wheel, Src: "/in/0/six-1.16.0-py2.py3-none-any.whl", Root: "/out", SHA256: sha, Python: "3.11"},
		{Kind: Wheel, Src: "/in/1/x.whl", Root: "/out", SHA256: sha, Python: "3.13", FreeThreaded: true},
		{Kind: Wheel, Src: "/in/0/torch.whl", Root: "/out", SHA256: sha, Python: "3.11", Part: 0, Parts: 4},
		{Kind: Wheel, Src: "/in/0/torch.whl", Root: "/out", SHA256: sha, Python: "3.11", Part: 3, Parts: 4},
		{Kind: Conda, Src: "/in/0/python-3.11.2-h_0.conda", Root: "/out", SHA256: sha, Python: "3.11"},
		{Kind: Conda, Src: "/in/0/demo.conda", Root: "/r", Filename: "demo.conda"},
		{Kind: WheelInDir, Dir: "/in/2", Root: "/out", Python: "3.12", FreeThreaded: true},
		{Kind: Compile, Root: "/out", PythonExe: "/usr/bin/python3.11"},
		{Kind: Normalize, Root: "/out"},
		{Kind: LayerMeta, Root: "/out", Out: "/.envbuild-meta/k.json"},
		{Kind: Fetch, Root: "/fetched", URL: "https://conda.example.com/org/chan/noarch/x.conda", Secret: "/run/secrets/t", TokenAt: 29, SHA256: sha, Filename: "x.conda"},
		{Kind: EnvMeta, Root: "/out", JSON: "/in/env.json", Packages: "/packages"},
	}
	for _, s := range steps {
		got, err := Parse(s.Args())
		if err != nil {
			t.Errorf("Parse(%q): %v", s.Args(), err)
			continue
		}
		if !reflect.DeepEqual(got, s) {
			t.Errorf("Parse(%q) = %+v, want %+v", s.Args(), got, s)
		}
	}
	all, err := ParseAll(Encode(steps))
	if err != nil || !reflect.DeepEqual(all, steps) {
		t.Errorf("ParseAll(Encode(steps)) = %+v, %v; want the steps", all, err)
	}
}

// The command lines the planner has always written: their bytes enter
// BuildKit's cache keys, so the encoding must not drift.
func TestEncodingIsStable(t *testing.T) {
	for _, c := range []struct {
		step Step
		want string
	}{
		{Step{Kind: Wheel, Src: "/in/0/a.whl", Root: "/out", SHA256: "ab", Python: "3.13", FreeThreaded: true}, "wheel --src /in/0/a.whl --root /out --sha256 ab --python 3.13 --free-threaded"},
		{Step{Kind: Wheel, Src: "/in/0/a.whl", Root: "/out", SHA256: "ab", Python: "3.11", Part: 1, Parts: 3}, "wheel --src /in/0/a.whl --root /out --sha256 ab --python 3.11 --part 1 --parts 3"},
		{Step{Kind: Conda, Src: "/in/0/a.conda", Root: "/out", SHA256: "ab", Python: "3.13t"}, "conda --src /in/0/a.conda --root /out --sha256 ab --python 3.13t"},
		{Step{Kind: WheelInDir, Dir: "/in/0", Root: "/out", Python: "3.11"}, "wheel-in-dir --dir /in/0 --root /out --python 3.11"},
		{Step{Kind: Compile, Root: "/out", PythonExe: "/opt/envbuild/env/bin/python"}, "compile --root /out --python-exe /opt/envbuild/env/bin/python"},
		{Step{Kind: Normalize, Root: "/out"}, "normalize --root /out"},
		{Step{Kind: LayerMeta, Root: "/out", Out: "/m/k.json"}, "layermeta --root /out --out /m/k.json"},
	} {
		if got := c.step.String(); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
	if got := strings.Join(Encode([]Step{{Kind: Normalize, Root: "/a"}, {Kind: Normalize, Root: "/b"}}), " "); got != "normalize --root /a --- normalize --root /b" {
		t.Errorf("Encode: %s", got)
	}
	if SourceDateEpoch != "315532800" || layout.Epoch != 315532800 {
		t.Errorf("SOURCE_DATE_EPOCH %s, layout.Epoch %d; want 315532800", SourceDateEpoch, layout.Epoch)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "no subcommand"},
		{[]string{"pip"}, `unknown subcommand "pip"`},
		{[]string{"wheel", "--root", "/out"}, "wheel: --src FILE is required"},
		{[]string{"conda", "--src", "x"}, "conda: --root DIR is required"},
		{[]string{"wheel-in-dir", "--root", "/out"}, "wheel-in-dir: --dir DIR is required"},
		{[]string{"compile", "--root", "/out"}, "compile: --python-exe PATH is required"},
		{[]string{"layermeta", "--root", "/out"}, "layermeta: --out FILE is required"},
		{[]string{"envmeta", "--root", "/out"}, "envmeta: --json FILE is required"},
		{[]string{"normalize", "--root", "/out", "--python", "3.11"}, "flag provided but not defined: -python"},
		{[]string{"normalize", "--root", "/out", "extra"}, `unexpected argument "extra"`},
		{[]string{"wheel", "--src", "x", "--root", "/out", "--part", "2", "--parts", "2"}, "wheel: --part 2 of --parts 2: want 0 <= part < parts <= 16"},
		{[]string{"wheel", "--src", "x", "--root", "/out", "--part", "1"}, "wheel: --part 1 of --parts 0"},
		{[]string{"wheel", "--src", "x", "--root", "/out", "--part", "-1", "--parts", "2"}, "--part -1 of --parts 2"},
		{[]string{"wheel", "--src", "x", "--root", "/out", "--parts", "17"}, "--part 0 of --parts 17"},
		{[]string{"conda", "--src", "x", "--root", "/out", "--part", "0", "--parts", "2"}, "flag provided but not defined: -part"},
	} {
		_, err := Parse(c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q): %v, want %q", c.args, err, c.want)
		}
	}
	if _, err := ParseAll([]string{"normalize", "--root", "/a", Separator}); err != ErrEmptyStep {
		t.Errorf("a trailing separator: %v, want ErrEmptyStep", err)
	}
}
