package index

import (
	"encoding/base64"
	"net/url"
)

// AuthHeaders returns, per index host ("host" or "host:port"), the
// Authorization header value the index's credentials give — from the
// index URL's userinfo, else the netrc file (netrcFile, else $NETRC or
// ~/.netrc) — for the hosts that have credentials. The builder hands these
// to BuildKit as session secrets, so artifacts BuildKit downloads from a
// private index are fetched with the same credentials as the lock, without
// the credentials entering the LLB, the lock or the image. As for the
// client, credentials go only to the index's own host.
func AuthHeaders(indexes []Index, netrcFile string) (map[string]string, error) {
	out := map[string]string{}
	var n *netrc
	loaded := false
	for _, ix := range indexes {
		u, err := url.Parse(ix.URL)
		if err != nil || u.Host == "" {
			continue
		}
		user, pass := "", ""
		if u.User != nil {
			user = u.User.Username()
			pass, _ = u.User.Password()
		} else {
			if !loaded {
				if n, err = readNetrc(netrcPath(netrcFile)); err != nil {
					return nil, err
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
