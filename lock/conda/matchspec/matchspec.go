package matchspec

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/envbuild/envbuild/lock/conda/repodata"
	"github.com/envbuild/envbuild/lock/conda/version"
	"github.com/envbuild/envbuild/lock/failure"
)

// MatchSpec is a parsed conda MatchSpec. Empty string fields match
// anything; Version is version.Any when no version was given.
type MatchSpec struct {
	// Name is the package name, lower-cased; it may hold '*' globs ("*"
	// matches every name).
	Name    string
	Version version.Spec
	// Build is an exact build string, a glob ("py27*", "*_cpython") or a
	// "^…$" regular expression.
	Build string
	// BuildNumber constrains build_number; nil means any.
	BuildNumber *BuildNumber
	// Channel is a channel name ("conda-forge") or URL; Subdir a platform
	// subdirectory ("linux-64", "noarch").
	Channel string
	Subdir  string
	// Exact-match fields, only from the bracket form.
	MD5, SHA256, Fn, URL, License string
	TrackFeatures                 []string
	Features                      []string

	nameRe  *regexp.Regexp
	buildRe *regexp.Regexp
}

// BuildNumber is a comparison on build_number: Op is one of "==", "!=",
// "<", "<=", ">", ">=".
type BuildNumber struct {
	Op string
	N  int
}

func (b BuildNumber) match(n int) bool {
	switch b.Op {
	case "==":
		return n == b.N
	case "!=":
		return n != b.N
	case "<":
		return n < b.N
	case "<=":
		return n <= b.N
	case ">":
		return n > b.N
	case ">=":
		return n >= b.N
	}
	return false
}

func (b BuildNumber) String() string {
	if b.Op == "==" {
		return strconv.Itoa(b.N)
	}
	return b.Op + strconv.Itoa(b.N)
}

func parseBuildNumber(s string) (*BuildNumber, error) {
	s = strings.TrimSpace(s)
	op := "=="
	for _, o := range []string{"==", "!=", "<=", ">=", "<", ">", "="} {
		if strings.HasPrefix(s, o) {
			op, s = o, s[len(o):]
			break
		}
	}
	if op == "=" {
		op = "=="
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("build_number %q is not a comparison with a whole number, like 3 or >=3", s)
	}
	return &BuildNumber{Op: op, N: n}, nil
}

// knownSubdirs are the platform subdirectories a "channel/subdir::" prefix
// may end with.
var knownSubdirs = map[string]bool{
	"noarch": true, "linux-32": true, "linux-64": true, "linux-aarch64": true,
	"linux-armv6l": true, "linux-armv7l": true, "linux-ppc64": true, "linux-ppc64le": true,
	"linux-s390x": true, "linux-riscv64": true, "osx-64": true, "osx-arm64": true,
	"win-32": true, "win-64": true, "win-arm64": true, "zos-z": true, "freebsd-64": true,
	"emscripten-wasm32": true, "wasi-wasm32": true,
}

// MustParse is Parse for constants; it panics on error.
func MustParse(s string) MatchSpec {
	m, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return m
}

// Parse parses a MatchSpec string. See the package documentation for the
// grammar.
func Parse(s string) (MatchSpec, error) {
	m, err := parse(s)
	if err != nil {
		return MatchSpec{}, fmt.Errorf("parsing conda MatchSpec %s: %w", failure.Quote(s), err)
	}
	return m, nil
}

