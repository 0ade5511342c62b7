package metaflow

import (
	"strings"
)

// rawDecorator is one decorator as written (static reader) or as Metaflow
// holds it after loading (Metaflow reader), before any merging.
type rawDecorator struct {
	name   string // last component of the dotted name: "pypi" for @metaflow.pypi
	pos    Position
	args   map[string]value // keyword arguments
	order  []string         // keyword names in source order
	nposit int              // number of positional arguments
	star   *value           // a *args or **kwargs argument, which makes every argument computed
}

type rawStep struct {
	name       string
	pos        Position
	decorators []rawDecorator
}

type rawFlow struct {
	name       string
	pos        Position
	decorators []rawDecorator
	steps      []rawStep
}

// pyClass and pyFunc are what the structural scan records.
type pyClass struct {
	name       string
	pos        Position
	bases      []value
	decorators []rawDecorator
	methods    []*pyFunc
}

type pyFunc struct {
	name       string
	pos        Position
	decorators []rawDecorator
}

// parseFlowSource finds the flow class of a flow file and its steps with
// their decorators as written.
func parseFlowSource(file string, src []byte) (*rawFlow, error) {
	lines, err := tokenize(file, src)
	if err != nil {
		return nil, err
	}
	type block struct {
		indent int
		class  *pyClass // nil for a def
	}
	var (
		classes []*pyClass
		stack   []block
		pending []rawDecorator
		pendAt  Position
		aliases = map[string]string{} // from metaflow import pypi as p: p -> pypi
	)
	for _, ln := range lines {
		if len(ln.toks) == 0 {
			continue
		}
		for len(stack) > 0 && stack[len(stack)-1].indent >= ln.indent {
			stack = stack[:len(stack)-1]
		}
		toks := ln.toks
		first := toks[0]
		switch {
		case first.kind == tokOp && first.text == "@":
			if len(pending) == 0 {
				pendAt = first.pos
			}
			d, err := parseDecorator(toks[1:], first.pos, src)
			if err != nil {
				return nil, err
			}
			pending = append(pending, d)
		case first.kind == tokName && first.text == "class":
			if len(toks) < 2 || toks[1].kind != tokName {
				return nil, errorf(first.pos, "invalid syntax: expected a class name")
			}
			c := &pyClass{name: toks[1].text, pos: first.pos, decorators: pending}
			if len(toks) > 2 && toks[2].text == "(" {
				p := &exprParser{toks: toks, i: 3, file: file, src: src}
				for p.i < len(toks) && toks[p.i].text != ")" {
					if toks[p.i].kind == tokName && p.i+1 < len(toks) && toks[p.i+1].text == "=" {
						p.i += 2 // metaclass=...
					}
					c.bases = append(c.bases, p.expr())
					if p.err != nil {
						return nil, p.err
					}
					if p.i < len(toks) && toks[p.i].text == "," {
						p.i++
					}
				}
			}
			classes = append(classes, c)
			pending = nil
			stack = append(stack, block{indent: ln.indent, class: c})
		case first.kind == tokName && (first.text == "def" || first.text == "async" && len(toks) > 1 && toks[1].text == "def"):
			nameAt := 1
			if first.text == "async" {
				nameAt = 2
			}
			if len(toks) <= nameAt || toks[nameAt].kind != tokName {
				return nil, errorf(first.pos, "invalid syntax: expected a function name")
			}
			f := &pyFunc{name: toks[nameAt].text, pos: first.pos, decorators: pending}
			if len(stack) > 0 && stack[len(stack)-1].class != nil {
				c := stack[len(stack)-1].class
				c.methods = append(c.methods, f)
			}
			pending = nil
			stack = append(stack, block{indent: ln.indent})
		default:
			if len(pending) > 0 {
				return nil, errorf(pendAt, "invalid syntax: a decorator must be followed by def or class")
			}
			importAliases(toks, aliases)
		}
	}
	if len(pending) > 0 {
		return nil, errorf(pendAt, "invalid syntax: a decorator must be followed by def or class")
	}
	rename := func(ds []rawDecorator) {
		for i := range ds {
			if real, ok := aliases[ds[i].name]; ok {
				ds[i].name = real
			}
		}
	}
	for _, c := range classes {
		rename(c.decorators)
		for _, m := range c.methods {
			rename(m.decorators)
		}
	}
	return pickFlow(file, classes, aliases)
}

