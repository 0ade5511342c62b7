package metaflow

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// With is one `--with DECORATOR[:ATTR=VALUE,...]` value as Metaflow reads
// it (decorators.py, extract_step_decorator_from_decospec and
// Decorator.extract_args_kwargs_from_decorator_spec).
type With struct {
	// Decorator is the decorator's name (kubernetes, batch, retry, ...).
	Decorator string
	// Attrs are the attributes as Metaflow parses them: a JSON value when
	// the text is JSON (after `\"` becomes `"`), else an int, else a
	// float, else the text with surrounding space removed.
	Attrs map[string]any
}

// Compute reports whether the decorator runs the step in a container:
// kubernetes or batch, the _KUBERNETES_/_BATCH_ variant of the image
// lookup.
func (w With) Compute() bool { return w.Decorator == "kubernetes" || w.Decorator == "batch" }

// Image is the image= attribute; "" when absent or null (Metaflow then
// imputes its default). A value that is not a string is an error, as
// Metaflow would fail on it later.
func (w With) Image() (string, error) {
	v, ok := w.Attrs["image"]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("--with %s: image=%v is not an image name", w.Decorator, v)
	}
	return s, nil
}

// ParseWith reads one --with value the way Metaflow does: the name is what
// precedes the first ":", the attributes are split at each "," followed by
// `[\s\w]+=` (so a value may contain commas, as in image=a,b only when what
// follows the comma is not NAME=), each at its first "=".
func ParseWith(spec string) (With, error) {
	name, rest, hasAttrs := strings.Cut(spec, ":")
	w := With{Decorator: name, Attrs: map[string]any{}}
	if name == "" {
		return w, fmt.Errorf("--with %q: no decorator name", spec)
	}
	if !hasAttrs || rest == "" {
		return w, nil
	}
	for _, part := range splitAttrs(rest) {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return w, fmt.Errorf("--with %q: %q is not ATTR=VALUE", spec, part)
		}
		w.Attrs[strings.TrimSpace(k)] = attrValue(v)
	}
	return w, nil
}

// splitAttrs is re.split(r",(?=[\s\w]+=)", s).
func splitAttrs(s string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] != ',' {
			continue
		}
		// [\s\w]+ then "=": at least one word or space character.
		j, n := i+1, 0
		for _, r := range s[i+1:] {
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || unicode.IsSpace(r)) {
				break
			}
			j += len(string(r))
			n++
		}
		if n > 0 && j < len(s) && s[j] == '=' {
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// attrValue is Metaflow's value parsing: json.loads of the stripped text
// with \" turned into ", else int, else float, else the stripped text.
func attrValue(raw string) any {
	t := strings.TrimSpace(raw)
	var v any
	dec := json.NewDecoder(strings.NewReader(strings.ReplaceAll(t, `\"`, `"`)))
	dec.UseNumber()
	if err := dec.Decode(&v); err == nil && !dec.More() {
		if _, err := dec.Token(); err != nil { // nothing after the value
			if n, ok := v.(json.Number); ok {
				if i, err := n.Int64(); err == nil {
					return i
				}
				f, _ := n.Float64()
				return f
			}
			return v
		}
	}
	if i, err := strconv.ParseInt(t, 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil {
		return f
	}
	return t
}