func parse(orig string) (MatchSpec, error) {
	var m MatchSpec
	s := orig
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, " if "); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return m, fmt.Errorf("empty spec")
	}
	if strings.HasSuffix(s, "@") {
		return m, fmt.Errorf("feature specs (name@) are not supported; use track_features in brackets: *[track_features=name]")
	}
	if low := strings.ToLower(s); strings.HasSuffix(low, ".conda") || strings.HasSuffix(low, ".tar.bz2") {
		return parseArtifact(s)
	}

	// Brackets: the last "[…]" section.
	var brackets [][2]string
	if open := strings.IndexByte(s, '['); open >= 0 {
		close := strings.LastIndexByte(s, ']')
		if close < open {
			return m, fmt.Errorf("unclosed '['")
		}
		inner := s[open+1 : close]
		s = strings.TrimSpace(s[:open] + s[close+1:])
		if strings.ContainsAny(s, "[]") {
			return m, fmt.Errorf("multiple brackets sections not allowed")
		}
		var err error
		brackets, err = parseBrackets(inner)
		if err != nil {
			return m, err
		}
	}

	// Channel and subdir: "channel::", "channel/subdir::".
	if i := strings.LastIndex(s, "::"); i >= 0 {
		ch := s[:i]
		s = s[i+2:]
		m.Channel, m.Subdir = splitChannel(ch)
		if m.Channel == "" {
			return m, fmt.Errorf("empty channel before '::'")
		}
	}

	// Name, then version and build.
	end := strings.IndexAny(s, " =<>!~")
	rest := ""
	if end >= 0 {
		rest = strings.TrimSpace(s[end:])
		s = s[:end]
	}
	m.Name = strings.ToLower(s)
	var verStr, build string
	if rest != "" {
		verStr, build = splitVersionBuild(rest)
		switch {
		case verStr == "" || verStr == "=" || verStr == "==":
			return m, fmt.Errorf("missing version after %q", rest)
		case verStr[0] == '=':
			test := verStr[1:]
			if strings.HasPrefix(verStr, "==") && build == "" {
				verStr = verStr[2:]
			} else if !strings.ContainsAny(test, "=,|") {
				if build == "" && !strings.HasSuffix(test, "*") {
					verStr = test + "*"
				} else {
					verStr = test
				}
			}
		}
	}
	if verStr != "" {
		sp, err := version.ParseSpec(verStr)
		if err != nil {
			return m, err
		}
		m.Version = sp
	}
	m.Build = build

	for _, kv := range brackets {
		k, v := kv[0], kv[1]
		switch k {
		case "name":
			// conda ignores a bracket name when one was given outside.
			if m.Name == "" {
				m.Name = strings.ToLower(v)
			}
		case "version":
			sp, err := version.ParseSpec(v)
			if err != nil {
				return m, err
			}
			m.Version = sp
		case "build":
			m.Build = v
		case "build_number":
			bn, err := parseBuildNumber(v)
			if err != nil {
				return m, err
			}
			m.BuildNumber = bn
		case "channel":
			ch, sub := splitChannel(v)
			if ch != "" {
				m.Channel = ch
			}
			if sub != "" {
				m.Subdir = sub
			}
		case "subdir":
			m.Subdir = v
		case "md5":
			m.MD5 = v
		case "sha256":
			m.SHA256 = v
		case "fn":
			m.Fn = v
		case "url":
			m.URL = v
		case "license":
			m.License = v
		case "track_features":
			m.TrackFeatures = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
		case "features":
			m.Features = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
		default:
			return m, fmt.Errorf("unknown key %q in brackets; known keys are name, version, build, build_number, channel, subdir, md5, sha256, fn, url, license, track_features, features", k)
		}
	}
	if m.Name == "" {
		return m, fmt.Errorf("no package name")
	}
	return m, m.compile()
}

func (m *MatchSpec) compile() error {
	for _, c := range m.Name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '*') {
			return fmt.Errorf("invalid package name %q: a name holds only letters, digits, '-', '_', '.' (and '*' in patterns)", m.Name)
		}
	}
	if strings.ContainsAny(m.Build, " \t[]'\",=|<>~#") {
		return fmt.Errorf("invalid build string %q", m.Build)
	}
	if m.Name != "*" && strings.Contains(m.Name, "*") {
		re, err := globRegexp(m.Name)
		if err != nil {
			return fmt.Errorf("compiling name pattern %q: %w", m.Name, err)
		}
		m.nameRe = re
	}
	if m.Build == "*" {
		m.Build = ""
	}
	switch {
	case strings.HasPrefix(m.Build, "^") && strings.HasSuffix(m.Build, "$"):
		re, err := regexp.Compile(m.Build)
		if err != nil {
			return fmt.Errorf("compiling build regex %q: %w", m.Build, err)
		}
		m.buildRe = re
	case strings.Contains(m.Build, "*"):
		re, err := globRegexp(m.Build)
		if err != nil {
			return fmt.Errorf("compiling build pattern %q: %w", m.Build, err)
		}
		m.buildRe = re
	}
	return nil
}

