package app

import (
	"fmt"
	"strings"

	"github.com/envbuild/envbuild/lock/failure"
)

// withImageOf reads the image of one --with value written as Metaflow
// writes it, DECORATOR:ATTR=VALUE,ATTR=VALUE
// (kubernetes:image=IMAGE,cpu=2): the decorator must be kubernetes or
// batch and an image must be given; the other attributes do not change
// the image and are ignored.
func withImageOf(w string) (string, error) {
	bad := failure.Usage(fmt.Errorf("--with %q: want kubernetes:image=IMAGE or batch:image=IMAGE (other attributes may follow, comma-separated)", w))
	kind, rest, _ := strings.Cut(w, ":")
	if kind != "kubernetes" && kind != "batch" {
		return "", bad
	}
	img := ""
	for _, attr := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(attr), "=")
		if !ok {
			return "", bad
		}
		if k == "image" {
			img = strings.TrimSpace(v)
		}
	}
	if img == "" {
		return "", bad
	}
	return img, nil
}
