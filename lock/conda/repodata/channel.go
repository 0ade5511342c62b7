package repodata

import (
	"github.com/envbuild/envbuild/internal/httpc"

	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DefaultChannelAlias is where channel names resolve when no channel_alias
// is configured.
const DefaultChannelAlias = "https://conda.anaconda.org/"

// DefaultChannels is used when neither the spec, CONDA_CHANNELS nor
// .condarc names a channel.
var DefaultChannels = []string{"conda-forge"}

// defaultsURLs is what the channel name "defaults" stands for.
var defaultsURLs = []string{"https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"}

// Channel is a resolved channel: the name it was given by and the URL its
// subdirs live under (no trailing slash), both without credentials or
// token, as a lock file records them.
type Channel struct {
	Name string
	URL  string
	// Auth is the channel's URL as the user gave it, when it carries
	// credentials ("https://user:pass@host/chan") or an anaconda-style
	// token ("https://host/t/TOKEN/chan"); "" otherwise. Requests use it;
	// nothing records or prints it.
	Auth string
}

// withAuth makes the Channel of a URL that may carry credentials or a
// token: Name and URL stripped of them, Auth the URL as given.
func withAuth(name, rawURL string) Channel {
	clean := httpc.StripURL(rawURL)
	ch := Channel{Name: httpc.StripURL(name), URL: clean}
	if clean != rawURL {
		ch.Auth = rawURL
	}
	return ch
}

// ResolveChannel turns a channel name ("conda-forge", "pkgs/main") or URL
// into a Channel. Names resolve against alias (DefaultChannelAlias when
// empty); URLs (http, https, file) and absolute paths are used as given.
// "defaults" is not accepted here: use ResolveChannels, which expands it.
func ResolveChannel(name, alias string) (Channel, error) {
	n := strings.TrimSpace(name)
	if n == "" {
		return Channel{}, fmt.Errorf("resolving conda channel %q: empty name", name)
	}
	switch {
	case strings.HasPrefix(n, "http://"), strings.HasPrefix(n, "https://"):
		return withAuth(strings.TrimRight(n, "/"), strings.TrimRight(n, "/")), nil
	case strings.HasPrefix(n, "file://"):
		return Channel{Name: strings.TrimRight(n, "/"), URL: strings.TrimRight(n, "/")}, nil
	case strings.HasPrefix(n, "/"):
		return Channel{Name: strings.TrimRight(n, "/"), URL: "file://" + strings.TrimRight(filepath.ToSlash(n), "/")}, nil
	case strings.Contains(n, "://"):
		return Channel{}, fmt.Errorf("resolving conda channel %q: unsupported URL scheme; use http, https or file", httpc.Redact(name))
	}
	if strings.ContainsAny(n, " \t:") {
		return Channel{}, fmt.Errorf("resolving conda channel %q: a channel name holds no spaces or ':'", httpc.Redact(name))
	}
	if alias == "" {
		alias = DefaultChannelAlias
	}
	n = strings.Trim(n, "/")
	ch := withAuth(n, strings.TrimRight(alias, "/")+"/"+n)
	ch.Name = n
	return ch, nil
}

// ResolveChannels resolves names in order, expanding "defaults" to
// Anaconda's pkgs/main and pkgs/r, and dropping repeats.
func ResolveChannels(names []string, alias string) ([]Channel, error) {
	var out []Channel
	seen := map[string]bool{}
	for _, n := range names {
		var chs []Channel
		if strings.TrimSpace(n) == "defaults" {
			for _, u := range defaultsURLs {
				chs = append(chs, Channel{Name: strings.TrimPrefix(u, "https://repo.anaconda.com/"), URL: u})
			}
		} else {
			ch, err := ResolveChannel(n, alias)
			if err != nil {
				return nil, err
			}
			chs = []Channel{ch}
		}
		for _, ch := range chs {
			if !seen[ch.URL] {
				seen[ch.URL] = true
				out = append(out, ch)
			}
		}
	}
	return out, nil
}

// Condarc is the part of a .condarc envbuild reads.
type Condarc struct {
	Channels     []string
	ChannelAlias string
}

// ReadCondarc reads channels and channel_alias from a .condarc file (the
// YAML subset described in the package documentation). A missing file is
// an empty Condarc, not an error.
func ReadCondarc(path string) (Condarc, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Condarc{}, nil
	}
	if err != nil {
		return Condarc{}, fmt.Errorf("reading %q: %w", path, err)
	}
	defer f.Close()
	var c Condarc
	sc := bufio.NewScanner(f)
	inChannels := false
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := stripComment(sc.Text())
		if strings.TrimSpace(line) == "" {
			continue
		}
		indented := line[0] == ' ' || line[0] == '\t'
		trimmed := strings.TrimSpace(line)
		if inChannels && strings.HasPrefix(trimmed, "- ") || inChannels && trimmed == "-" {
			v := unquote(strings.TrimSpace(strings.TrimPrefix(trimmed, "-")))
			if v == "" {
				return Condarc{}, fmt.Errorf("%s:%d: empty channel in the channels list", path, lineNo)
			}
			c.Channels = append(c.Channels, v)
			continue
		}
		if indented {
			// A nested key of some other top-level map: not ours.
			continue
		}
		inChannels = false
		key, val, ok := strings.Cut(trimmed, ":")
		if !ok {
			return Condarc{}, fmt.Errorf("%s:%d: expected \"key: value\", got %q", path, lineNo, trimmed)
		}
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(key) {
		case "channels":
			c.Channels = nil
			switch {
			case val == "":
				inChannels = true
			case strings.HasPrefix(val, "[") && strings.HasSuffix(val, "]"):
				for _, item := range strings.Split(val[1:len(val)-1], ",") {
					if v := unquote(strings.TrimSpace(item)); v != "" {
						c.Channels = append(c.Channels, v)
					}
				}
			default:
				return Condarc{}, fmt.Errorf("%s:%d: channels must be a list (\"- name\" lines or [a, b]), got %q", path, lineNo, val)
			}
		case "channel_alias":
			c.ChannelAlias = unquote(val)
		}
	}
	if err := sc.Err(); err != nil {
		return Condarc{}, fmt.Errorf("reading %q: %w", path, err)
	}
	return c, nil
}

