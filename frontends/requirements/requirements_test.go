package requirements

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestProjectFiles(t *testing.T) {
	r, err := Load("testdata/project/requirements.txt", map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	wantReqs := []string{
		`packaging>=23 ; python_version >= "3.8"`,
		"attrs==23.2.0",
		"requests[socks]>=2.31,<3",
		`tomli>=2.0 ; python_version < "3.11"`,
		`colorama==0.4.6 ; sys_platform == "win32"`,
		"six==1.16.0",
	}
	if !reflect.DeepEqual(r.Requirements, wantReqs) {
		t.Errorf("requirements:\n got %q\nwant %q", r.Requirements, wantReqs)
	}
	if want := []string{"urllib3<2.3", "idna==3.7"}; !reflect.DeepEqual(r.Constraints, want) {
		t.Errorf("constraints: got %q, want %q", r.Constraints, want)
	}
	if r.IndexURL != "https://pypi.org/simple" {
		t.Errorf("index: %q", r.IndexURL)
	}
	if h := r.Hashes["six"]; len(h) != 2 {
		t.Errorf("six hashes: %q", h)
	}
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVariablesAndIndexes(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "r.txt", "--extra-index-url https://${USER_NAME}:${TOKEN}@pkgs.example.com/simple\n-i https://pypi.org/simple\nrich==${RICH_VERSION}\n")
	r, err := Load(p, map[string]string{"USER_NAME": "ci", "TOKEN": "s3cret", "RICH_VERSION": "13.7.1", "lower": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if r.ExtraIndexURLs[0] != "https://ci:s3cret@pkgs.example.com/simple" {
		t.Errorf("extra index: %q", r.ExtraIndexURLs)
	}
	if want := []string{"rich==13.7.1"}; !reflect.DeepEqual(r.Requirements[:1], want) {
		t.Errorf("got %q", r.Requirements)
	}
}

func TestLowerCaseVariableIsNotExpanded(t *testing.T) {
	// pip expands ${UPPER_CASE} names only: ${lower} stays as written,
	// and is then not a valid requirement.
	p := write(t, t.TempDir(), "r.txt", "keep${lower}\n")
	if _, err := Load(p, map[string]string{"lower": "x"}); err == nil || !strings.Contains(err.Error(), "r.txt:1: invalid requirement") {
		t.Fatalf("got %v", err)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct{ name, content, want string }{
		{"bad spec", "ok==1\nfoo >>= 1\n", "r.txt:2: invalid requirement"},
		{"editable", "# c\n-e .\n", "r.txt:2: -e: an editable install"},
		{"unknown option", "--frobnicate\n", "r.txt:1: no such option: --frobnicate"},
		{"find-links", "-f https://x\n", "not supported by envbuild"},
		{"bad hash", "six==1.16.0 --hash=md5:abc\n", "sha256 hashes only"},
		{"hash unpinned", "six>=1 --hash=sha256:" + strings.Repeat("a", 64) + "\n", "not pinned with =="},
		{"local path", "./pkg\n", "is a local path"},
		{"bare url", "https://example.com/x-1.0-py3-none-any.whl\n", "a bare URL needs the project's name"},
		{"continuation", "six==1.16.0 \\\n  --hash=sha256:zz\n", "r.txt:1: --hash"},
		{"self include", "-r r.txt\n", "include cycle"},
		{"extras in constraint", "-c c.txt\n", "names extras"},
		{"remote include", "-r https://example.com/r.txt\n", "from disk only"},
		{"missing include", "-r nope.txt\n", "r.txt:1: cannot read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "c.txt", "requests[socks]<3\n")
			p := write(t, dir, "r.txt", tc.content)
			_, err := Load(p, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCycleThroughTwoFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.txt", "six\n-r sub/b.txt\n")
	write(t, dir, "sub/b.txt", "# back\n-c ../a.txt\n")
	_, err := Load(filepath.Join(dir, "a.txt"), nil)
	if err == nil || !strings.Contains(err.Error(), "b.txt:2: include cycle") {
		t.Fatalf("got %v", err)
	}
}

func TestCredentialsRedactedInErrors(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "r.txt", "--index-url ftp://u:hunter2@example.com/simple\n")
	_, err := Load(p, nil)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("got %v", err)
	}
}

func TestPasswordNeverInAnError(t *testing.T) {
	for _, line := range []string{
		"pkg @ https://ci:hunter2@example.com/pkg-1.0-py3-none-any.whl ; python_version >>> '3'\n",
		"-i https://ci:hunter2@example.com/simple --bogus\n",
		"pkg @ https://ci:hunter2@example.com/pkg-1.0-py3-none-any.whl --frob\n",
	} {
		p := write(t, t.TempDir(), "r.txt", line)
		if _, err := Load(p, nil); err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: %v", line, err)
		}
	}
}

func TestCommentsAndContinuations(t *testing.T) {
	got := logicalLines("a \\\n  b # note\n# whole line \\\nc\n  \nd#not-a-comment\n")
	want := []logicalLine{{"a    b", 1}, {"", 3}, {"c", 4}, {"", 5}, {"d#not-a-comment", 6}, {"", 7}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}
