// Package requirements reads requirements files the way pip reads them:
// line continuations, comments, ${VAR} expansion, -r/-c includes (a
// cycle is an error), --index-url/--extra-index-url lines, PEP 508
// requirements with extras and markers, and --hash pins. A line pip would
// refuse, and a pip option envbuild cannot honour, is an error naming
// file:line. Nothing here talks to the network.
package requirements

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/pypi/pep508"
)

// Result is what a requirements file (and its includes) asks for.
type Result struct {
	// Requirements and Constraints are PEP 508 strings, in file order.
	Requirements []string
	Constraints  []string
	// IndexURL is the last --index-url given ("" when none), with any
	// credentials as written: only the lock leaves them out.
	IndexURL       string
	ExtraIndexURLs []string
	// Hashes maps a normalised project name to the sha256 digests its
	// --hash options allow.
	Hashes map[string][]string
}

// Error is a problem at one line of a requirements file.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Parser accumulates the result of several files and lines.
type Parser struct {
	env   map[string]string
	res   Result
	stack []string // absolute paths being read, for cycles
	// maxFiles bounds the files read (a fan-out of includes).
	files int
}

// maxFiles is the most files one parse reads: far more than any project
// has, few enough that a fuzzed include graph stays cheap.
const maxFiles = 200

// NewParser returns a parser expanding ${VAR} from env (pip expands from
// the process environment).
func NewParser(env map[string]string) *Parser {
	return &Parser{env: env, res: Result{Hashes: map[string][]string{}}}
}

// Load reads the requirements file at path, with its includes.
func Load(path string, env map[string]string) (*Result, error) {
	p := NewParser(env)
	if err := p.File(path, false); err != nil {
		return nil, err
	}
	return p.Result(), nil
}

// Result returns what was read so far.
func (p *Parser) Result() *Result {
	r := p.res
	if len(r.Hashes) == 0 {
		r.Hashes = nil
	}
	return &r
}

// File reads one requirements (or, with constraint, constraints) file.
func (p *Parser) File(path string, constraint bool) error {
	return p.file(path, constraint, "", 0)
}

