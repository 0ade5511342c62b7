package pep440

import "strings"

// ParseSpecifiersLenient reads a specifier set the way ParseSpecifiers
// does and, when that fails, retries after repairing the mistakes common in
// published metadata (Requires-Python of old uploads, Requires-Dist of old
// wheels), so that one bad string does not hide a whole release:
//
//   - a trailing or doubled comma: ">=3.6," → ">=3.6";
//   - a missing comma: ">=7.2.0<8.0.0" → ">=7.2.0,<8.0.0";
//   - a wildcard on an ordered operator: ">=1.9.*" → ">=1.9";
//   - a wildcard without its dot: "!=3.0*" → "!=3.0.*";
//   - "!=~5.0" → "!=5.0" and a single "=": "=3.6" → "==3.6".
//
// fixed reports that a repair was needed (callers may warn). When the
// repaired string does not parse either, the error is the one of the
// original string.
func ParseSpecifiersLenient(s string) (ss Specifiers, fixed bool, err error) {
	ss, err = ParseSpecifiers(s)
	if err == nil {
		return ss, false, nil
	}
	repaired, rerr := ParseSpecifiers(repairSpecifiers(s))
	if rerr != nil {
		return nil, false, err
	}
	return repaired, true, nil
}

func repairSpecifiers(s string) string {
	// Insert the commas that are missing between a version and the next
	// operator.
	var b strings.Builder
	last := byte(0) // last non-space byte written
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte("<>=!~", c) >= 0 && (isDigit(last) || last == '*') {
			b.WriteByte(',')
		}
		b.WriteByte(c)
		if c != ' ' && c != '\t' {
			last = c
		}
	}
	var clauses []string
	for _, c := range strings.Split(b.String(), ",") {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		clauses = append(clauses, repairClause(c))
	}
	return strings.Join(clauses, ",")
}

func repairClause(c string) string {
	if rest, ok := strings.CutPrefix(c, "!=~"); ok {
		c = "!=" + rest
	}
	if len(c) >= 2 && c[0] == '=' && c[1] != '=' {
		c = "=" + c
	}
	op := ""
	for _, o := range operators {
		if strings.HasPrefix(c, string(o)) {
			op = string(o)
			break
		}
	}
	ver := strings.TrimSpace(c[len(op):])
	switch Operator(op) {
	case OpLess, OpLessEq, OpGreater, OpGreaterEq:
		ver = strings.TrimSuffix(ver, ".*")
	case OpEqual, OpNotEqual:
		if strings.HasSuffix(ver, "*") && !strings.HasSuffix(ver, ".*") {
			ver = ver[:len(ver)-1] + ".*"
		}
	}
	return op + ver
}
