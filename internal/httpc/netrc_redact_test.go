package httpc

import "testing"

func TestParseNetrc(t *testing.T) {
	tests := []struct {
		name, text, host string
		want             netrcEntry
		found            bool
	}{
		{"one line", "machine a.example login u password p", "a.example", netrcEntry{"u", "p"}, true},
		{"multi-line with comment", "# creds\nmachine a.example\n\tlogin u # me\n\tpassword p\n", "a.example", netrcEntry{"u", "p"}, true},
		{"port stripped", "machine 127.0.0.1 login u password p", "127.0.0.1:8080", netrcEntry{"u", "p"}, true},
		{"exact host:port first", "machine h login a password b\nmachine h:1 login c password d", "h:1", netrcEntry{"c", "d"}, true},
		{"default", "machine a login u password p\ndefault login d password dp", "b", netrcEntry{"d", "dp"}, true},
		{"first entry wins", "machine a login u1 password p1\nmachine a login u2 password p2", "a", netrcEntry{"u1", "p1"}, true},
		{"macdef skipped", "macdef init\ncd /pub\nmachine fake login x\n\nmachine a login u password p", "a", netrcEntry{"u", "p"}, true},
		{"account ignored", "machine a login u account acct password p", "a", netrcEntry{"u", "p"}, true},
		{"missing", "machine a login u password p", "b", netrcEntry{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := parseNetrc(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			got, found := n.lookup(tt.host)
			if got != tt.want || found != tt.found {
				t.Errorf("lookup(%q) = %v, %v; want %v, %v", tt.host, got, found, tt.want, tt.found)
			}
		})
	}
	for _, bad := range []string{"machine", "login u", "machine a login", "machine a frobnicate x"} {
		if _, err := parseNetrc(bad); err == nil {
			t.Errorf("parseNetrc(%q) gave no error", bad)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://user:pass@host/simple", "https://user:****@host/simple"},
		{"https://token@host/simple", "https://****@host/simple"},
		{"https://host/simple", "https://host/simple"},
		{"https://us%40er:p%3Ass@host/", "https://us%40er:****@host/"},
		{`Get "https://a:b@x/y": fail; also http://c:d@z/`, `Get "https://a:****@x/y": fail; also http://c:****@z/`},
		{"email me at bob@example.com", "email me at bob@example.com"},
		{"https://conda.example.com/t/ab-12_cd/private", "https://conda.example.com/t/****/private"},
		{"https://conda.example.com/t/ab-12cd", "https://conda.example.com/t/****"},
		{`channel "https://h/t/tok123/c/linux-64/repodata.json" answered 401`, `channel "https://h/t/****/c/linux-64/repodata.json" answered 401`},
		{"https://h/pkgs/text/x", "https://h/pkgs/text/x"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
