package index

import "github.com/envbuild/envbuild/internal/httpc"

// AuthHeaders returns, per index host ("host" or "host:port"), the
// Authorization header value the index's credentials give (see
// httpc.AuthHeaders: the index URL's userinfo, else netrc).
func AuthHeaders(indexes []Index, netrcFile string) (map[string]string, error) {
	urls := make([]string, len(indexes))
	for i, ix := range indexes {
		urls[i] = ix.URL
	}
	return httpc.AuthHeaders(urls, netrcFile)
}

// Redact hides the credentials of the URLs in s (httpc.Redact).
func Redact(s string) string { return httpc.Redact(s) }
