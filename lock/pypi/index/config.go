package index

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/envbuild/envbuild/lock/failure"
)

// DefaultIndexURL is the index used when neither flags, environment nor
// pip's configuration name one.
const DefaultIndexURL = "https://pypi.org/simple"

// FromPipConfig returns the indexes to use, in priority order, the way pip
// would find them for `pip install`:
//
//   - the primary index: indexURL (the --index-url flag) if not empty, else
//     PIP_INDEX_URL, else index-url from pip's configuration files, else
//     DefaultIndexURL;
//   - the extra indexes: extra (--extra-index-url flags) if not empty, else
//     PIP_EXTRA_INDEX_URL split on whitespace, else extra-index-url from the
//     configuration files (also split on whitespace).
//
// Configuration files are read as pip reads them: $XDG_CONFIG_DIRS/pip/pip.conf
// (default /etc/xdg) and /etc/pip.conf, then ~/.pip/pip.conf and
// $XDG_CONFIG_HOME/pip/pip.conf (default ~/.config), then $VIRTUAL_ENV/pip.conf,
// then $PIP_CONFIG_FILE, each later file overriding earlier ones; when
// $PIP_CONFIG_FILE names an existing file the per-user files are skipped, and
// when it is os.DevNull no file is read. An [install] key beats a [global]
// key wherever each was found, as in pip. Keys may be spelt with "_" or "-".
//
// The primary index is named "pypi", the extras "extra-1", "extra-2"… A URL
// given twice is kept once, at its first position. env is the process
// environment as a map (HOME, XDG_*, PIP_* are read from it).
func FromPipConfig(env map[string]string, indexURL string, extra []string) ([]Index, error) {
	conf, err := readPipConfig(env)
	if err != nil {
		return nil, err
	}
	primary, primaryFrom := DefaultIndexURL, "the default"
	switch {
	case indexURL != "":
		primary, primaryFrom = indexURL, "--index-url"
	case strings.TrimSpace(env["PIP_INDEX_URL"]) != "":
		primary, primaryFrom = strings.TrimSpace(env["PIP_INDEX_URL"]), "PIP_INDEX_URL"
	case conf.get("index-url") != "":
		primary, primaryFrom = strings.TrimSpace(conf.get("index-url")), conf.from("index-url")
	}
	var extras []string
	extrasFrom := ""
	switch {
	case len(extra) > 0:
		extras, extrasFrom = extra, "--extra-index-url"
	case strings.TrimSpace(env["PIP_EXTRA_INDEX_URL"]) != "":
		extras, extrasFrom = strings.Fields(env["PIP_EXTRA_INDEX_URL"]), "PIP_EXTRA_INDEX_URL"
	case conf.get("extra-index-url") != "":
		extras, extrasFrom = strings.Fields(conf.get("extra-index-url")), conf.from("extra-index-url")
	}

	var out []Index
	seen := map[string]bool{}
	add := func(name, raw, from string) error {
		if err := checkIndexURL(raw); err != nil {
			return failure.User(fmt.Errorf("reading the index URL from %s: %w", from, err))
		}
		key := strings.TrimRight(raw, "/")
		if seen[key] {
			return nil
		}
		seen[key] = true
		out = append(out, Index{Name: name, URL: raw})
		return nil
	}
	if err := add("pypi", primary, primaryFrom); err != nil {
		return nil, err
	}
	for _, e := range extras {
		if err := add(fmt.Sprintf("extra-%d", len(out)), e, extrasFrom); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PipCert returns the CA bundle pip is configured to use (PIP_CERT, else
// `cert` from pip's configuration files, read as FromPipConfig reads them),
// or "" for the system's; pass it as Options.CertFile.
func PipCert(env map[string]string) (string, error) {
	if v := strings.TrimSpace(env["PIP_CERT"]); v != "" {
		return v, nil
	}
	conf, err := readPipConfig(env)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(conf.get("cert")), nil
}

func checkIndexURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("index URL %q is not a URL: %w", Redact(raw), errors.Unwrap(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("index URL %q must start with https:// or http://", Redact(raw))
	}
	if u.Host == "" {
		return fmt.Errorf("index URL %q has no host", Redact(raw))
	}
	return nil
}

// pipConfig is the merged view of pip's configuration files:
// "section.key" → value and the file it came from.
type pipConfig struct {
	values map[string]string
	files  map[string]string
}

func (c *pipConfig) lookup(key string) (string, string) {
	for _, section := range []string{"install", "global"} {
		if v, ok := c.values[section+"."+key]; ok {
			return v, c.files[section+"."+key]
		}
	}
	return "", ""
}

func (c *pipConfig) get(key string) string  { v, _ := c.lookup(key); return v }
func (c *pipConfig) from(key string) string { _, f := c.lookup(key); return f }

// pipConfigFiles lists pip's configuration files, lowest priority first.
func pipConfigFiles(env map[string]string) []string {
	envFile := env["PIP_CONFIG_FILE"]
	if envFile == os.DevNull {
		return nil
	}
	home := env["HOME"]
	var files []string
	dirs := env["XDG_CONFIG_DIRS"]
	if dirs == "" {
		dirs = "/etc/xdg"
	}
	for _, d := range filepath.SplitList(dirs) {
		if d != "" {
			files = append(files, filepath.Join(d, "pip", "pip.conf"))
		}
	}
	files = append(files, "/etc/pip.conf")
	envFileExists := false
	if envFile != "" {
		if _, err := os.Stat(envFile); err == nil {
			envFileExists = true
		}
	}
	if !envFileExists {
		if home != "" {
			files = append(files, filepath.Join(home, ".pip", "pip.conf"))
		}
		cfgHome := env["XDG_CONFIG_HOME"]
		if cfgHome == "" && home != "" {
			cfgHome = filepath.Join(home, ".config")
		}
		if cfgHome != "" {
			files = append(files, filepath.Join(cfgHome, "pip", "pip.conf"))
		}
	}
	if venv := env["VIRTUAL_ENV"]; venv != "" {
		files = append(files, filepath.Join(venv, "pip.conf"))
	}
	if envFile != "" {
		files = append(files, envFile)
	}
	return files
}

func readPipConfig(env map[string]string) (*pipConfig, error) {
	c := &pipConfig{values: map[string]string{}, files: map[string]string{}}
	for _, f := range pipConfigFiles(env) {
		data, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, failure.User(fmt.Errorf("reading pip configuration %q: %w", f, err))
		}
		if err := parseINI(data, func(section, key, value string) {
			k := section + "." + strings.ReplaceAll(strings.ToLower(strings.TrimLeft(key, "-")), "_", "-")
			c.values[k] = value
			c.files[k] = f
		}); err != nil {
			return nil, failure.User(fmt.Errorf("reading pip configuration %q: %w", f, err))
		}
	}
	return c, nil
}

// parseINI reads the configparser dialect pip uses: [section] headers,
// "key = value" or "key: value", indented continuation lines appended with
// a newline, full-line comments starting with "#" or ";".
func parseINI(data []byte, set func(section, key, value string)) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	section, key, value := "", "", ""
	flush := func() {
		if key != "" {
			set(section, key, strings.TrimSpace(value))
		}
		key, value = "", ""
	}
	lineNo := 0
	for sc.Scan() {
		lineNo++
		raw := sc.Text()
		trimmed := strings.TrimSpace(raw)
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		if raw[0] == ' ' || raw[0] == '\t' {
			if key == "" {
				return fmt.Errorf("line %d: continuation line %q without a key", lineNo, trimmed)
			}
			value += "\n" + trimmed
			continue
		}
		flush()
		if trimmed[0] == '[' {
			end := strings.IndexByte(trimmed, ']')
			if end < 0 {
				return fmt.Errorf("line %d: unterminated section header %q", lineNo, trimmed)
			}
			section = strings.TrimSpace(trimmed[1:end])
			continue
		}
		i := strings.IndexAny(trimmed, "=:")
		if i <= 0 {
			return fmt.Errorf("line %d: expected \"key = value\", got %q", lineNo, trimmed)
		}
		if section == "" {
			return fmt.Errorf("line %d: key %q before any [section]", lineNo, strings.TrimSpace(trimmed[:i]))
		}
		key, value = strings.TrimSpace(trimmed[:i]), trimmed[i+1:]
	}
	flush()
	return sc.Err()
}
