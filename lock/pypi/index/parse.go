package index

import (
	"github.com/envbuild/envbuild/internal/httpc"

	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/html"
)

// The media types of PEP 691. Accept prefers JSON and takes HTML from
// servers that only speak PEP 503.
const (
	mediaJSON   = "application/vnd.pypi.simple.v1+json"
	mediaHTML   = "application/vnd.pypi.simple.v1+html"
	acceptIndex = mediaJSON + ", " + mediaHTML + ";q=0.2, text/html;q=0.01"
)

// parseProjectPage decodes a project page in whichever format the server
// answered with; base is the page's own URL for resolving relative links.
func parseProjectPage(body []byte, contentType string, base *url.URL) ([]File, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case strings.HasPrefix(mt, "application/vnd.pypi.simple.") && strings.HasSuffix(mt, "+json"):
		return parseJSONPage(body, base)
	case mt == "text/html" || (strings.HasPrefix(mt, "application/vnd.pypi.simple.") && strings.HasSuffix(mt, "+html")):
		return parseHTMLPage(body, base)
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return parseJSONPage(body, base)
	}
	if len(trimmed) > 0 && trimmed[0] == '<' {
		return parseHTMLPage(body, base)
	}
	return nil, fmt.Errorf("the answer is neither a PEP 691 JSON nor a PEP 503 HTML page (Content-Type %q, starts with %q)", contentType, snippet(body))
}

func snippet(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 60 {
		b = b[:60]
	}
	return string(b)
}

// metadataFlag is PEP 691's "core-metadata": false, true, or a hash table.
type metadataFlag struct {
	present bool
	hashes  map[string]string
}

func (m *metadataFlag) UnmarshalJSON(b []byte) error {
	switch string(bytes.TrimSpace(b)) {
	case "true":
		m.present = true
		return nil
	case "false", "null":
		return nil
	}
	var h map[string]string
	if err := json.Unmarshal(b, &h); err != nil {
		return fmt.Errorf("core-metadata must be a boolean or a table of hashes: %w", err)
	}
	m.present, m.hashes = true, h
	return nil
}

// yankedFlag is PEP 691's "yanked": a boolean, or the reason as a string.
type yankedFlag struct {
	yanked bool
	reason string
}

func (y *yankedFlag) UnmarshalJSON(b []byte) error {
	switch string(bytes.TrimSpace(b)) {
	case "true":
		y.yanked = true
		return nil
	case "false", "null":
		return nil
	}
	if err := json.Unmarshal(b, &y.reason); err != nil {
		return fmt.Errorf("yanked must be a boolean or a string: %w", err)
	}
	y.yanked = true
	return nil
}

type jsonFile struct {
	Filename         string            `json:"filename"`
	URL              string            `json:"url"`
	Hashes           map[string]string `json:"hashes"`
	RequiresPython   *string           `json:"requires-python"`
	CoreMetadata     *metadataFlag     `json:"core-metadata"`
	DistInfoMetadata *metadataFlag     `json:"dist-info-metadata"`
	Yanked           yankedFlag        `json:"yanked"`
	Size             *int64            `json:"size"`
	UploadTime       *string           `json:"upload-time"`
}

type jsonPage struct {
	Meta struct {
		APIVersion string `json:"api-version"`
	} `json:"meta"`
	Name  string      `json:"name"`
	Files *[]jsonFile `json:"files"`
}

func checkAPIVersion(v string) error {
	if v == "" {
		return nil
	}
	major, _, _ := strings.Cut(v, ".")
	if n, err := strconv.Atoi(major); err != nil || n != 1 {
		return fmt.Errorf("the index speaks repository API version %q; this client understands version 1.x", v)
	}
	return nil
}

func parseJSONPage(body []byte, base *url.URL) ([]File, error) {
	var jp jsonPage
	if err := json.Unmarshal(body, &jp); err != nil {
		return nil, fmt.Errorf("the index answered JSON that is not a PEP 691 project page: %w (starts with %q)", err, snippet(body))
	}
	if err := checkAPIVersion(jp.Meta.APIVersion); err != nil {
		return nil, err
	}
	if jp.Files == nil {
		return nil, fmt.Errorf("the index answered JSON without a \"files\" list; is it a PEP 691 simple index? (starts with %q)", snippet(body))
	}
	files := make([]File, 0, len(*jp.Files))
	for _, jf := range *jp.Files {
		f := File{
			Filename: jf.Filename,
			Hashes:   lowerHashes(jf.Hashes),
			Yanked:   jf.Yanked.yanked,
		}
		if jf.Yanked.yanked {
			f.YankedReason = jf.Yanked.reason
		}
		if jf.RequiresPython != nil {
			f.RequiresPython = strings.TrimSpace(*jf.RequiresPython)
		}
		if jf.Size != nil {
			f.Size = *jf.Size
		}
		if jf.UploadTime != nil {
			if t, err := time.Parse(time.RFC3339Nano, *jf.UploadTime); err == nil {
				f.UploadTime = t.UTC()
			}
		}
		// PEP 714: "core-metadata" is the name; "dist-info-metadata" the
		// older one, used only when the new one is absent.
		md := jf.CoreMetadata
		if md == nil {
			md = jf.DistInfoMetadata
		}
		if md != nil && md.present {
			f.CoreMetadata = true
			f.CoreMetadataHashes = lowerHashes(md.hashes)
		}
		if err := resolve(&f, jf.URL, base); err != nil {
			return nil, err
		}
		if f.Filename == "" {
			f.Filename = filenameOf(f.URL)
		}
		files = append(files, f)
	}
	return files, nil
}

