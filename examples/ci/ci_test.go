// Package ci holds the CI examples' test: the workflows are valid for
// their CI systems and use only flags envbuild has.
package ci

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/cmd/envbuild/app"
)

var examples = map[string]string{
	"github-actions.yml": "vendor.github-workflows",
	"gitlab-ci.yml":      "vendor.gitlab-ci",
}

// Each example validates against its CI system's schema (check-jsonschema
// carries both, so no network is needed).
func TestSchemas(t *testing.T) {
	bin, err := exec.LookPath("check-jsonschema")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("check-jsonschema is not installed (scripts/setup.sh installs it)")
		}
		t.Skip("check-jsonschema is not installed; scripts/setup.sh installs it")
	}
	for file, schema := range examples {
		out, err := exec.Command(bin, "--builtin-schema", schema, file).CombinedOutput()
		if err != nil {
			t.Errorf("%s against %s: %v\n%s", file, schema, err, out)
		}
	}
}

// Every envbuild command line in the examples names a real command and
// only flags that command has.
func TestCommandLines(t *testing.T) {
	flagRe := regexp.MustCompile(`(^|\s)(--[a-z][a-z0-9-]*)`)
	n := 0
	for file := range examples {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, cmd := range commandLines(string(data)) {
			n++
			words := strings.Fields(cmd)
			var sub []string
			for _, w := range words[1:] {
				if strings.HasPrefix(w, "-") || strings.Contains(w, "/") || strings.Contains(w, ".") {
					break
				}
				sub = append(sub, w)
			}
			var out, errb bytes.Buffer
			if code := app.Main(append(sub, "--help"), &out, &errb); code != 0 {
				t.Errorf("%s: `envbuild %s --help` exits %d: %s", file, strings.Join(sub, " "), code, errb.String())
				continue
			}
			for _, m := range flagRe.FindAllStringSubmatch(cmd, -1) {
				if !strings.Contains(out.String(), m[2]+" ") && !strings.Contains(out.String(), m[2]+"\n") && !strings.Contains(out.String(), m[2]+",") {
					t.Errorf("%s: `envbuild %s` has no flag %s (in %q)", file, strings.Join(sub, " "), m[2], cmd)
				}
			}
		}
	}
	if n < len(examples) {
		t.Errorf("found %d envbuild command lines in the examples; the parser lost them", n)
	}
}

// commandLines returns each envbuild command of a YAML file's scripts,
// continuation lines joined.
func commandLines(yaml string) []string {
	var out []string
	lines := strings.Split(yaml, "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		l = strings.TrimPrefix(l, "- ")
		l = strings.TrimPrefix(l, "run: ")
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "envbuild ") {
			continue
		}
		cmd := l
		for strings.HasSuffix(cmd, "\\") && i+1 < len(lines) {
			i++
			cmd = strings.TrimSuffix(cmd, "\\") + " " + strings.TrimSpace(lines[i])
		}
		if strings.Contains(cmd, "github.com/envbuild/envbuild") {
			continue // go install of envbuild, not a command of it
		}
		out = append(out, cmd)
	}
	return out
}
