package httpc

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
)

// AuthHeaders returns, per host ("host" or "host:port"), the Authorization
// header value the credentials of urls give — from a URL's userinfo, else
// the netrc file (netrcFile, else $NETRC or ~/.netrc) — for the hosts that
// have credentials. The first URL of a host with credentials wins. The
// builder hands these to BuildKit as session secrets, so artifacts BuildKit
// downloads from a private index or channel are fetched with the same
// credentials as the lock, without them entering the LLB, the lock or the
// image. As for the client, credentials go only to their own host.
func AuthHeaders(urls []string, netrcFile string) (map[string]string, error) {
	out := map[string]string{}
	var n *netrc
	loaded := false
	for _, raw := range urls {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || u.Host == "" {
			continue
		}
		if _, done := out[u.Host]; done {
			continue
		}
		user, pass := "", ""
		if u.User != nil {
			user = u.User.Username()
			pass, _ = u.User.Password()
		} else {
			if !loaded {
				if n, err = readNetrc(NetrcPath(netrcFile)); err != nil {
					return nil, fmt.Errorf("%w; fix the file or point NETRC at another", err)
				}
				loaded = true
			}
			e, ok := n.lookup(u.Host)
			if !ok {
				continue
			}
			user, pass = e.login, e.password
		}
		if user == "" && pass == "" {
			continue
		}
		out[u.Host] = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	return out, nil
}