func globRegexp(g string) (*regexp.Regexp, error) {
	parts := strings.Split(g, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.Compile("^" + strings.Join(parts, ".*") + "$")
}

// splitChannel splits "conda-forge/linux-64" into channel and subdir when
// the last path element is a known subdir.
func splitChannel(ch string) (channel, subdir string) {
	ch = strings.TrimRight(ch, "/")
	if i := strings.LastIndexByte(ch, '/'); i >= 0 && knownSubdirs[ch[i+1:]] {
		return ch[:i], ch[i+1:]
	}
	return ch, ""
}

// splitVersionBuild finds the build string at the end of "version build" or
// "version=build": the longest trailing word after a ' ' or '=' that is not
// part of an operator and holds none of - = , | < > ~ (conda's rule).
func splitVersionBuild(s string) (ver, build string) {
	for i := 1; i < len(s)-1; i++ {
		if s[i] != ' ' && s[i] != '=' {
			continue
		}
		if strings.IndexByte("=!|,<>~", s[i-1]) >= 0 {
			continue
		}
		tail := s[i+1:]
		if strings.ContainsAny(tail, "-=,|<>~") || strings.TrimSpace(tail) == "" {
			continue
		}
		return strings.ReplaceAll(s[:i], " ", ""), strings.TrimSpace(tail)
	}
	return strings.ReplaceAll(s, " ", ""), ""
}

// parseBrackets reads key=value pairs separated by ',' or ' '; a value may
// be quoted with ' or ".
func parseBrackets(s string) ([][2]string, error) {
	var out [][2]string
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == ',') {
			i++
		}
		if i >= len(s) {
			return out, nil
		}
		start := i
		for i < len(s) && (isAlnum(s[i]) || s[i] == '_' || s[i] == '-') {
			i++
		}
		key := s[start:i]
		if key == "" || i >= len(s) || s[i] != '=' {
			return nil, fmt.Errorf("key-value mismatch in brackets at %q; write [key=value, …]", s[start:])
		}
		i++
		var val string
		if i < len(s) && (s[i] == '\'' || s[i] == '"') {
			q := s[i]
			endq := strings.IndexByte(s[i+1:], q)
			if endq < 0 {
				return nil, fmt.Errorf("unclosed quote in brackets at %q", s[start:])
			}
			val = s[i+1 : i+1+endq]
			i += endq + 2
		} else {
			vs := i
			for i < len(s) && s[i] != ',' && s[i] != ' ' {
				i++
			}
			val = s[vs:i]
		}
		if val == "" {
			return nil, fmt.Errorf("empty value for %q in brackets", key)
		}
		out = append(out, [2]string{key, val})
	}
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// parseArtifact reads a spec that is a package file or URL:
// [URL/]name-version-build.conda.
func parseArtifact(s string) (MatchSpec, error) {
	var m MatchSpec
	fn := path.Base(strings.ReplaceAll(s, "\\", "/"))
	stem := fn[:len(fn)-len(".conda")]
	if strings.HasSuffix(strings.ToLower(fn), ".tar.bz2") {
		stem = fn[:len(fn)-len(".tar.bz2")]
	}
	b := strings.LastIndexByte(stem, '-')
	if b <= 0 || b == len(stem)-1 {
		return m, fmt.Errorf("artifact file name %q is not name-version-build", fn)
	}
	v := strings.LastIndexByte(stem[:b], '-')
	if v <= 0 {
		return m, fmt.Errorf("artifact file name %q is not name-version-build", fn)
	}
	m.Name = strings.ToLower(stem[:v])
	sp, err := version.ParseSpec("==" + stem[v+1:b])
	if err != nil {
		return m, err
	}
	m.Version = sp
	m.Build = stem[b+1:]
	m.Fn = fn
	if strings.Contains(s, "://") {
		m.URL = s
	}
	return m, m.compile()
}

