package app

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the test binary stand in for envbuild (the completion
// scripts run "envbuild __complete …").
func TestMain(m *testing.M) {
	if os.Getenv("ENVBUILD_APP_TEST_AS_MAIN") == "1" {
		os.Exit(Main(os.Args, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// Every command's --help names the reference (a file of this repository)
// and ends with examples.
func TestHelpEndsWithExamples(t *testing.T) {
	if _, err := os.Stat(filepath.Join("..", "..", "..", referenceDoc)); err != nil {
		t.Fatalf("help points at %s, which is not in the repository: %v", referenceDoc, err)
	}
	dir := t.TempDir()
	for _, cmd := range [][]string{{}, {"build"}, {"lock"}, {"flow"}, {"flow", "build"}, {"daemon"}, {"daemon", "start"}, {"daemon", "stop"}, {"completion"}} {
		name := strings.Join(cmd, " ")
		t.Run("envbuild "+name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, dir, append(cmd, "--help")...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if !strings.Contains(stdout, "REFERENCE:\n   "+referenceDoc) {
				t.Errorf("help does not name %s:\n%s", referenceDoc, stdout)
			}
			i := strings.LastIndex(stdout, "EXAMPLES:\n")
			if i < 0 {
				t.Fatalf("no examples:\n%s", stdout)
			}
			lines := 0
			for _, l := range strings.Split(strings.TrimSpace(stdout[i:]), "\n")[1:] {
				if strings.HasPrefix(l, "   envbuild ") || strings.HasPrefix(l, "   source <(envbuild") || strings.HasPrefix(l, "   BUILDKIT_HOST=$(envbuild") {
					lines++
				}
			}
			if lines < 2 {
				t.Errorf("%d examples at the end, want 2 or 3:\n%s", lines, stdout[i:])
			}
			for _, bad := range []string{"CONTRACT", "§", "../shared"} {
				if strings.Contains(stdout, bad) {
					t.Errorf("help mentions %q, which users do not have", bad)
				}
			}
		})
	}
}

func TestComplete(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		words []string
		want  string // one candidate that must be offered; "" means nothing
		not   string
	}{
		{[]string{""}, "completion", "help"},
		{[]string{"fl"}, "flow", ""},
		{[]string{"flow", ""}, "build", ""},
		{[]string{"build", "--pl"}, "--platform", ""},
		{[]string{"lock", "--pypi", "six", "--"}, "--locked", "--frozen"},
		{[]string{"build", "--"}, "--frozen", ""},
		{[]string{"build", "--platform", ""}, "linux/arm64", ""},
		{[]string{"build", "--progress", "p"}, "plain", ""},
		{[]string{"flow", "build", "--with", ""}, "kubernetes:image=", ""},
		{[]string{"completion", ""}, "fish", ""},
		{[]string{"build", "--file", ""}, "", ""},
		{[]string{"flow", "build", "--json", ""}, "", ""},
	} {
		code, stdout, _ := runMain(t, dir, append([]string{"__complete"}, tc.words...)...)
		got := strings.Split(strings.TrimSpace(stdout), "\n")
		has := func(s string) bool {
			for _, g := range got {
				if g == s {
					return true
				}
			}
			return false
		}
		if code != 0 || (tc.want != "" && !has(tc.want)) || (tc.want == "" && strings.TrimSpace(stdout) != "") || (tc.not != "" && has(tc.not)) {
			t.Errorf("__complete %q: exit %d, %q; want %q offered, %q not", tc.words, code, got, tc.want, tc.not)
		}
	}
}

// The bash script, run by bash, completes from this binary.
func TestCompletionScripts(t *testing.T) {
	dir := t.TempDir()
	for _, sh := range []string{"bash", "zsh", "fish"} {
		code, script, stderr := runMain(t, dir, "completion", sh)
		if code != 0 || !strings.Contains(script, "__complete") {
			t.Fatalf("completion %s: exit %d, %q", sh, code, stderr)
		}
		path := filepath.Join(dir, "envbuild."+sh)
		if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := exec.LookPath(sh); err != nil {
			t.Logf("%s is not installed: its script is not checked", sh)
			continue
		}
		if out, err := exec.Command(sh, "-n", path).CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v\n%s", sh, err, out)
		}
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ line, want string }{
		{`COMP_WORDS=("$SELF" build --pl); COMP_CWORD=2`, "--platform"},
		{`COMP_WORDS=("$SELF" fl); COMP_CWORD=1`, "flow"},
		{`COMP_WORDS=("$SELF" lock --platform linux/a); COMP_CWORD=3`, "linux/amd64 linux/arm64"},
	} {
		cmd := exec.Command("bash", "-c", `source "$SCRIPT"; `+tc.line+`; _envbuild; echo "${COMPREPLY[*]}"`)
		cmd.Env = append(os.Environ(), "ENVBUILD_APP_TEST_AS_MAIN=1", "SELF="+self, "SCRIPT="+filepath.Join(dir, "envbuild.bash"))
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != tc.want {
			t.Errorf("%s: %q (%v), want %q", tc.line, out, err, tc.want)
		}
	}
	code, _, stderr := runMain(t, dir, "completion", "tcsh")
	if code != 2 || !strings.Contains(stderr, "bash, zsh and fish") {
		t.Errorf("completion tcsh: exit %d, %q; want 2", code, stderr)
	}
}
