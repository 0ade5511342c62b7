package build

import (
	"context"
	"fmt"
	"strings"

	"github.com/envbuild/envbuild/builder/plan"
	"github.com/envbuild/envbuild/builder/registry"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/sbom"
)

// LockArtifactType is the artifactType of the referrer holding an image's
// lock: the envbuild.lock of its one environment, as TOML.
const LockArtifactType = "application/vnd.envbuild.lock.v1+toml"

// attachReferrers attaches to the image just pushed (imageRef, "repo:tag",
// whose manifest or index has digest) its environment's lock and its SBOM
// as OCI referrers, so that `envbuild inspect` and `envbuild sbom` read
// them without pulling a layer and without the image's bytes changing.
// A failure is a warning: the image itself is pushed and correct.
func attachReferrers(ctx context.Context, o Options, imageRef, digest string) {
	if err := attach(ctx, o, imageRef, digest); err != nil {
		o.logf("warning: attaching the lock and SBOM to %s@%s: %v", imageRef, digest, err)
	}
}

func attach(ctx context.Context, o Options, imageRef, digest string) error {
	f, err := lockfile.Read(o.LockPath)
	if err != nil {
		return err
	}
	var env *lockfile.Env
	if f != nil {
		env = f.Env(o.Spec.Name)
	}
	if env == nil {
		return fmt.Errorf("%s has no environment %q", o.LockPath, o.Spec.Name)
	}
	one := &lockfile.File{LockVersion: lockfile.Version, Envs: []lockfile.Env{*env}}
	repo := registry.RepositoryOf(imageRef)
	subject, _, err := o.Registry.SubjectOf(ctx, repo+"@"+digest)
	if err != nil {
		return err
	}
	ann := map[string]string{"org.opencontainers.image.created": plan.Created.Format("2006-01-02T15:04:05Z")}
	if _, err := o.Registry.PutReferrer(ctx, repo, subject, LockArtifactType, LockArtifactType, one.Marshal(), ann); err != nil {
		return err
	}
	doc, err := sbom.SPDX(env, repo, digest, plan.Created)
	if err != nil {
		return err
	}
	_, err = o.Registry.PutReferrer(ctx, repo, subject, sbom.ArtifactType, sbom.MediaType, doc, ann)
	return err
}

// AttachIfAbsent attaches the lock and SBOM to a cached image (res.Cached)
// that has none, such as one pushed by an envbuild without them: its env
// id equals the lock's, so the lock describes it. A failure is a warning.
func AttachIfAbsent(ctx context.Context, o Options, res *Result) {
	if res == nil || !res.Cached || res.Image == "" || o.Registry == nil {
		return
	}
	warn := func(err error) {
		if o.Log != nil {
			o.Log(fmt.Sprintf("warning: attaching the lock and SBOM to %s: %v", res.Image, err))
		}
	}
	imageRef, digest, ok := strings.Cut(res.Image, "@")
	if !ok {
		return
	}
	repo := registry.RepositoryOf(imageRef)
	arts, err := o.Registry.Referrers(ctx, repo, digest, LockArtifactType)
	if err != nil {
		warn(err)
		return
	}
	if len(arts) > 0 {
		return
	}
	if err := attach(ctx, o, imageRef, digest); err != nil {
		warn(err)
		return
	}
	if o.Log != nil {
		o.Log(fmt.Sprintf("attached the lock and SBOM to %s, which had none", res.Image))
	}
}