func stripComment(line string) string {
	inQuote := byte(0)
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case inQuote != 0:
			if c == inQuote {
				inQuote = 0
			}
		case c == '\'' || c == '"':
			inQuote = c
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return strings.TrimRight(line[:i], " \t")
		}
	}
	return strings.TrimRight(line, " \t")
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// Config is the channel configuration of one lock: the channel names in
// priority order and the alias names resolve against.
type Config struct {
	Channels     []string
	ChannelAlias string
	// From says where Channels came from: "spec", "CONDA_CHANNELS",
	// a .condarc path, or "default".
	From string
}

// LoadConfig picks the channels: those of the spec when any, else
// CONDA_CHANNELS (comma separated), else the first .condarc with a
// channels list ($CONDARC, then ~/.condarc, then ~/.conda/.condarc), else
// DefaultChannels. channel_alias comes from CONDA_CHANNEL_ALIAS, else the
// first .condarc that sets it, else DefaultChannelAlias. getenv is
// os.Getenv in production; home is the user's home directory ("" skips the
// home files).
func LoadConfig(specChannels []string, getenv func(string) string, home string) (Config, error) {
	var files []string
	if p := getenv("CONDARC"); p != "" {
		files = append(files, p)
	}
	if home != "" {
		files = append(files, filepath.Join(home, ".condarc"), filepath.Join(home, ".conda", ".condarc"))
	}
	var rcs []Condarc
	for _, p := range files {
		rc, err := ReadCondarc(p)
		if err != nil {
			return Config{}, err
		}
		rcs = append(rcs, rc)
	}
	cfg := Config{ChannelAlias: getenv("CONDA_CHANNEL_ALIAS")}
	if cfg.ChannelAlias == "" {
		for _, rc := range rcs {
			if rc.ChannelAlias != "" {
				cfg.ChannelAlias = rc.ChannelAlias
				break
			}
		}
	}
	if cfg.ChannelAlias == "" {
		cfg.ChannelAlias = DefaultChannelAlias
	}
	switch {
	case len(specChannels) > 0:
		cfg.Channels, cfg.From = specChannels, "spec"
	case strings.TrimSpace(getenv("CONDA_CHANNELS")) != "":
		for _, c := range strings.Split(getenv("CONDA_CHANNELS"), ",") {
			if c = strings.TrimSpace(c); c != "" {
				cfg.Channels = append(cfg.Channels, c)
			}
		}
		cfg.From = "CONDA_CHANNELS"
	default:
		for i, rc := range rcs {
			if len(rc.Channels) > 0 {
				cfg.Channels, cfg.From = rc.Channels, files[i]
				break
			}
		}
		if cfg.Channels == nil {
			cfg.Channels, cfg.From = DefaultChannels, "default"
		}
	}
	return cfg, nil
}