// importAliases records the names a `from metaflow import a as b, …` line
// gives to Metaflow's decorators and FlowSpec.
func importAliases(toks []token, aliases map[string]string) {
	if len(toks) < 4 || toks[0].text != "from" || toks[1].text != "metaflow" || toks[2].text != "import" {
		return
	}
	for i := 3; i < len(toks); i++ {
		if toks[i].kind == tokName && i+2 < len(toks) && toks[i+1].text == "as" && toks[i+2].kind == tokName {
			aliases[toks[i+2].text] = toks[i].text
			i += 2
		}
	}
}

// parseDecorator parses the expression after '@'.
func parseDecorator(toks []token, at Position, src []byte) (rawDecorator, error) {
	if len(toks) == 0 || toks[0].kind != tokName {
		return rawDecorator{pos: at}, nil // something exotic; not one of ours
	}
	d := rawDecorator{pos: toks[0].pos, args: map[string]value{}}
	i := 0
	var name []string
	for {
		if i >= len(toks) || toks[i].kind != tokName {
			return rawDecorator{pos: at}, nil
		}
		name = append(name, toks[i].text)
		i++
		if i < len(toks) && toks[i].text == "." {
			i++
			continue
		}
		break
	}
	d.name = name[len(name)-1]
	if i == len(toks) {
		return d, nil
	}
	if toks[i].text != "(" {
		// @x[...] or @x.y(...)(...): not a decorator envbuild reads.
		return rawDecorator{pos: d.pos}, nil
	}
	p := &exprParser{toks: toks, i: i + 1, file: at.File, src: src}
	for p.i < len(toks) && toks[p.i].text != ")" {
		t := toks[p.i]
		switch {
		case t.text == "*" || t.text == "**":
			p.i++
			v := p.expr()
			v = value{kind: valComputed, pos: t.pos, src: t.text + v.src}
			d.star = &v
		case t.kind == tokName && p.i+1 < len(toks) && toks[p.i+1].text == "=":
			p.i += 2
			v := p.expr()
			if _, dup := d.args[t.text]; dup && p.err == nil {
				return d, errorf(t.pos, "@%s: keyword argument repeated: %s", d.name, t.text)
			}
			d.args[t.text] = v
			d.order = append(d.order, t.text)
		default:
			p.expr()
			d.nposit++
		}
		if p.err != nil {
			return d, p.err
		}
		if p.i < len(toks) && toks[p.i].text == "," {
			p.i++
		} else if p.i < len(toks) && toks[p.i].text != ")" {
			return d, errorf(toks[p.i].pos, "invalid syntax in @%s(...): unexpected %q", d.name, toks[p.i].text)
		}
	}
	if p.i+1 < len(toks) {
		// @pypi(...)(...) or @pypi(...).x: not a plain decorator call.
		return rawDecorator{pos: d.pos}, nil
	}
	return d, nil
}

// exprParser reads one Python expression from a logical line and evaluates
// it as a literal when it is one.
type exprParser struct {
	toks []token
	i    int
	file string
	src  []byte // the file, for the source text of computed expressions
	err  error
	// depth counts the expressions being read around the current one.
	depth int
}

// maxNesting bounds how deeply expressions nest (brackets, unary
// operators): the parser recurses once per level. CPython's own parser
// refuses 200 nested parentheses.
const maxNesting = 200

func (p *exprParser) peek() *token {
	if p.i < len(p.toks) {
		return &p.toks[p.i]
	}
	return nil
}

// expr parses an expression up to a top-level ',', ')', ']', '}' or ':'.
// Anything beyond a literal makes the whole expression computed.
func (p *exprParser) expr() value {
	start := p.i
	v := p.unary()
	if p.err != nil {
		return v
	}
	if t := p.peek(); t != nil && !isExprEnd(t) {
		// An operator, a conditional, a comprehension clause...
		p.skipToEnd()
		return p.computed(start)
	}
	return v
}

