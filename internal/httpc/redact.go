package httpc

import (
	"net/url"
	"regexp"
	"strings"
)

// userinfoRE finds "scheme://userinfo@" in free text, for strings that are
// not a URL on their own (error messages, log lines).
var userinfoRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)([^/@\s]+)@`)

// tokenRE finds an anaconda-style token path segment ("/t/<token>") in
// a URL or in free text: what conda itself recognises as a token (letters,
// digits and "-"), and "_" too.
var tokenRE = regexp.MustCompile(`/t/[A-Za-z0-9_-]+(/|$|[\s"'])`)

// Redact hides the secret parts of the URLs in s so that the result can
// be printed: "https://user:pass@host/" becomes "https://user:****@host/",
// a lone token ("https://TOKEN@host/") becomes "https://****@host/", and a
// conda channel token ("https://host/t/TOKEN/chan") becomes
// "https://host/t/****/chan". Text that is not a URL has every embedded
// URL redacted the same way. Every error and log line of the lock side
// goes through it.
func Redact(s string) string {
	s = userinfoRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := userinfoRE.FindStringSubmatch(m)
		scheme, info := sub[1], sub[2]
		if user, _, ok := strings.Cut(info, ":"); ok {
			return scheme + user + ":****@"
		}
		return scheme + "****@"
	})
	if strings.Contains(s, "/t/") {
		s = tokenRE.ReplaceAllString(s, "/t/****$1")
	}
	return s
}

// StripCredentials returns u without its userinfo, and the credentials it
// carried (ok is false when it carried none).
func StripCredentials(u *url.URL) (clean *url.URL, user, pass string, ok bool) {
	c := *u
	if c.User == nil {
		return &c, "", "", false
	}
	user = c.User.Username()
	pass, _ = c.User.Password()
	c.User = nil
	return &c, user, pass, true
}

// SplitToken finds a conda channel token in a URL's path:
// "https://host/t/TOKEN/chan" gives before "https://host", token "TOKEN"
// and after "/chan", so that before+after is the URL without it and
// before+"/t/"+token+after the URL with it. ok is false when there is
// none. A URL that does not parse has none.
func SplitToken(rawURL string) (before, token, after string, ok bool) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "", "", "", false
	}
	loc := tokenRE.FindStringIndex(u.Path)
	if loc == nil {
		return "", "", "", false
	}
	seg := strings.TrimSuffix(u.Path[loc[0]:loc[1]], "/")
	token = strings.TrimPrefix(seg, "/t/")
	i := strings.Index(rawURL, "/t/"+token)
	if i < 0 {
		return "", "", "", false
	}
	return rawURL[:i], token, rawURL[i+len("/t/"+token):], true
}

// StripURL is rawURL without its userinfo and without a conda channel
// token: the form that may be recorded (a lock file, a cache entry) or
// printed. Text that does not parse as a URL is returned redacted.
func StripURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Redact(rawURL)
	}
	if u.User != nil {
		u.User = nil
		rawURL = u.String()
	}
	if before, _, after, ok := SplitToken(rawURL); ok {
		rawURL = before + after
	}
	return rawURL
}
