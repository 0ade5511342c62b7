package metaflow

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// valueKind is what a decorator argument evaluates to, as far as envbuild can
// tell without running Python.
type valueKind int

const (
	valNone valueKind = iota
	valBool
	valStr
	valBytes
	valNum
	valList // a list or a tuple
	valDict
	valSet
	valComputed // a name, a call, an operator, an f-string, a Config...
	valOther    // a Python object Metaflow produced that JSON cannot hold
)

func (k valueKind) String() string {
	return [...]string{"None", "a bool", "a string", "bytes", "a number", "a list", "a dict", "a set", "computed", "an object"}[k]
}

// value is a decorator argument: a literal, or something computed.
type value struct {
	kind valueKind
	str  string // valStr, valBytes; the number's text for valNum
	b    bool
	list []value
	keys []value // valDict, in source order
	vals []value
	pos  Position
	src  string // valComputed: the source text, for messages
}

func (v value) String() string {
	switch v.kind {
	case valNone:
		return "None"
	case valBool:
		if v.b {
			return "True"
		}
		return "False"
	case valStr:
		return strconv.Quote(v.str)
	case valNum:
		return v.str
	case valComputed, valOther:
		return v.src
	}
	return v.kind.String()
}

// fromJSON turns a JSON value exported by Metaflow into a value at pos.
func fromJSON(x any, pos Position) value {
	switch t := x.(type) {
	case nil:
		return value{kind: valNone, pos: pos}
	case bool:
		return value{kind: valBool, b: t, pos: pos}
	case string:
		return value{kind: valStr, str: t, pos: pos}
	case float64:
		return value{kind: valNum, str: strconv.FormatFloat(t, 'g', -1, 64), pos: pos}
	case interface{ String() string }: // json.Number
		return value{kind: valNum, str: t.String(), pos: pos}
	case []any:
		v := value{kind: valList, pos: pos}
		for _, e := range t {
			v.list = append(v.list, fromJSON(e, pos))
		}
		return v
	case map[string]any:
		if r, ok := t["__envbuild_unsupported__"].(string); ok {
			return value{kind: valOther, src: r, pos: pos}
		}
		v := value{kind: valDict, pos: pos}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v.keys = append(v.keys, value{kind: valStr, str: k, pos: pos})
			v.vals = append(v.vals, fromJSON(t[k], pos))
		}
		return v
	}
	return value{kind: valComputed, src: fmt.Sprint(x), pos: pos}
}

// unquote decodes one Python string literal token (prefix and quotes
// included). It reports bytes literals with isBytes and f-strings with
// formatted; their text is not decoded.
func unquote(lit string) (s string, isBytes, formatted bool, err error) {
	q := strings.IndexAny(lit, `'"`)
	prefix := strings.ToLower(lit[:q])
	raw := strings.Contains(prefix, "r")
	isBytes = strings.Contains(prefix, "b")
	formatted = strings.ContainsAny(prefix, "ft")
	body := lit[q:]
	n := 1
	if len(body) >= 6 && body[0] == body[1] && body[1] == body[2] {
		n = 3
	}
	body = body[n : len(body)-n]
	if raw || formatted {
		return body, isBytes, formatted, nil
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' || i+1 >= len(body) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := body[i]; e {
		case '\n':
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case 'x', 'u', 'U':
			width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+1+width > len(body) {
				return "", isBytes, false, fmt.Errorf("truncated \\%c escape", e)
			}
			r, perr := strconv.ParseUint(body[i+1:i+1+width], 16, 32)
			if perr != nil {
				return "", isBytes, false, fmt.Errorf("invalid \\%c escape %q", e, body[i-1:i+1+width])
			}
			if e == 'x' && isBytes {
				b.WriteByte(byte(r))
			} else {
				b.WriteRune(rune(r))
			}
			i += width
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j := i
			for j < len(body) && j < i+3 && body[j] >= '0' && body[j] <= '7' {
				j++
			}
			r, _ := strconv.ParseUint(body[i:j], 8, 32)
			b.WriteRune(rune(r))
			i = j - 1
		case 'N':
			return "", isBytes, false, fmt.Errorf("\\N{...} escapes are not supported; write the character itself")
		default:
			// Python keeps unknown escapes as written.
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	if !utf8.ValidString(b.String()) && !isBytes {
		return "", isBytes, false, fmt.Errorf("string is not valid UTF-8")
	}
	return b.String(), isBytes, false, nil
}