func isExprEnd(t *token) bool {
	if t.kind != tokOp {
		return false
	}
	switch t.text {
	case ",", ")", "]", "}", ":", "=":
		return true
	}
	return false
}

// skipToEnd moves past the rest of an expression, keeping brackets balanced.
func (p *exprParser) skipToEnd() {
	depth := 0
	for p.i < len(p.toks) {
		t := &p.toks[p.i]
		if t.kind == tokOp {
			switch t.text {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				if depth == 0 {
					return
				}
				depth--
			case ",", ":", "=":
				if depth == 0 {
					return
				}
			}
		}
		p.i++
	}
}

func (p *exprParser) computed(start int) value {
	first, last := p.toks[start], p.toks[max(start, p.i-1)]
	src := strings.Join(strings.Fields(string(p.src[first.off:last.off+len(last.text)])), " ")
	return value{kind: valComputed, pos: first.pos, src: src}
}

func (p *exprParser) unary() value {
	t := p.peek()
	if t == nil {
		p.err = errorf(p.toks[len(p.toks)-1].pos, "invalid syntax: expression expected")
		return value{}
	}
	if p.depth >= maxNesting {
		p.err = errorf(t.pos, "expression nested more than %d levels deep", maxNesting)
		return value{}
	}
	p.depth++
	defer func() { p.depth-- }()
	if t.kind == tokOp && t.text == "~" {
		start := p.i
		p.i++
		p.unary()
		return p.computed(start)
	}
	if t.kind == tokOp && (t.text == "-" || t.text == "+") {
		start := p.i
		p.i++
		v := p.unary()
		if v.kind == valNum {
			if t.text == "-" {
				v.str = "-" + v.str
			}
			v.pos = t.pos
			return v
		}
		return p.computed(start)
	}
	start := p.i
	v := p.atom()
	if p.err != nil {
		return v
	}
	// Trailers: attribute access, calls and subscripts make it computed.
	computed := false
	for {
		n := p.peek()
		if n == nil || n.kind != tokOp || (n.text != "." && n.text != "(" && n.text != "[") {
			break
		}
		computed = true
		if n.text == "." {
			p.i += 2
			continue
		}
		p.i++
		p.skipBracket()
	}
	if computed {
		return p.computed(start)
	}
	return v
}

// skipBracket skips past the bracket that closes the one just consumed.
func (p *exprParser) skipBracket() {
	depth := 1
	for p.i < len(p.toks) && depth > 0 {
		switch p.toks[p.i].text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
		}
		p.i++
	}
}

