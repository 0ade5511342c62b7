package failure

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Truncate returns s cut to at most n runes, ending in "…" when cut, so
// that a long input (a 100 KB requirement) is not echoed whole in a
// message.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for k := 0; k < n; k++ {
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	return s[:i] + "…"
}

// MaxInput is how much of an invalid input a message quotes.
const MaxInput = 200

// Quote is Truncate(s, MaxInput), quoted as %q would.
func Quote(s string) string {
	return strconvQuote(Truncate(s, MaxInput))
}

var urlPattern = regexp.MustCompile(`(?i)\b(?:https?|oci|s3|gs)://[^\s"'<>]+`)

// maxURL is the longest URL a message keeps whole.
const maxURL = 100

// ShortenURLs shortens every URL in a message longer than maxURL
// characters to its scheme, host, "…" and its last path element (the
// file's name), dropping the query (a signed URL's long signature): a
// broken push's error embeds a 600-character upload URL.
func ShortenURLs(msg string) string {
	return urlPattern.ReplaceAllStringFunc(msg, func(s string) string {
		if len(s) <= maxURL {
			return s
		}
		// Punctuation after a URL belongs to the sentence.
		trimmed := strings.TrimRight(s, ":.,;)")
		return shortenURL(trimmed) + s[len(trimmed):]
	})
}

func shortenURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return Truncate(s, maxURL)
	}
	last := u.Path
	if i := strings.LastIndexByte(strings.TrimSuffix(last, "/"), '/'); i >= 0 {
		last = last[i+1:]
	}
	out := u.Scheme + "://" + u.Host + "/…/" + Truncate(last, 60)
	if u.RawQuery != "" {
		out += "?…"
	}
	return out
}

func strconvQuote(s string) string { return strconv.Quote(s) }
