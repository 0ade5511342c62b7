package app

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/urfave/cli/v2"

	"github.com/envbuild/envbuild/builder/build"
	"github.com/envbuild/envbuild/builder/engine"
	"github.com/envbuild/envbuild/builder/registry"
	"github.com/envbuild/envbuild/frontends/config"
	"github.com/envbuild/envbuild/lock/failure"
)

// repeated is a repeatable string flag whose values are kept whole (a
// StringSliceFlag would split `--cap-add=CHOWN,SETUID` at the comma).
type repeated []string

func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }
func (r *repeated) String() string     { return strings.Join(*r, " ") }

// dockerFlags are build's and flow build's flags for Docker: the BuildKit
// container envbuild may start, and --load.
func dockerFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "buildkit-image", Usage: "image of the BuildKit container envbuild starts on Docker when it has no other BuildKit (default: $ENVBUILD_BUILDKIT_IMAGE, the config file's buildkit_image, else " + engine.DefaultBuildkitImage() + ")"},
		&cli.GenericFlag{Name: "buildkit-run-option", Value: &repeated{}, Usage: "one docker run `ARG` for that container, replacing --privileged (repeatable, e.g. --buildkit-run-option=--cap-add=SYS_ADMIN; default: the config file's buildkit_run_options)"},
		&cli.BoolFlag{Name: "load", Usage: "also load the image into the local Docker daemon (as docker load does), to docker run it"},
	}
}

// dockerConnect fills the Docker part of the connect options: the
// container's image and run options, and the registries the build talks
// to (a loopback one puts the container on the host's network).
func dockerConnect(c *cli.Context, env map[string]string, conf config.Resolved, o *engine.ConnectOptions) {
	if !slices.ContainsFunc(c.Command.Flags, func(f cli.Flag) bool { return slices.Contains(f.Names(), "buildkit-image") }) {
		return
	}
	o.BuildkitImage = c.String("buildkit-image")
	if o.BuildkitImage == "" {
		o.BuildkitImage = env["ENVBUILD_BUILDKIT_IMAGE"]
	}
	if o.BuildkitImage == "" {
		o.BuildkitImage = conf.File.BuildkitImage
	}
	if r, ok := c.Generic("buildkit-run-option").(*repeated); ok && len(*r) > 0 {
		o.Docker.RunOptions = append([]string(nil), *r...)
	} else {
		o.Docker.RunOptions = conf.File.BuildkitRunOptions
	}
	o.Docker.Env = env
	for _, ref := range []string{conf.Repository.Value, config.WithRegistry(conf.Image.Value, conf.Registry.Value), c.String("registry"), conf.Registry.Value} {
		if ref != "" {
			host, _, _ := strings.Cut(ref, "/")
			o.Docker.Registries = append(o.Docker.Registries, host)
		}
	}
	for _, w := range c.StringSlice("with") {
		if _, img, ok := strings.Cut(w, "image="); ok {
			host, _, _ := strings.Cut(img, "/")
			o.Docker.Registries = append(o.Docker.Registries, host)
		}
	}
}

// loadIntoDocker is --load: after the build, each result (the pushed
// image, or the OCI layout when no registry is configured) is streamed
// into the local Docker daemon under its name, for Docker's platform.
func loadIntoDocker(ctx context.Context, reg *registry.Client, results []*build.Result, log func(string)) error {
	platform, ep, err := engine.DockerPlatform(ctx)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, res := range results {
		if seen[res.Image+"\x00"+res.OCILayout] {
			continue // flow steps sharing one environment
		}
		seen[res.Image+"\x00"+res.OCILayout] = true
		if len(res.Platforms) > 0 && !slices.ContainsFunc(res.Platforms, func(p string) bool { return osArch(p) == osArch(platform) }) {
			return failure.User(fmt.Errorf("--load: the image is built for %s and Docker at %s runs %s; add --platform %s", strings.Join(res.Platforms, ", "), ep.Host, platform, platform))
		}
		var tag string
		switch {
		case res.Image != "":
			tag, _, _ = strings.Cut(res.Image, "@")
			img, err := reg.Image(ctx, res.Image, platform)
			if err != nil {
				return err
			}
			if err := engine.LoadIntoDocker(ctx, img, tag); err != nil {
				return err
			}
		case res.OCILayout != "":
			id := res.EnvID
			if len(id) > 16 {
				id = id[:16]
			}
			tag = "envbuild:env-" + id
			img, err := layoutImage(res.OCILayout, platform)
			if err != nil {
				return err
			}
			if err := engine.LoadIntoDocker(ctx, img, tag); err != nil {
				return err
			}
		default:
			continue
		}
		log(fmt.Sprintf("loaded %s into Docker at %s", tag, ep.Host))
	}
	return nil
}

// layoutImage is platform's image of the OCI layout dir (its index may
// hold the image itself or a manifest list).
func layoutImage(dir, platform string) (v1.Image, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, failure.User(fmt.Errorf("--load: reading OCI layout %s: %w", dir, err))
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, failure.User(fmt.Errorf("--load: reading OCI layout %s: %w", filepath.Clean(dir), err))
	}
	return pickImage(idx, platform, dir)
}

// pickImage finds platform's image in idx, looking into nested indexes
// (BuildKit's OCI exporter writes the manifest list under index.json).
func pickImage(idx v1.ImageIndex, platform, dir string) (v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, failure.User(fmt.Errorf("--load: reading OCI layout %s: %w", dir, err))
	}
	want, err := v1.ParsePlatform(platform)
	if err != nil {
		return nil, failure.User(err)
	}
	for _, d := range m.Manifests {
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, failure.User(fmt.Errorf("--load: reading OCI layout %s: %w", dir, err))
			}
			if img, err := pickImage(child, platform, dir); err == nil {
				return img, nil
			}
		case d.MediaType.IsImage():
			if d.Platform != nil && (d.Platform.OS != want.OS || d.Platform.Architecture != want.Architecture) {
				continue
			}
			return idx.Image(d.Digest)
		}
	}
	return nil, failure.User(fmt.Errorf("--load: OCI layout %s has no image for %s", dir, platform))
}

// osArch is os/arch of a platform (linux/arm64/v8 and linux/arm64 are one
// for Docker on arm64).
func osArch(p string) string {
	parts := strings.SplitN(p, "/", 3)
	if len(parts) < 2 {
		return p
	}
	return parts[0] + "/" + parts[1]
}