func (p *Parser) file(path string, constraint bool, fromFile string, fromLine int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	for i, s := range p.stack {
		if s == abs {
			chain := append(append([]string(nil), p.stack[i:]...), abs)
			return failure.User(&Error{File: fromFile, Line: fromLine, Msg: fmt.Sprintf("include cycle: %s", strings.Join(chain, " -> "))})
		}
	}
	p.files++
	if p.files > maxFiles {
		return failure.User(&Error{File: fromFile, Line: fromLine, Msg: fmt.Sprintf("more than %d files included", maxFiles)})
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if fromFile == "" {
			if errors.Is(err, os.ErrNotExist) {
				return failure.User(fmt.Errorf("reading %s: no such file", path))
			}
			return failure.User(fmt.Errorf("reading %s: %w", path, err))
		}
		return failure.User(&Error{File: fromFile, Line: fromLine, Msg: fmt.Sprintf("cannot read %s: %v", path, unwrapPath(err))})
	}
	p.stack = append(p.stack, abs)
	defer func() { p.stack = p.stack[:len(p.stack)-1] }()
	return p.Text(data, path, constraint)
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Text reads the content of a requirements file named name; includes are
// relative to name's directory.
func (p *Parser) Text(data []byte, name string, constraint bool) error {
	for _, ll := range logicalLines(string(data)) {
		if err := p.Line(ll.text, name, ll.line, filepath.Dir(name), constraint); err != nil {
			return err
		}
	}
	return nil
}

type logicalLine struct {
	text string
	line int
}

var commentRE = regexp.MustCompile(`(^|\s+)#.*$`)

// logicalLines joins continuation lines and strips comments, as pip's
// join_lines and ignore_comments do; each keeps the number of its first
// physical line.
func logicalLines(src string) []logicalLine {
	src = strings.TrimPrefix(src, "\ufeff")
	phys := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	var out []logicalLine
	var cur []string
	start := 0
	for i, l := range phys {
		if len(cur) == 0 {
			start = i + 1
		}
		if !strings.HasSuffix(l, `\`) || commentRE.MatchString(l) {
			if commentRE.MatchString(l) {
				l = " " + l // a comment ends a continuation
			}
			cur = append(cur, l)
			out = append(out, logicalLine{text: strings.Join(cur, ""), line: start})
			cur = nil
			continue
		}
		cur = append(cur, strings.TrimSuffix(l, `\`))
	}
	if len(cur) > 0 {
		out = append(out, logicalLine{text: strings.Join(cur, ""), line: start})
	}
	for i := range out {
		out[i].text = strings.TrimSpace(commentRE.ReplaceAllString(out[i].text, ""))
	}
	return out
}

var envVarRE = regexp.MustCompile(`\$\{([A-Z0-9_]+)\}`)

// expand replaces ${VAR} (upper case, digits and _ only, as pip) with
// its value; an unset variable is left as written, as pip does.
func (p *Parser) expand(s string) string {
	return envVarRE.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := p.env[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// Line reads one logical line (continuations joined, comment removed) of
// file at line; dir is where its includes are found.
func (p *Parser) Line(text, file string, line int, dir string, constraint bool) error {
	text = strings.TrimSpace(p.expand(text))
	if text == "" {
		return nil
	}
	bad := func(format string, args ...any) error {
		// Whatever the message quotes, a password in a URL is hidden.
		return failure.User(&Error{File: file, Line: line, Msg: redact(fmt.Sprintf(format, args...))})
	}
	if strings.HasPrefix(text, "-") {
		opt, val, err := splitOption(text)
		if err != nil {
			return bad("%v", err)
		}
		if f := strings.Fields(val); len(f) > 1 {
			return bad("%s takes one value; %q follows it (one option per line)", opt, strings.Join(f[1:], " "))
		}
		switch opt {
		case "-r", "--requirement", "-c", "--constraint":
			if val == "" {
				return bad("%s needs a file", opt)
			}
			if u, err := url.Parse(val); err == nil && (u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "file") {
				return bad("%s %s: envbuild reads included files from disk only; download it and include the copy", opt, redact(val))
			}
			inc := val
			if !filepath.IsAbs(inc) {
				inc = filepath.Join(dir, inc)
			}
			// pip: -c in any file is a constraints file; -r in a
			// constraints file is a requirements file again.
			return p.file(inc, opt == "-c" || opt == "--constraint", file, line)
		case "-i", "--index-url":
			if err := checkURL(val); err != nil {
				return bad("%s: %v", opt, err)
			}
			p.res.IndexURL = val
		case "--extra-index-url":
			if err := checkURL(val); err != nil {
				return bad("%s: %v", opt, err)
			}
			p.res.ExtraIndexURLs = append(p.res.ExtraIndexURLs, val)
		case "--require-hashes", "--prefer-binary":
			if val != "" {
				return bad("%s takes no value", opt)
			}
			// envbuild always locks hashes, and prefers wheels.
		case "--only-binary":
			if val == "" {
				return bad("%s needs a value", opt)
			}
			// envbuild locks wheels unless --allow-sdist is given.
		case "-e", "--editable":
			return bad("%s: an editable install cannot go into an image; build a wheel and require it by name or URL", opt)
		case "-f", "--find-links", "--no-index", "--no-binary", "--trusted-host", "--pre", "--use-feature", "-Z", "--always-unzip":
			return bad("the pip option %s is not supported by envbuild; give indexes with --index-url/--extra-index-url", opt)
		default:
			return bad("no such option: %s", opt)
		}
		return nil
	}
	reqText, hashes, err := splitRequirementOptions(text)
	if err != nil {
		return bad("%v", err)
	}
	if isPathLike(reqText) {
		return bad("%q is a local path: envbuild locks requirements from indexes or https URLs to wheels", reqText)
	}
	if u, err := url.Parse(reqText); err == nil && (u.Scheme == "http" || u.Scheme == "https") && !strings.Contains(reqText, " @ ") && !strings.Contains(reqText, "@ ") {
		return bad("%s: a bare URL needs the project's name: write NAME @ URL", redact(reqText))
	}
	r, err := pep508.ParseRequirement(reqText)
	if err != nil {
		return bad("invalid requirement %q: %v", redact(reqText), err)
	}
	if len(hashes) > 0 {
		if !pinned(r) {
			return bad("%q has --hash options but is not pinned with ==: pip refuses hashes on a requirement that can match several versions", redact(reqText))
		}
		n := r.NormalizedName()
		p.res.Hashes[n] = mergeHashes(p.res.Hashes[n], hashes)
	}
	if constraint {
		if len(r.Extras) > 0 {
			return bad("constraint %q names extras: a constraint limits versions only (pip refuses extras in constraints)", reqText)
		}
		p.res.Constraints = append(p.res.Constraints, reqText)
	} else {
		p.res.Requirements = append(p.res.Requirements, reqText)
	}
	return nil
}

// pinned reports whether r allows one version only (== without a
// wildcard, or ===), or is a direct reference.
func pinned(r pep508.Requirement) bool {
	if r.URL != "" {
		return true
	}
	s := strings.TrimSpace(r.Specifiers.String())
	if strings.Contains(s, ",") {
		return false
	}
	return (strings.HasPrefix(s, "==") && !strings.HasSuffix(s, ".*")) || strings.HasPrefix(s, "===")
}

func mergeHashes(have, add []string) []string {
	seen := map[string]bool{}
	for _, h := range have {
		seen[h] = true
	}
	for _, h := range add {
		if !seen[h] {
			have, seen[h] = append(have, h), true
		}
	}
	sort.Strings(have)
	return have
}

func isPathLike(s string) bool {
	return strings.HasPrefix(s, ".") || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "~") ||
		strings.HasSuffix(s, ".whl") && !strings.Contains(s, "://") ||
		strings.HasSuffix(s, ".tar.gz") && !strings.Contains(s, "://") ||
		strings.HasSuffix(s, ".zip") && !strings.Contains(s, "://")
}

func checkURL(v string) error {
	if v == "" {
		return fmt.Errorf("needs a URL")
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", redact(v))
	}
	return nil
}

// redact hides the password of URLs in s.
func redact(s string) string {
	return credRE.ReplaceAllString(s, "://$1:****@")
}

var credRE = regexp.MustCompile(`://([^/:@\s]+):[^/@\s]+@`)

// splitOption splits "-r file", "-rfile", "--requirement=file" and
// "--requirement file" into option and value.
func splitOption(text string) (string, string, error) {
	if strings.HasPrefix(text, "--") {
		name, val, hasEq := strings.Cut(text, "=")
		if !hasEq {
			name, val, _ = strings.Cut(text, " ")
			if i := strings.IndexAny(text, " \t"); i >= 0 {
				name, val = text[:i], text[i+1:]
			}
		}
		return strings.TrimSpace(name), unquote(strings.TrimSpace(val)), nil
	}
	if len(text) < 2 {
		return "", "", fmt.Errorf("no such option: %s", text)
	}
	name, val := text[:2], strings.TrimSpace(text[2:])
	return name, unquote(val), nil
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// splitRequirementOptions separates a requirement from the per-line
// options pip accepts after it (--hash); others are refused.
func splitRequirementOptions(text string) (string, []string, error) {
	// pip takes the options from the first " -" or " --" token on.
	idx := -1
	for _, sep := range []string{" --", "\t--", " -", "\t-"} {
		if i := strings.Index(text, sep); i >= 0 && (idx < 0 || i < idx) {
			idx = i
		}
	}
	if idx < 0 {
		return text, nil, nil
	}
	req := strings.TrimSpace(text[:idx])
	fields := strings.Fields(text[idx:])
	var hashes []string
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		var v string
		switch {
		case strings.HasPrefix(f, "--hash="):
			v = strings.TrimPrefix(f, "--hash=")
		case f == "--hash":
			if i+1 >= len(fields) {
				return "", nil, fmt.Errorf("--hash needs a value (--hash=sha256:HEX)")
			}
			i++
			v = fields[i]
		case strings.HasPrefix(f, "--config-settings"), strings.HasPrefix(f, "--global-option"), strings.HasPrefix(f, "--install-option"):
			return "", nil, fmt.Errorf("the option %s changes how pip builds a package, which envbuild does not do", strings.SplitN(f, "=", 2)[0])
		default:
			return "", nil, fmt.Errorf("no such option after a requirement: %s", f)
		}
		algo, hex, ok := strings.Cut(unquote(v), ":")
		switch {
		case !ok:
			return "", nil, fmt.Errorf("--hash %q: want ALGORITHM:HEX (sha256:…)", v)
		case algo != "sha256":
			return "", nil, fmt.Errorf("--hash %q: envbuild checks sha256 hashes only (the algorithm every index serves)", v)
		case !isHex64(hex):
			return "", nil, fmt.Errorf("--hash %q: a sha256 is 64 hex digits", v)
		}
		hashes = append(hashes, strings.ToLower(hex))
	}
	return req, hashes, nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}
