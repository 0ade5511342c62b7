package engine

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/envbuild/envbuild/lock/failure"
)

// DockerPlatform returns the platform (os/arch) of the Docker daemon the
// Docker CLI would use, and that daemon, or an infrastructure error saying
// how to start it.
func DockerPlatform(ctx context.Context) (string, DockerEndpoint, error) {
	ep, err := FindDockerEndpoint()
	if err != nil {
		return "", ep, failure.Infra(err)
	}
	d := docker{ep}
	if err := d.ping(ctx); err != nil {
		return "", ep, failure.Infra(fmt.Errorf("--load: no Docker daemon answers at %s (%v); start Docker, or set DOCKER_HOST / `docker context use` to one", ep, firstLine(err)))
	}
	p, err := d.run(ctx, nil, "version", "--format", "{{.Server.Os}}/{{.Server.Arch}}")
	if err != nil {
		return "", ep, failure.Infra(fmt.Errorf("--load: asking Docker at %s for its platform: %v", ep, firstLine(err)))
	}
	return p, ep, nil
}

// LoadIntoDocker streams img into that Docker daemon under tag, as
// `docker save` would have written it, through `docker load`: no registry
// access from the daemon is needed (a loopback registry is not one Docker
// pulls from without configuration).
func LoadIntoDocker(ctx context.Context, img v1.Image, tag string) error {
	ep, err := FindDockerEndpoint()
	if err != nil {
		return failure.Infra(err)
	}
	t, err := name.NewTag(tag, name.Insecure)
	if err != nil {
		return failure.User(fmt.Errorf("--load: %q is not a tag Docker can load an image as: %w", tag, err))
	}
	pr, pw := io.Pipe()
	werr := make(chan error, 1)
	go func() {
		err := tarball.Write(t, img, pw)
		pw.CloseWithError(err)
		werr <- err
	}()
	out, err := docker{ep}.run(ctx, pr, "load")
	pr.Close()
	if wErr := <-werr; wErr != nil && wErr != io.ErrClosedPipe {
		return failure.Infra(fmt.Errorf("--load: reading the image for %s: %w", tag, wErr))
	}
	if err != nil {
		return failure.Infra(fmt.Errorf("--load: loading %s into Docker at %s: %v", tag, ep, firstLine(err)))
	}
	if !strings.Contains(out, "Loaded image") {
		return failure.Infra(fmt.Errorf("--load: docker load at %s did not load %s: %q", ep, tag, out))
	}
	return nil
}