func (p *exprParser) atom() value {
	t := p.toks[p.i]
	switch t.kind {
	case tokName:
		p.i++
		switch t.text {
		case "True", "False":
			return value{kind: valBool, b: t.text == "True", pos: t.pos}
		case "None":
			return value{kind: valNone, pos: t.pos}
		case "lambda":
			// lambda ARGS: BODY: the ':' ends the parameters, not the expression.
			start := p.i - 1
			for depth := 0; p.i < len(p.toks); p.i++ {
				x := p.toks[p.i].text
				if depth == 0 && x == ":" {
					break
				}
				switch x {
				case "(", "[", "{":
					depth++
				case ")", "]", "}":
					depth--
				}
			}
			if p.i < len(p.toks) {
				p.i++
				p.expr()
			}
			return p.computed(start)
		case "not", "await", "yield":
			start := p.i - 1
			p.skipToEnd()
			return p.computed(start)
		}
		return value{kind: valComputed, pos: t.pos, src: t.text}
	case tokNumber:
		p.i++
		return value{kind: valNum, str: strings.ReplaceAll(t.text, "_", ""), pos: t.pos}
	case tokString:
		var b strings.Builder
		kind, formatted := valStr, false
		for i := 0; p.i < len(p.toks) && p.toks[p.i].kind == tokString; i++ {
			s, isBytes, f, err := unquote(p.toks[p.i].text)
			if err != nil {
				p.err = &Error{Pos: p.toks[p.i].pos, Msg: "invalid string literal", Err: err}
				return value{}
			}
			if i > 0 && (kind == valBytes) != isBytes {
				p.err = errorf(p.toks[p.i].pos, "invalid syntax: cannot mix bytes and nonbytes literals")
				return value{}
			}
			if isBytes {
				kind = valBytes
			}
			formatted = formatted || f
			b.WriteString(s)
			p.i++
		}
		if formatted {
			return value{kind: valComputed, pos: t.pos, src: "f-string " + t.text}
		}
		return value{kind: kind, str: b.String(), pos: t.pos}
	}
	switch t.text {
	case "(":
		p.i++
		if n := p.peek(); n != nil && n.text == ")" {
			p.i++
			return value{kind: valList, pos: t.pos}
		}
		first := p.expr()
		if p.err != nil {
			return first
		}
		n := p.peek()
		if n != nil && n.text == ")" {
			p.i++
			return first // parenthesised expression
		}
		v := value{kind: valList, pos: t.pos, list: []value{first}}
		return p.sequence(v, ")")
	case "[":
		p.i++
		return p.sequence(value{kind: valList, pos: t.pos}, "]")
	case "{":
		p.i++
		return p.dict(t)
	}
	if t.text == "*" || t.text == "**" {
		p.i++
		p.unary()
		return p.computed(p.i - 1)
	}
	p.err = errorf(t.pos, "invalid syntax: unexpected %q", t.text)
	return value{}
}

// sequence reads the rest of a list or tuple whose opening bracket (and, for
// tuples, first element) were read.
func (p *exprParser) sequence(v value, end string) value {
	start := p.i
	for {
		n := p.peek()
		if n == nil {
			p.err = errorf(v.pos, "%q was never closed", map[string]string{")": "(", "]": "["}[end])
			return v
		}
		if n.text == end {
			p.i++
			return v
		}
		if n.text == "," {
			p.i++
			continue
		}
		if n.kind == tokName && n.text == "for" {
			p.skipBracket()
			return p.computed(start - 1)
		}
		e := p.expr()
		if p.err != nil {
			return v
		}
		v.list = append(v.list, e)
		if n := p.peek(); n != nil && n.text != "," && n.text != end {
			if n.kind == tokName && n.text == "for" {
				continue
			}
			p.err = errorf(n.pos, "invalid syntax: unexpected %q", n.text)
			return v
		}
	}
}

func (p *exprParser) dict(open token) value {
	v := value{kind: valDict, pos: open.pos}
	start := p.i - 1
	isSet := false
	for {
		n := p.peek()
		if n == nil {
			p.err = errorf(open.pos, "%q was never closed", "{")
			return v
		}
		switch {
		case n.text == "}":
			p.i++
			if isSet {
				v.kind = valSet
			}
			return v
		case n.text == ",":
			p.i++
			continue
		case n.text == "**":
			p.i++
			p.unary()
			p.skipBracketFrom(start)
			return p.computed(start)
		case n.kind == tokName && n.text == "for":
			p.skipBracketFrom(start)
			return p.computed(start)
		}
		k := p.expr()
		if p.err != nil {
			return v
		}
		if c := p.peek(); c != nil && c.text == ":" {
			p.i++
			val := p.expr()
			if p.err != nil {
				return v
			}
			v.keys = append(v.keys, k)
			v.vals = append(v.vals, val)
		} else {
			isSet = true
			v.list = append(v.list, k)
		}
		if n := p.peek(); n != nil && n.text != "," && n.text != "}" {
			if n.kind == tokName && n.text == "for" {
				continue
			}
			p.err = errorf(n.pos, "invalid syntax: unexpected %q", n.text)
			return v
		}
	}
}

// skipBracketFrom moves past the bracket opened at token index start.
func (p *exprParser) skipBracketFrom(start int) {
	p.i = start + 1
	p.skipBracket()
}
