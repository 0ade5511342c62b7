// Package envyml reads conda's environment.yml: name, channels, and
// dependencies (conda MatchSpecs, and a pip: list read as lines of a
// requirements file). YAML aliases are refused (an environment file has
// no use for them, and they can expand without bound). Errors name
// file:line.
package envyml

import (
	"fmt"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/envbuild/envbuild/frontends/requirements"
	"github.com/envbuild/envbuild/lock/conda/matchspec"
	"github.com/envbuild/envbuild/lock/failure"
)

// Result is what an environment.yml asks for.
type Result struct {
	Name       string
	Channels   []string
	CondaSpecs []string
	// Pip is the pip: list, read as a requirements file.
	Pip *requirements.Result
}

// maxSize bounds the file read: environment files are small.
const maxSize = 4 << 20

// Load reads path; env expands ${VAR} in the pip: list, as pip would.
func Load(path string, env map[string]string) (*Result, error) {
	data, err := failure.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, path, env)
}

// Parse reads environment.yml content; name is used in messages, and the
// pip: list's includes are relative to its directory.
func Parse(data []byte, name string, env map[string]string) (*Result, error) {
	if len(data) > maxSize {
		return nil, failure.User(fmt.Errorf("%s: larger than %d bytes", name, maxSize))
	}
	bad := func(n *yaml.Node, format string, args ...any) error {
		line := 1
		if n != nil && n.Line > 0 {
			line = n.Line
		}
		return failure.User(fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, args...)))
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, failure.User(fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: ")))
	}
	if n := findAlias(&doc); n != nil {
		return nil, bad(n, "YAML anchors and aliases are not accepted in an environment file; write the values out")
	}
	if len(doc.Content) == 0 {
		return nil, failure.User(fmt.Errorf("%s: empty file", name))
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, bad(root, "want a mapping with name, channels and dependencies")
	}
	res := &Result{}
	seenDeps := false
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "name":
			if v.Kind != yaml.ScalarNode {
				return nil, bad(v, "name: want a string")
			}
			res.Name = v.Value
		case "prefix":
			// Where conda would create it; envbuild's prefix is fixed.
		case "channels":
			list, err := strings_(v, "channels", bad)
			if err != nil {
				return nil, err
			}
			for _, c := range list {
				if c == "nodefaults" {
					continue
				}
				res.Channels = append(res.Channels, c)
			}
		case "dependencies":
			seenDeps = true
			if v.Kind != yaml.SequenceNode {
				return nil, bad(v, "dependencies: want a list")
			}
			for _, item := range v.Content {
				switch item.Kind {
				case yaml.ScalarNode:
					s := strings.TrimSpace(item.Value)
					if s == "" {
						continue
					}
					if _, err := matchspec.Parse(s); err != nil {
						return nil, bad(item, "invalid conda MatchSpec %q: %v", s, err)
					}
					res.CondaSpecs = append(res.CondaSpecs, s)
				case yaml.MappingNode:
					if len(item.Content) != 2 || item.Content[0].Value != "pip" {
						return nil, bad(item, "a mapping among dependencies must be the pip: list")
					}
					list := item.Content[1]
					if list.Kind != yaml.SequenceNode {
						return nil, bad(list, "pip: want a list")
					}
					p := requirements.NewParser(env)
					if res.Pip != nil {
						return nil, bad(item, "a second pip: list")
					}
					for _, e := range list.Content {
						if e.Kind != yaml.ScalarNode {
							return nil, bad(e, "pip: each entry is a requirement line")
						}
						if err := p.Line(e.Value, name, e.Line, filepath.Dir(name), false); err != nil {
							return nil, err
						}
					}
					res.Pip = p.Result()
				default:
					return nil, bad(item, "dependencies: want MatchSpec strings and a pip: list")
				}
			}
		case "variables":
			return nil, bad(k, "variables: environment variables of the environment are not supported by envbuild; set them in the image's runtime")
		default:
			return nil, bad(k, "unknown key %q; known keys: name, channels, dependencies (prefix is ignored)", k.Value)
		}
	}
	if !seenDeps {
		return nil, failure.User(fmt.Errorf("%s: no dependencies", name))
	}
	return res, nil
}

func strings_(v *yaml.Node, key string, bad func(*yaml.Node, string, ...any) error) ([]string, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, bad(v, "%s: want a list of strings", key)
	}
	var out []string
	for _, e := range v.Content {
		if e.Kind != yaml.ScalarNode {
			return nil, bad(e, "%s: want a list of strings", key)
		}
		out = append(out, e.Value)
	}
	return out, nil
}

func findAlias(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return n
	}
	for _, c := range n.Content {
		if a := findAlias(c); a != nil {
			return a
		}
	}
	return nil
}
