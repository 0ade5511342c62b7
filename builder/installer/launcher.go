package installer

import (
	"fmt"
	"strings"

	"github.com/envbuild/envbuild/builder/layout"
)

// entryPoint is a console or GUI script to generate.
type entryPoint struct {
	name   string // the script's file name in bin
	module string // "pkg.cli"
	attr   string // "main" or "App.run"
}

// parseEntryPoint reads "NAME = module:attr [extras]" (name given
// separately as key) and checks that it makes valid Python and a safe file
// name.
func parseEntryPoint(name, value string) (entryPoint, error) {
	name = strings.TrimSpace(name)
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return entryPoint{}, fmt.Errorf("entry point name %q is not a file name", name)
	}
	v := strings.TrimSpace(value)
	if i := strings.IndexByte(v, '['); i >= 0 {
		if !strings.HasSuffix(v, "]") {
			return entryPoint{}, fmt.Errorf("entry point %q: %q has an unclosed extras list", name, value)
		}
		v = strings.TrimSpace(v[:i])
	}
	module, attr, ok := strings.Cut(v, ":")
	module, attr = strings.TrimSpace(module), strings.TrimSpace(attr)
	if !ok || attr == "" {
		return entryPoint{}, fmt.Errorf("entry point %q: %q names no callable; want module:function", name, value)
	}
	if !dottedName(module) || !dottedName(attr) {
		return entryPoint{}, fmt.Errorf("entry point %q: %q is not module:function with Python identifiers", name, value)
	}
	return entryPoint{name: name, module: module, attr: attr}, nil
}

func dottedName(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for i, r := range part {
			switch {
			case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			case r >= '0' && r <= '9' && i > 0:
			case r > 127: // Python allows non-ASCII identifiers
			default:
				return false
			}
		}
	}
	return true
}

// script returns the launcher: a Python file that imports the callable and
// exits with what it returns.
func (e entryPoint) script() []byte {
	head, _, _ := strings.Cut(e.attr, ".")
	var b strings.Builder
	b.WriteString("#!" + layout.Python + "\n")
	b.WriteString("# -*- coding: utf-8 -*-\n")
	b.WriteString("import re\n")
	b.WriteString("import sys\n")
	fmt.Fprintf(&b, "from %s import %s\n", e.module, head)
	b.WriteString("if __name__ == \"__main__\":\n")
	b.WriteString("    sys.argv[0] = re.sub(r\"(-script\\.pyw|\\.exe)?$\", \"\", sys.argv[0])\n")
	fmt.Fprintf(&b, "    sys.exit(%s())\n", e.attr)
	return []byte(b.String())
}

// parseEntryPointsINI reads entry_points.txt and returns the entries of the
// wanted sections, in file order.
func parseEntryPointsINI(data []byte, sections ...string) ([]entryPoint, error) {
	want := map[string]bool{}
	for _, s := range sections {
		want[s] = true
	}
	var out []entryPoint
	section := ""
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: section header %q has no closing bracket", i+1, line)
			}
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		if !want[section] {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: %q is not NAME = module:function", i+1, line)
		}
		ep, err := parseEntryPoint(k, v)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		out = append(out, ep)
	}
	return out, nil
}
