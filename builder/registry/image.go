package registry

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/envbuild/envbuild/lock/failure"
)

// Image returns ref's image for platform (os/arch[/variant]; from a
// manifest list, the matching entry), with this client's credentials and
// transport. Layers are read lazily, when the caller reads them.
func (c *Client) Image(ctx context.Context, ref, platform string) (v1.Image, error) {
	r, err := c.Parse(ref)
	if err != nil {
		return nil, err
	}
	opts := c.remoteOptions(ctx)
	if platform != "" {
		p, err := v1.ParsePlatform(platform)
		if err != nil {
			return nil, failure.User(fmt.Errorf("platform %q: %w", platform, err))
		}
		opts = append(opts, remote.WithPlatform(*p))
	}
	img, err := remote.Image(r, opts...)
	if err != nil {
		return nil, c.classify("reading image", ref, r.Context().RegistryStr(), err)
	}
	return img, nil
}