// Match reports whether the record satisfies every field of the spec.
func (m *MatchSpec) Match(r *repodata.Record) bool {
	if !m.MatchName(r.Name) {
		return false
	}
	if !m.Version.IsAny() {
		if r.ParsedVersion.IsZero() {
			v, err := version.Parse(r.Version)
			if err != nil || !m.Version.Match(v) {
				return false
			}
		} else if !m.Version.Match(r.ParsedVersion) {
			return false
		}
	}
	if m.Build != "" {
		if m.buildRe != nil {
			if !m.buildRe.MatchString(r.Build) {
				return false
			}
		} else if m.Build != r.Build {
			return false
		}
	}
	if m.BuildNumber != nil && !m.BuildNumber.match(r.BuildNumber) {
		return false
	}
	if m.Channel != "" && !ChannelMatches(m.Channel, r.Channel) {
		return false
	}
	if m.Subdir != "" && m.Subdir != r.Subdir {
		return false
	}
	if m.MD5 != "" && !strings.EqualFold(m.MD5, r.MD5) {
		return false
	}
	if m.SHA256 != "" && !strings.EqualFold(m.SHA256, r.SHA256) {
		return false
	}
	if m.Fn != "" && m.Fn != r.Fn {
		return false
	}
	if m.URL != "" && m.URL != r.URL {
		return false
	}
	if m.License != "" && m.License != r.License {
		return false
	}
	if !sameSet(m.TrackFeatures, r.TrackFeatures) && m.TrackFeatures != nil {
		return false
	}
	if !sameSet(m.Features, r.Features) && m.Features != nil {
		return false
	}
	return true
}

// MatchName reports whether a package name satisfies the spec's name.
func (m *MatchSpec) MatchName(name string) bool {
	switch {
	case m.Name == "*":
		return true
	case m.nameRe != nil:
		return m.nameRe.MatchString(name)
	default:
		return m.Name == name
	}
}

// IsExactName reports whether the spec names one package (no glob).
func (m *MatchSpec) IsExactName() bool { return !strings.Contains(m.Name, "*") }

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x := append([]string(nil), a...)
	y := append([]string(nil), b...)
	sort.Strings(x)
	sort.Strings(y)
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

// ChannelMatches reports whether a record's channel (name or URL) is the
// channel a spec names: equal after trimming a trailing '/', or a URL whose
// path ends with "/"+name.
func ChannelMatches(spec, record string) bool {
	spec = strings.TrimRight(spec, "/")
	record = strings.TrimRight(record, "/")
	if spec == record {
		return true
	}
	if strings.Contains(spec, "://") {
		return false
	}
	return strings.HasSuffix(record, "/"+spec)
}

// String returns the canonical form, which Parse reads back to an equal
// spec: [channel[/subdir]::]name[ version[ build]][[key=value, …]].
func (m MatchSpec) String() string {
	var b strings.Builder
	if m.Channel != "" {
		b.WriteString(m.Channel)
		if m.Subdir != "" {
			b.WriteString("/" + m.Subdir)
		}
		b.WriteString("::")
	}
	b.WriteString(m.Name)
	if !m.Version.IsAny() || m.Build != "" {
		b.WriteString(" " + m.Version.String())
	}
	if m.Build != "" {
		b.WriteString(" " + m.Build)
	}
	var kv []string
	add := func(k, v string) {
		if v == "" {
			return
		}
		if strings.ContainsAny(v, " ,=[]'\"<>|") {
			v = "'" + v + "'"
		}
		kv = append(kv, k+"="+v)
	}
	if m.BuildNumber != nil {
		add("build_number", m.BuildNumber.String())
	}
	if m.Channel == "" {
		add("subdir", m.Subdir)
	}
	add("md5", m.MD5)
	add("sha256", m.SHA256)
	add("fn", m.Fn)
	add("url", m.URL)
	add("license", m.License)
	add("track_features", strings.Join(m.TrackFeatures, " "))
	add("features", strings.Join(m.Features, " "))
	if len(kv) > 0 {
		b.WriteString("[" + strings.Join(kv, ", ") + "]")
	}
	return b.String()
}
