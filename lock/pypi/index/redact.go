package index

import (
	"net/url"
	"regexp"
	"strings"
)

// userinfoRE finds "scheme://userinfo@" in free text, for strings that are
// not a URL on their own (error messages, log lines).
var userinfoRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)([^/@\s]+)@`)

// Redact hides the secret part of a URL's credentials so that the result can
// be printed: "https://user:pass@host/" becomes "https://user:****@host/",
// and a lone token ("https://TOKEN@host/") becomes "https://****@host/".
// Text that is not a URL has every embedded "scheme://userinfo@" redacted
// the same way. Every error and log line of this package goes through it.
func Redact(s string) string {
	return userinfoRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := userinfoRE.FindStringSubmatch(m)
		scheme, info := sub[1], sub[2]
		if user, _, ok := strings.Cut(info, ":"); ok {
			return scheme + user + ":****@"
		}
		return scheme + "****@"
	})
}

// stripCredentials returns u without its userinfo, and the credentials it
// carried (ok is false when it carried none).
func stripCredentials(u *url.URL) (clean *url.URL, user, pass string, ok bool) {
	c := *u
	if c.User == nil {
		return &c, "", "", false
	}
	user = c.User.Username()
	pass, _ = c.User.Password()
	c.User = nil
	return &c, user, pass, true
}
