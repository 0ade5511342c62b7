package httpc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// netrcEntry is one machine's credentials from a netrc file.
type netrcEntry struct{ login, password string }

// netrc holds the machines of a netrc file; def is the "default" entry.
type netrc struct {
	machines map[string]netrcEntry
	def      *netrcEntry
}

// lookup returns the credentials for host (without port first, as curl and
// requests match netrc "machine" names, then with it).
func (n *netrc) lookup(host string) (netrcEntry, bool) {
	if n == nil {
		return netrcEntry{}, false
	}
	if e, ok := n.machines[host]; ok {
		return e, true
	}
	if h, _, ok := strings.Cut(host, ":"); ok {
		if e, ok := n.machines[h]; ok {
			return e, true
		}
	}
	if n.def != nil {
		return *n.def, true
	}
	return netrcEntry{}, false
}

// NetrcPath is the file to read: path if given, else $NETRC, else ~/.netrc.
func NetrcPath(path string) string {
	if path != "" {
		return path
	}
	if p := os.Getenv("NETRC"); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".netrc")
}

// readNetrc parses the netrc file at path; a missing file is no error.
func readNetrc(path string) (*netrc, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading netrc %q: %w", path, err)
	}
	n, err := parseNetrc(string(data))
	if err != nil {
		return nil, fmt.Errorf("reading netrc %q: %w", path, err)
	}
	return n, nil
}

// parseNetrc reads the tokens machine, default, login, password, account
// and macdef (whose body, up to an empty line, is skipped).
func parseNetrc(text string) (*netrc, error) {
	n := &netrc{machines: map[string]netrcEntry{}}
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		lines = append(lines, strings.TrimRight(l, "\r"))
	}
	var tokens []string
	for i := 0; i < len(lines); i++ {
		fields := strings.Fields(lines[i])
		for j, f := range fields {
			if strings.HasPrefix(f, "#") {
				break
			}
			tokens = append(tokens, f)
			if f == "macdef" {
				if j+1 < len(fields) {
					tokens = append(tokens, fields[j+1])
				}
				for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
					i++
				}
				break
			}
		}
	}
	var cur *netrcEntry
	var curMachine string
	isDefault := false
	save := func() {
		if cur == nil {
			return
		}
		if isDefault {
			e := *cur
			n.def = &e
		} else if _, dup := n.machines[curMachine]; !dup {
			n.machines[curMachine] = *cur
		}
	}
	for i := 0; i < len(tokens); i++ {
		next := func() (string, error) {
			if i+1 >= len(tokens) {
				return "", fmt.Errorf("%q at the end of the file needs a value", tokens[i])
			}
			i++
			return tokens[i], nil
		}
		switch tokens[i] {
		case "machine":
			save()
			m, err := next()
			if err != nil {
				return nil, err
			}
			cur, curMachine, isDefault = &netrcEntry{}, m, false
		case "default":
			save()
			cur, curMachine, isDefault = &netrcEntry{}, "", true
		case "login", "password", "account":
			tok := tokens[i]
			v, err := next()
			if err != nil {
				return nil, err
			}
			if cur == nil {
				return nil, fmt.Errorf("%q before any \"machine\"", tok)
			}
			switch tok {
			case "login":
				cur.login = v
			case "password":
				cur.password = v
			}
		case "macdef":
			save()
			cur = nil
			i++
		default:
			return nil, fmt.Errorf("unexpected token %q", tokens[i])
		}
	}
	save()
	return n, nil
}
