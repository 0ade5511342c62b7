package metaflow

import (
	"strings"
	"testing"
)

// A decorator argument nested far deeper than Python itself allows is an
// error with its position, not a stack overflow.
func TestDeepDecoratorIsAnError(t *testing.T) {
	for _, arg := range []string{
		strings.Repeat("[", 200_000) + strings.Repeat("]", 200_000),
		strings.Repeat("(", 200_000) + "1" + strings.Repeat(")", 200_000),
		strings.Repeat("-", 200_000) + "1",
		strings.Repeat("{'a': ", 100_000) + "1" + strings.Repeat("}", 100_000),
	} {
		src := "class F(FlowSpec):\n    @pypi(packages=" + arg + ")\n    @step\n    def start(self): pass\n"
		_, err := parseFlowSource("flow.py", []byte(src))
		if err == nil || !strings.Contains(err.Error(), "nested more than") || !strings.Contains(err.Error(), "flow.py:2:") {
			t.Errorf("error %.200v", err)
		}
	}
}

func FuzzParseFlowSource(f *testing.F) {
	for _, s := range []string{
		"from metaflow import FlowSpec, step, pypi\n\n@pypi_base(python='3.11', packages={'pandas': '2.2.2'})\nclass F(FlowSpec):\n    @pypi(packages={'six': ''})\n    @step\n    def start(self):\n        self.next(self.end)\n\n    @conda(disabled=True)\n    @step\n    def end(self): pass\n",
		"class F(FlowSpec):\n    @pypi(packages=PKGS, python=f'{V}')\n    @step\n    def start(self): x = [i for i in range(3)]\n",
		"class F(FlowSpec):\n    @conda(libraries={'numpy': '1.26'}, python=\"3.12\")\n    @step\n    def a(self): '''doc\n    '''\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		raw, err := parseFlowSource("flow.py", src)
		if err != nil {
			_ = err.Error()
			return
		}
		_ = checkKnownDecorators(raw)
	})
}
