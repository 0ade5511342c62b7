package metaflow

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind is the kind of a Python token; only what flow files need.
type tokKind int

const (
	tokName tokKind = iota
	tokNumber
	tokString
	tokOp
)

type token struct {
	kind tokKind
	text string // the source text, quotes and prefix included for strings
	pos  Position
	off  int // byte offset of the token in the file
}

// logicalLine is one Python logical line: the tokens between two NEWLINEs,
// with the indentation width of its first physical line.
type logicalLine struct {
	indent int
	toks   []token
}

// tokenize splits Python source into logical lines. It knows strings
// (prefixes, triple quotes, f-string replacement fields), comments, implicit
// line joining inside brackets and explicit joining with a backslash, which is
// all a flow file's structure and its decorator arguments need.
func tokenize(file string, src []byte) ([]logicalLine, error) {
	t := &tokenizer{file: file, src: src, line: 1, lineStart: 0}
	if bytes.HasPrefix(src, []byte("\ufeff")) { // a UTF-8 byte order mark
		t.i, t.lineStart = 3, 3
	}
	return t.run()
}

type tokenizer struct {
	file      string
	src       []byte
	i         int
	line      int
	lineStart int
	brackets  []token // open brackets, for implicit line joining and errors
}

func (t *tokenizer) pos(off int) Position {
	return Position{File: t.file, Line: t.line, Col: off - t.lineStart + 1}
}

func (t *tokenizer) newline(off int) {
	t.line++
	t.lineStart = off
}

var pyOps = []string{
	"**=", "//=", ">>=", "<<=", "...", "->", ":=", "**", "//", "<<", ">>", "<=", ">=", "==", "!=",
	"+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=",
}

func (t *tokenizer) run() ([]logicalLine, error) {
	var lines []logicalLine
	var cur *logicalLine
	atLineStart := true
	for t.i < len(t.src) {
		if atLineStart && len(t.brackets) == 0 && cur == nil {
			// Measure indentation; skip blank and comment-only lines.
			width, j := 0, t.i
			for j < len(t.src) && (t.src[j] == ' ' || t.src[j] == '\t' || t.src[j] == '\f') {
				if t.src[j] == '\t' {
					width = (width/8 + 1) * 8
				} else if t.src[j] == ' ' {
					width++
				}
				j++
			}
			t.i = j
			if j >= len(t.src) {
				break
			}
			switch t.src[j] {
			case '#':
				for t.i < len(t.src) && t.src[t.i] != '\n' {
					t.i++
				}
				continue
			case '\r', '\n':
				if t.src[j] == '\r' && j+1 < len(t.src) && t.src[j+1] == '\n' {
					t.i++
				}
				t.i++
				t.newline(t.i)
				continue
			}
			lines = append(lines, logicalLine{indent: width})
			cur = &lines[len(lines)-1]
			atLineStart = false
		}
		c := t.src[t.i]
		switch {
		case c == ' ' || c == '\t' || c == '\f':
			t.i++
		case c == '#':
			for t.i < len(t.src) && t.src[t.i] != '\n' {
				t.i++
			}
		case c == '\r' || c == '\n':
			if c == '\r' && t.i+1 < len(t.src) && t.src[t.i+1] == '\n' {
				t.i++
			}
			t.i++
			t.newline(t.i)
			if len(t.brackets) == 0 {
				cur = nil
				atLineStart = true
			}
		case c == '\\':
			j := t.i + 1
			if j < len(t.src) && t.src[j] == '\r' {
				j++
			}
			if j >= len(t.src) || t.src[j] != '\n' {
				return nil, errorf(t.pos(t.i), "unexpected character after line continuation character")
			}
			t.i = j + 1
			t.newline(t.i)
		default:
			tok, err := t.next()
			if err != nil {
				return nil, err
			}
			if cur == nil { // a continuation line inside brackets after a blank start
				lines = append(lines, logicalLine{})
				cur = &lines[len(lines)-1]
			}
			cur.toks = append(cur.toks, tok)
		}
	}
	if len(t.brackets) > 0 {
		b := t.brackets[len(t.brackets)-1]
		return nil, errorf(b.pos, "%q was never closed", b.text)
	}
	return lines, nil
}

// Python identifiers (PEP 3131): XID_Start then XID_Continue characters,
// approximated with the Unicode categories they are made of.
func isIdentStart(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_ID_Start, r)
}

func isIdentPart(r rune) bool {
	return isIdentStart(r) || unicode.In(r, unicode.Mn, unicode.Mc, unicode.Nd, unicode.Pc) || unicode.Is(unicode.Other_ID_Continue, r) ||
		r >= 0xE0100 && r <= 0xE01EF // variation selectors
}

