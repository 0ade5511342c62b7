package metaflow

import (
	"strings"
	"testing"
)

// Python that flow files contain around their decorators must not trip the
// static reader; each case was once a false error.
func TestStaticAcceptsPython(t *testing.T) {
	tests := []struct{ name, code string }{
		{"byte order mark", "\ufeff# coding: utf-8\n"},
		{"unicode identifiers", "ñame = 1\nיִ = 2\n"},
		{"raw f-string with escaped braces", "RE = rf'({X})(\\{{)'\n"},
		{"f-string with nested quotes and format spec", "S = f\"{d['a']:>{w}} {x!r} {{literal}}\"\n"},
		{"lambda in decorator arguments", "@pytest.mark.parametrize('x', [1], ids=lambda v: v.name)\ndef test(x): pass\n"},
		{"unary operators", "@deco(~flag, not other, -1, +2.5e-3)\ndef f(): pass\n"},
		{"line continuation and brackets across lines", "x = 1 + \\\n    2\ny = [\n  1,\n\n  2]\n"},
		{"triple-quoted strings with quotes inside", "D = '''it's \"quoted\"'''\nE = \"\"\"a\n\"b\"\n\"\"\"\n"},
		{"slices and comprehensions", "@d(x[1:2], {k: v for k, v in y.items()}, [i for i in z if i])\ndef f(): pass\n"},
		{"walrus and async", "async def g():\n    if (n := 3) > 2:\n        await h()\n"},
		{"metaclass keyword", "class M(Base, metaclass=Meta):\n    pass\n"},
		{"CRLF line endings", "x = 1\r\ny = {\r\n 'a': 2}\r\n"},
	}
	const flow = "class F(FlowSpec):\n    @pypi(packages={'six': ''})\n    @step\n    def start(self): pass\n"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := LoadStatic(writeFlow(t, tt.code+flow))
			if err != nil {
				t.Fatalf("LoadStatic: %v", err)
			}
			if len(f.Steps) != 1 || f.Steps[0].Pypi == nil || f.Steps[0].Pypi.Packages["six"] != "" {
				t.Fatalf("got %+v, want the start step with @pypi six", f.Steps)
			}
			lines := strings.Count(strings.ReplaceAll(tt.code, "\r\n", "\n"), "\n")
			if got, want := f.Steps[0].Pos.Line, lines+4; got != want {
				t.Errorf("step at line %d, want %d", got, want)
			}
		})
	}
}

func TestStringLiterals(t *testing.T) {
	tests := []struct{ lit, want string }{
		{`'a\tb'`, "a\tb"},
		{`"\x41\u00e9\101"`, "Aé" + "A"},
		{`r'\d+\''`, `\d+\'`},
		{`'''x
y'''`, "x\ny"},
		{`'a\
b'`, "ab"},
		{`'\q'`, `\q`},
		{`U'ok'`, "ok"},
	}
	for _, tt := range tests {
		got, isBytes, formatted, err := unquote(tt.lit)
		if err != nil || isBytes || formatted || got != tt.want {
			t.Errorf("unquote(%s) = %q, %v, %v, %v; want %q", tt.lit, got, isBytes, formatted, err, tt.want)
		}
	}
	if _, isBytes, _, _ := unquote(`b'x'`); !isBytes {
		t.Errorf("unquote(b'x') is not bytes")
	}
	if _, _, formatted, _ := unquote(`F'{x}'`); !formatted {
		t.Errorf("unquote(F'{x}') is not formatted")
	}
}

func TestStaticImportAliases(t *testing.T) {
	src := `from metaflow import FlowSpec as FS, step as s, pypi as p
from metaflow import (
    kubernetes as k8s,
)

class F(FS):
    @k8s(image="img:1")
    @p(packages={"six": ""})
    @s
    def start(self): pass
`
	f, err := LoadStatic(writeFlow(t, src))
	if err != nil {
		t.Fatalf("LoadStatic: %v", err)
	}
	if len(f.Steps) != 1 || f.Steps[0].Pypi == nil || f.Steps[0].Image != "img:1" {
		t.Fatalf("got %+v, want start with @pypi and image img:1 through the aliases", f.Steps)
	}
}
