// Package sbom writes the software bill of materials of an environment
// image as an SPDX 2.3 JSON document, from the lock alone: every package
// locked for every platform, with its version, purl, download location and
// sha256. It is deterministic: the same lock and image digest give the
// same bytes (no wall-clock time; identifiers derive from the image
// digest). It covers the environment's prefix; the base image's own OS
// packages are out of its scope.
package sbom

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/envbuild/envbuild/lock/lockfile"
)

// MediaType is the SPDX JSON media type of the referrer's layer.
const MediaType = "application/spdx+json"

// ArtifactType is the artifactType of the SBOM referrer.
const ArtifactType = "application/spdx+json"

type checksum struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"checksumValue"`
}

type externalRef struct {
	Category string `json:"referenceCategory"`
	Type     string `json:"referenceType"`
	Locator  string `json:"referenceLocator"`
}

type pkg struct {
	SPDXID           string        `json:"SPDXID"`
	Name             string        `json:"name"`
	Version          string        `json:"versionInfo,omitempty"`
	Download         string        `json:"downloadLocation"`
	FilesAnalyzed    bool          `json:"filesAnalyzed"`
	Checksums        []checksum    `json:"checksums,omitempty"`
	ExternalRefs     []externalRef `json:"externalRefs,omitempty"`
	LicenseConcluded string        `json:"licenseConcluded"`
	LicenseDeclared  string        `json:"licenseDeclared"`
	Copyright        string        `json:"copyrightText"`
	Supplier         string        `json:"supplier,omitempty"`
	Purpose          string        `json:"primaryPackagePurpose,omitempty"`
	Comment          string        `json:"comment,omitempty"`
}

type relationship struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

type document struct {
	SPDXVersion  string `json:"spdxVersion"`
	DataLicense  string `json:"dataLicense"`
	SPDXID       string `json:"SPDXID"`
	Name         string `json:"name"`
	Namespace    string `json:"documentNamespace"`
	Comment      string `json:"comment"`
	CreationInfo struct {
		Created  string   `json:"created"`
		Creators []string `json:"creators"`
	} `json:"creationInfo"`
	Packages      []pkg          `json:"packages"`
	Relationships []relationship `json:"relationships"`
}

// Scope is what the document says it covers.
const Scope = "The Python environment envbuild installed at /opt/envbuild/env, from its lock. The base image's own operating-system packages are out of scope."

// SPDX returns the SBOM of the image imageRef ("repo") with digest
// imageDigest ("sha256:…") holding environment e. created is the image's
// own fixed creation time.
func SPDX(e *lockfile.Env, imageRef, imageDigest string, created time.Time) ([]byte, error) {
	hexd := strings.TrimPrefix(imageDigest, "sha256:")
	if len(hexd) != 64 {
		return nil, fmt.Errorf("image digest %q: want sha256:<64 hex>", imageDigest)
	}
	d := document{SPDXVersion: "SPDX-2.3", DataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT"}
	d.Name = fmt.Sprintf("%s@%s environment %s", imageRef, imageDigest, e.Name)
	d.Namespace = "urn:uuid:" + uuidFrom(imageDigest+"\x00"+e.Name)
	d.Comment = Scope
	d.CreationInfo.Created = created.UTC().Format("2006-01-02T15:04:05Z")
	d.CreationInfo.Creators = []string{"Tool: envbuild"}
	root := pkg{
		SPDXID: "SPDXRef-Environment", Name: e.Name, Version: imageDigest,
		Download: "NOASSERTION", LicenseConcluded: "NOASSERTION", LicenseDeclared: "NOASSERTION", Copyright: "NOASSERTION",
		Purpose: "CONTAINER", Comment: Scope,
		Checksums:    []checksum{{"SHA256", hexd}},
		ExternalRefs: []externalRef{{"PACKAGE-MANAGER", "purl", "pkg:oci/" + url.PathEscape(lastPath(imageRef)) + "@" + url.PathEscape(imageDigest) + "?repository_url=" + url.QueryEscape(imageRef)}},
	}
	d.Packages = append(d.Packages, root)
	d.Relationships = append(d.Relationships, relationship{"SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Environment"})
	// One SPDX package per distinct file (sha256), listing its platforms.
	ids := map[string]int{} // sha256 → index in d.Packages
	platforms := map[string][]string{}
	type edge struct{ from, to string }
	var deps []edge
	targets := append([]lockfile.Target(nil), e.Targets...)
	sort.Slice(targets, func(i, j int) bool { return targets[i].Platform < targets[j].Platform })
	for _, t := range targets {
		byName := map[string]string{}
		for _, p := range t.Packages {
			key := p.Sha256 + string(p.Source) + p.Name
			i, ok := ids[key]
			if !ok {
				sp := pkg{
					SPDXID:  "SPDXRef-Package-" + sanitize(string(p.Source)+"-"+p.Name+"-"+p.Version+"-"+p.Sha256[:min(12, len(p.Sha256))]),
					Name:    p.Name,
					Version: p.Version,
					Download: func() string {
						if p.URL == "" {
							return "NOASSERTION"
						}
						return p.URL
					}(),
					LicenseConcluded: "NOASSERTION", LicenseDeclared: "NOASSERTION", Copyright: "NOASSERTION",
					Supplier: "NOASSERTION", Purpose: "LIBRARY",
					ExternalRefs: []externalRef{{"PACKAGE-MANAGER", "purl", purl(p)}},
				}
				if p.Sha256 != "" {
					sp.Checksums = []checksum{{"SHA256", p.Sha256}}
				}
				i = len(d.Packages)
				ids[key] = i
				d.Packages = append(d.Packages, sp)
			}
			id := d.Packages[i].SPDXID
			platforms[id] = append(platforms[id], t.Platform)
			byName[p.Name] = id
		}
		for _, p := range t.Packages {
			for _, dep := range p.Depends {
				if to, ok := byName[dep]; ok {
					deps = append(deps, edge{byName[p.Name], to})
				}
			}
		}
	}
	for i := 1; i < len(d.Packages); i++ {
		id := d.Packages[i].SPDXID
		d.Packages[i].Comment = "file " + fileOf(d.Packages[i].Download) + " for " + strings.Join(platforms[id], ", ")
		d.Relationships = append(d.Relationships, relationship{"SPDXRef-Environment", "CONTAINS", id})
	}
	seen := map[edge]bool{}
	sort.Slice(deps, func(i, j int) bool {
		if deps[i].from != deps[j].from {
			return deps[i].from < deps[j].from
		}
		return deps[i].to < deps[j].to
	})
	for _, e := range deps {
		if !seen[e] && e.from != e.to {
			seen[e] = true
			d.Relationships = append(d.Relationships, relationship{e.from, "DEPENDS_ON", e.to})
		}
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// purl is the package URL of a locked package.
func purl(p lockfile.Package) string {
	if p.Source == lockfile.SourceConda {
		q := url.Values{}
		if p.Build != "" {
			q.Set("build", p.Build)
		}
		if p.Channel != "" {
			q.Set("channel", p.Channel)
		}
		if p.Subdir != "" {
			q.Set("subdir", p.Subdir)
		}
		if p.IsConda() {
			q.Set("type", string(p.Kind))
		}
		s := "pkg:conda/" + url.PathEscape(p.Name) + "@" + url.PathEscape(p.Version)
		if len(q) > 0 {
			s += "?" + q.Encode()
		}
		return s
	}
	s := "pkg:pypi/" + url.PathEscape(strings.ToLower(strings.ReplaceAll(p.Name, "_", "-"))) + "@" + url.PathEscape(p.Version)
	if p.Filename != "" {
		s += "?file_name=" + url.QueryEscape(p.Filename)
	}
	return s
}

func fileOf(u string) string {
	if i := strings.LastIndex(u, "/"); i >= 0 {
		return u[i+1:]
	}
	return u
}

func lastPath(ref string) string {
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

func sanitize(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

// uuidFrom is a version-5-shaped UUID made from s's sha256, so the
// document's namespace is unique per image and environment and stable.
func uuidFrom(s string) string {
	h := sha256.Sum256([]byte(s))
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