func lowerHashes(h map[string]string) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[strings.ToLower(k)] = strings.ToLower(v)
	}
	return out
}

// resolve makes raw absolute against base and moves a "#hash=value"
// fragment into f.Hashes (a hash the page gave explicitly wins).
// Credentials in a link are dropped: they are never stored or returned,
// and a file's host gets the credentials known for it (see doc.go).
func resolve(f *File, raw string, base *url.URL) error {
	raw = strings.TrimSpace(raw)
	// Fast path for what PyPI serves: absolute, no fragment, no userinfo.
	if (strings.HasPrefix(raw, "https://") || strings.HasPrefix(raw, "http://")) && !strings.ContainsAny(raw, "#@ %\\") {
		f.URL = raw
		return nil
	}
	ref, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("file link %q is not a URL: %w", Redact(raw), err)
	}
	abs := base.ResolveReference(ref)
	if frag := abs.Fragment; frag != "" {
		if name, val, ok := strings.Cut(frag, "="); ok && val != "" {
			name = strings.ToLower(name)
			if f.Hashes == nil {
				f.Hashes = map[string]string{}
			}
			if _, has := f.Hashes[name]; !has {
				f.Hashes[name] = strings.ToLower(val)
			}
		}
	}
	abs.Fragment, abs.RawFragment = "", ""
	clean, _, _, _ := httpc.StripCredentials(abs)
	f.URL = clean.String()
	return nil
}

// filenameOf is the last path segment of a URL, unescaped.
func filenameOf(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return path.Base(u)
	}
	return path.Base(parsed.Path)
}

// parseHTMLPage reads a PEP 503 page: every <a> is a file; data-* attributes
// carry PEP 503/592/658/714 facts, HTML-unescaped by the tokenizer; a
// <base href> changes what relative links resolve against. A page without
// links is a project without files only when it looks like a simple page
// (a pypi:repository-version meta tag, or a "Links for …" title or
// heading); otherwise it is taken for something else (a proxy's login
// page, say) and is an error.
func parseHTMLPage(body []byte, base *url.URL) ([]File, error) {
	z := html.NewTokenizer(bytes.NewReader(body))
	var files []File
	sawAnchor, simplePage := false, false
	inTitle := false
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		if tt == html.TextToken && inTitle && strings.HasPrefix(strings.TrimSpace(string(z.Text())), "Links for ") {
			simplePage = true
		}
		if tt == html.EndTagToken {
			inTitle = false
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		name, hasAttr := z.TagName()
		inTitle = string(name) == "title" || string(name) == "h1"
		attrs := map[string]string{}
		for hasAttr {
			var k, v []byte
			k, v, hasAttr = z.TagAttr()
			attrs[string(k)] = string(v)
		}
		switch string(name) {
		case "base":
			if href, ok := attrs["href"]; ok {
				if ref, err := url.Parse(strings.TrimSpace(href)); err == nil {
					base = base.ResolveReference(ref)
				}
			}
		case "meta":
			if attrs["name"] == "pypi:repository-version" {
				simplePage = true
				if err := checkAPIVersion(attrs["content"]); err != nil {
					return nil, err
				}
			}
		case "a":
			sawAnchor = true
			href, ok := attrs["href"]
			if !ok || strings.TrimSpace(href) == "" {
				continue
			}
			f := File{}
			if err := resolve(&f, href, base); err != nil {
				return nil, err
			}
			f.Filename = filenameOf(f.URL)
			f.RequiresPython = strings.TrimSpace(attrs["data-requires-python"])
			if reason, ok := attrs["data-yanked"]; ok {
				f.Yanked, f.YankedReason = true, reason
			}
			md, ok := attrs["data-core-metadata"]
			if !ok {
				md, ok = attrs["data-dist-info-metadata"]
			}
			if ok && md != "false" {
				f.CoreMetadata = true
				if name, val, ok := strings.Cut(md, "="); ok && val != "" {
					f.CoreMetadataHashes = map[string]string{strings.ToLower(name): strings.ToLower(val)}
				}
			}
			files = append(files, f)
		}
	}
	if !sawAnchor && !simplePage {
		return nil, fmt.Errorf("the index answered an HTML page without any file link; is it a PEP 503 simple index? (starts with %q)", snippet(body))
	}
	return files, nil
}
