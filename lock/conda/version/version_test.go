package version

import (
	"strings"
	"testing"
)

// assertSorted checks that each entry of chain sorts strictly after the one
// before it, except entries prefixed "==", which must equal their
// predecessor.
func assertSorted(t *testing.T, chain []string) {
	t.Helper()
	prev := ""
	for _, s := range chain {
		eq := strings.HasPrefix(s, "==")
		s = strings.TrimPrefix(s, "==")
		if prev != "" {
			got := MustParse(prev).Compare(MustParse(s))
			want := -1
			if eq {
				want = 0
			}
			if got != want {
				t.Errorf("Compare(%q, %q) = %d, want %d", prev, s, got, want)
			}
			if back := MustParse(s).Compare(MustParse(prev)); back != -want {
				t.Errorf("Compare(%q, %q) = %d, want %d", s, prev, back, -want)
			}
		}
		prev = s
	}
}

// The order documented in conda's "Version ordering" section.
func TestOrderCondaDocs(t *testing.T) {
	assertSorted(t, []string{
		"0.4", "==0.4.0", "0.4.1.rc", "==0.4.1.RC", "0.4.1", "0.5a1", "0.5b3", "0.5C1", "0.5",
		"0.9.6", "0.960923", "1.0", "1.1dev1", "1.1a1", "1.1.0dev1", "==1.1.dev1", "1.1.a1",
		"1.1.0rc1", "1.1.0", "==1.1", "1.1.0post1", "==1.1.post1", "1.1post1", "1996.07.12",
		"1!0.4.1", "1!3.1.1.6", "2!0.4.1",
	})
}

// OpenSSL-style versions: a trailing "_" keeps plain versions below letters.
func TestOrderOpenSSL(t *testing.T) {
	assertSorted(t, []string{
		"1.0.1dev", "1.0.1_", "1.0.1a", "1.0.1b", "1.0.1c", "1.0.1d", "1.0.1r", "1.0.1rc",
		"1.0.1rc1", "1.0.1rc2", "1.0.1s", "1.0.1", "1.0.1post.a", "1.0.1post.b", "1.0.1post.z",
		"1.0.1post.za", "1.0.2",
	})
}

// PEP 440 ordering as conda reads it (the packaging test list, with conda's
// reading of local versions).
func TestOrderPEP440(t *testing.T) {
	base := []string{
		"1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12", "1.0b1.dev456", "1.0b2",
		"1.0b2.post345.dev456", "1.0b2.post345", "1.0c1.dev456", "1.0c1", "1.0c3", "1.0rc2",
		"1.0.dev456", "1.0", "1.0.post456.dev34", "1.0.post456", "1.1.dev1",
		"1.2.r32+123456", "1.2.rev33+123456", "1.2+abc", "1.2+abc123def", "1.2+abc123",
		"1.2+123abc", "1.2+123abc456", "1.2+1234.abc", "1.2+123456",
	}
	var chain []string
	chain = append(chain, base...)
	for _, v := range base {
		chain = append(chain, "1!"+v)
	}
	assertSorted(t, chain)
}

func TestOrderMore(t *testing.T) {
	assertSorted(t, []string{
		"0.3.0.dev", "0.3.0", "0.3.3",
		"1.2.3_alpha", "==1.2.3-alpha", // '-' reads as '_' without underscores
		"1.2.3",
		"1.10", "1.11", "1.100",
		"2.0.0+1", "2.0.0+2", "2.0.0+2.1",
		"12345678901234567890123", "12345678901234567890124", "99999999999999999999999.1",
	})
	// Case-insensitive and whitespace-insensitive.
	if !MustParse(" 1.0RC1 ").Equal(MustParse("1.0rc1")) {
		t.Errorf("1.0RC1 and 1.0rc1 should be equal")
	}
	// '*' sorts below dev.
	if !MustParse("1.*").Less(MustParse("1.dev")) {
		t.Errorf("1.* should sort below 1.dev")
	}
}

// Parse vectors of rattler's version parser: the accepted ones equal the
// version written with dots.
func TestParseRattlerVectors(t *testing.T) {
	for _, c := range []struct{ in, same string }{
		{"1!1.2a.3-rc1", "1!1.2a.3.rc1"},
		{"1+2", "1.0+2"},
		{"1--", "1.0_"},
		{"1-2-3", "1.2.3"},
		{"1.0.1-", "1.0.1_"},
		{"1.0.1post.za", "1.0.1post.za"},
		{"1_", "1_"},
		{"1_2_3", "1.2.3"},
		{"1_2_3_", "1.2.3_"},
		{"1__", "1.0_"},
	} {
		v, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if !v.Equal(MustParse(c.same)) {
			t.Errorf("Parse(%q) should equal %q", c.in, c.same)
		}
	}
	for _, bad := range []string{"$", ".", "1+", "1+$", "1+.", "1-2-3_", "1-2_3", "1-_", "1@2", "1_-", "1___"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error (as rattler)", bad)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{
		"", "  ", "1.2+", "+1", "1!", "!1", "a!1", "1!!2", "1!2!3", "1.2.", ".1", "1..2",
		"1.2+a+b", "1.2+a..b", "1.2a-b_c", "$1.2", "1.2 3", "1,2", "1.2#",
	} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", s)
		}
	}
	_, err := Parse("1.2#")
	if err == nil || !strings.Contains(err.Error(), `"1.2#"`) {
		t.Errorf("Parse error %v does not quote the input", err)
	}
}

func TestString(t *testing.T) {
	for _, c := range []struct{ in, str, norm string }{
		{"1.2.3", "1.2.3", "1.2.3"},
		{" 1.0RC1", "1.0RC1", "1.0rc1"},
		{"1.2.3-alpha", "1.2.3-alpha", "1.2.3_alpha"},
		{"1!2.0+Local", "1!2.0+Local", "1!2.0+local"},
	} {
		v := MustParse(c.in)
		if got := v.String(); got != c.str {
			t.Errorf("Parse(%q).String() = %q, want %q", c.in, got, c.str)
		}
		if got := v.Normalized(); got != c.norm {
			t.Errorf("Parse(%q).Normalized() = %q, want %q", c.in, got, c.norm)
		}
	}
}

func TestStartsWith(t *testing.T) {
	for _, c := range []struct {
		v, prefix string
		want      bool
	}{
		{"1.2.3", "1.2", true},
		{"1.2", "1.2", true},
		{"1.2.0", "1.2", true},
		{"1.20", "1.2", false},
		{"1.1a", "1.1", true},
		{"1.1", "1.1.0", true},
		{"1.1.1", "1.1.0", false},
		{"3.6.0rc1", "3.6", true},
		{"1.0a1", "1.0a", true},
		{"1.0ab", "1.0a", true},
		{"1.0b1", "1.0a", false},
		{"1.2+abc.1", "1.2+abc", true},
		{"1.2+abd", "1.2+abc", false},
		{"1.3+abc", "1.2+abc", false},
		{"1!1.2.3", "1.2", false},
	} {
		if got := MustParse(c.v).StartsWith(MustParse(c.prefix)); got != c.want {
			t.Errorf("Parse(%q).StartsWith(%q) = %v, want %v", c.v, c.prefix, got, c.want)
		}
	}
}
