package repodata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// scanner is a small JSON reader for repodata's shape: it walks objects
// and skips values without building them, so an index of a channel costs
// one pass over its bytes.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("at byte %d: "+format, append([]any{s.i}, args...)...)
}

func (s *scanner) expect(c byte) error {
	s.ws()
	if s.i >= len(s.b) {
		return s.errorf("unexpected end of input, want %q", c)
	}
	if s.b[s.i] != c {
		return s.errorf("found %q, want %q", s.b[s.i], c)
	}
	s.i++
	return nil
}

// object reads an object, calling fn for each key with the scanner at the
// value; fn must consume the value. The key's bytes are only valid during
// the call.
func (s *scanner) object(fn func(key []byte) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		key, err := s.strBytes()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		s.ws()
		if err := fn(key); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.errorf("unexpected end of input in an object")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.errorf("found %q after a value, want ',' or '}'", s.b[s.i])
		}
	}
}

// stringEnd returns the index after the closing quote of the string that
// starts at s.i, and whether it holds escapes.
func (s *scanner) stringEnd() (int, bool, error) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return 0, false, s.errorf("want a string")
	}
	k := bytes.IndexByte(s.b[s.i+1:], '"')
	if k < 0 {
		return 0, false, s.errorf("unterminated string")
	}
	if bytes.IndexByte(s.b[s.i+1:s.i+1+k], '\\') < 0 {
		return s.i + 2 + k, false, nil
	}
	for j := s.i + 1; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true, nil
		}
	}
	return 0, false, s.errorf("unterminated string")
}

// strBytes reads a string without copying it when it has no escapes.
func (s *scanner) strBytes() ([]byte, error) {
	s.ws()
	end, escaped, err := s.stringEnd()
	if err != nil {
		return nil, err
	}
	raw := s.b[s.i:end]
	s.i = end
	if !escaped {
		return raw[1 : len(raw)-1], nil
	}
	var out string
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, s.errorf("bad string: %v", err)
	}
	return []byte(out), nil
}

func (s *scanner) str() (string, error) {
	s.ws()
	end, escaped, err := s.stringEnd()
	if err != nil {
		return "", err
	}
	raw := s.b[s.i:end]
	s.i = end
	if !escaped {
		return string(raw[1 : len(raw)-1]), nil
	}
	var out string
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", s.errorf("bad string: %v", err)
	}
	return out, nil
}

// null consumes a null and reports whether there was one.
func (s *scanner) null() bool {
	s.ws()
	if strings.HasPrefix(string(s.b[s.i:min(s.i+4, len(s.b))]), "null") {
		s.i += 4
		return true
	}
	return false
}

func (s *scanner) strOrNull() (string, error) {
	if s.null() {
		return "", nil
	}
	return s.str()
}

func (s *scanner) literal() []byte {
	s.ws()
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return s.b[start:s.i]
		}
		s.i++
	}
	return s.b[start:s.i]
}

func (s *scanner) int64() (int64, error) {
	if s.null() {
		return 0, nil
	}
	lit := s.literal()
	n, err := strconv.ParseInt(string(lit), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(lit), 64)
		if ferr != nil {
			return 0, s.errorf("want a number, found %q", lit)
		}
		n = int64(f)
	}
	return n, nil
}

// strList reads an array of strings (null is empty).
func (s *scanner) strList() ([]string, error) {
	if s.null() {
		return nil, nil
	}
	if err := s.expect('['); err != nil {
		return nil, err
	}
	var out []string
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return out, nil
	}
	for {
		v, err := s.str()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		s.ws()
		if s.i >= len(s.b) {
			return nil, s.errorf("unexpected end of input in an array")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return out, nil
		default:
			return nil, s.errorf("found %q in an array, want ',' or ']'", s.b[s.i])
		}
	}
}

// featureList reads track_features/features: a string of words, an array
// or null.
func (s *scanner) featureList() (StringList, error) {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '[' {
		l, err := s.strList()
		return trimList(l), err
	}
	v, err := s.strOrNull()
	if err != nil {
		return nil, err
	}
	return StringList(strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })), nil
}

// trimList trims each feature and drops empty ones ("   foo   " is foo).
func trimList(l []string) StringList {
	var out StringList
	for _, f := range l {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// skip consumes one value of any kind.
func (s *scanner) skip() error {
	s.ws()
	if s.i >= len(s.b) {
		return s.errorf("unexpected end of input, want a value")
	}
	switch s.b[s.i] {
	case '"':
		end, _, err := s.stringEnd()
		if err != nil {
			return err
		}
		s.i = end
		return nil
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				end, _, err := s.stringEnd()
				if err != nil {
					return err
				}
				s.i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return nil
				}
			}
			s.i++
		}
		return s.errorf("unexpected end of input in a nested value")
	}
	if len(s.literal()) == 0 {
		return s.errorf("found %q, want a value", s.b[s.i])
	}
	return nil
}

// decodeRecord fills r from one record object of repodata.json.
func decodeRecord(raw []byte, r *Record) error {
	s := scanner{b: raw}
	return s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "name":
			r.Name, err = s.str()
		case "version":
			s.ws()
			if s.i < len(s.b) && s.b[s.i] != '"' {
				r.Version = string(s.literal()) // a number written bare
			} else {
				r.Version, err = s.str()
			}
		case "build":
			r.Build, err = s.str()
		case "build_number":
			var n int64
			n, err = s.int64()
			r.BuildNumber = int(n)
		case "depends":
			r.Depends, err = s.strList()
		case "constrains":
			r.Constrains, err = s.strList()
		case "track_features":
			r.TrackFeatures, err = s.featureList()
		case "features":
			r.Features, err = s.featureList()
		case "license":
			r.License, err = s.strOrNull()
		case "timestamp":
			r.Timestamp, err = s.int64()
		case "sha256":
			r.SHA256, err = s.strOrNull()
		case "md5":
			r.MD5, err = s.strOrNull()
		case "size":
			r.Size, err = s.int64()
		case "subdir":
			r.Subdir, err = s.strOrNull()
		case "url":
			r.URL, err = s.strOrNull()
		case "noarch":
			s.ws()
			switch {
			case s.null():
			case s.i < len(s.b) && s.b[s.i] == '"':
				var v string
				v, err = s.str()
				r.Noarch = Noarch(v)
			default:
				switch lit := string(s.literal()); lit {
				case "true":
					r.Noarch = "generic"
				case "false":
				default:
					err = s.errorf("noarch %q is not a string or a boolean", lit)
				}
			}
		default:
			err = s.skip()
		}
		if err != nil {
			return fmt.Errorf("field %q: %w", string(key), err)
		}
		return nil
	})
}