// next reads one token at t.i (not whitespace, comment or newline).
func (t *tokenizer) next() (token, error) {
	start := t.i
	pos := t.pos(start)
	c := t.src[start]
	r, size := utf8.DecodeRune(t.src[start:])
	switch {
	case isIdentStart(r):
		j := start + size
		for j < len(t.src) {
			r2, s2 := utf8.DecodeRune(t.src[j:])
			if !isIdentPart(r2) {
				break
			}
			j += s2
		}
		word := string(t.src[start:j])
		if j < len(t.src) && (t.src[j] == '\'' || t.src[j] == '"') && isStringPrefix(word) {
			return t.str(start, j, pos)
		}
		t.i = j
		return token{kind: tokName, text: word, pos: pos, off: start}, nil
	case c == '\'' || c == '"':
		return t.str(start, start, pos)
	case c >= '0' && c <= '9' || c == '.' && start+1 < len(t.src) && t.src[start+1] >= '0' && t.src[start+1] <= '9':
		j := start
		for j < len(t.src) {
			d := t.src[j]
			if d >= '0' && d <= '9' || d >= 'a' && d <= 'z' || d >= 'A' && d <= 'Z' || d == '_' || d == '.' {
				j++
				continue
			}
			if (d == '+' || d == '-') && j > start && (t.src[j-1] == 'e' || t.src[j-1] == 'E') && !strings.HasPrefix(strings.ToLower(string(t.src[start:j])), "0x") {
				j++
				continue
			}
			break
		}
		t.i = j
		return token{kind: tokNumber, text: string(t.src[start:j]), pos: pos, off: start}, nil
	}
	for _, op := range pyOps {
		if strings.HasPrefix(string(t.src[start:min(len(t.src), start+3)]), op) {
			t.i = start + len(op)
			return token{kind: tokOp, text: op, pos: pos, off: start}, nil
		}
	}
	tok := token{kind: tokOp, text: string(c), pos: pos, off: start}
	switch c {
	case '(', '[', '{':
		t.brackets = append(t.brackets, tok)
	case ')', ']', '}':
		if len(t.brackets) == 0 {
			return token{}, errorf(pos, "unmatched %q", string(c))
		}
		open := t.brackets[len(t.brackets)-1]
		if closing[open.text] != string(c) {
			return token{}, errorf(pos, "closing parenthesis %q does not match opening parenthesis %q at %d:%d", string(c), open.text, open.pos.Line, open.pos.Col)
		}
		t.brackets = t.brackets[:len(t.brackets)-1]
	case '+', '-', '*', '/', '%', '@', '&', '|', '^', '~', '<', '>', '=', '.', ',', ':', ';', '!':
	default:
		return token{}, errorf(pos, "invalid character %q", string(r))
	}
	t.i = start + 1
	return tok, nil
}

var closing = map[string]string{"(": ")", "[": "]", "{": "}"}

func isStringPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "u", "b", "f", "t", "br", "rb", "fr", "rf", "tr", "rt":
		return true
	}
	return false
}

// str reads a string literal whose prefix starts at start and quote at q.
func (t *tokenizer) str(start, q int, pos Position) (token, error) {
	prefix := strings.ToLower(string(t.src[start:q]))
	formatted := strings.ContainsAny(prefix, "ft")
	quote := t.src[q]
	triple := q+2 < len(t.src) && t.src[q+1] == quote && t.src[q+2] == quote
	j := q + 1
	if triple {
		j = q + 3
	}
	depth := 0 // replacement-field depth inside an f-string
	for {
		if j >= len(t.src) {
			if triple {
				return token{}, errorf(pos, "unterminated triple-quoted string literal")
			}
			return token{}, errorf(pos, "unterminated string literal")
		}
		c := t.src[j]
		switch {
		case c == '\\':
			if formatted && j+1 < len(t.src) && (t.src[j+1] == '{' || t.src[j+1] == '}') {
				j++ // a backslash does not escape an f-string's braces
				continue
			}
			if j+1 < len(t.src) && t.src[j+1] == '\n' {
				t.newline(j + 2)
			}
			// A backslash keeps the next character in the literal, raw
			// strings included (r"\"" is one quote).
			j += 2
			continue
		case c == '\n':
			if !triple && depth == 0 {
				return token{}, errorf(pos, "unterminated string literal")
			}
			j++
			t.newline(j)
			continue
		case formatted && c == '{':
			if depth == 0 && j+1 < len(t.src) && t.src[j+1] == '{' {
				j += 2
				continue
			}
			depth++
		case formatted && c == '}' && depth > 0:
			depth--
		case depth > 0 && (c == '\'' || c == '"'):
			// A nested string inside a replacement field.
			save := t.i
			t.i = j
			if _, err := t.str(j, j, t.pos(j)); err != nil {
				return token{}, err
			}
			j = t.i
			t.i = save
			continue
		case c == quote && depth == 0:
			if !triple {
				t.i = j + 1
				return token{kind: tokString, text: string(t.src[start : j+1]), pos: pos, off: start}, nil
			}
			if j+2 < len(t.src) && t.src[j+1] == quote && t.src[j+2] == quote {
				t.i = j + 3
				return token{kind: tokString, text: string(t.src[start : j+3]), pos: pos, off: start}, nil
			}
		}
		j++
	}
}
