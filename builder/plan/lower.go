package plan

import (
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/envbuild/envbuild/lock/lockfile"
)

// InstallerDir is where the installer binary is mounted in every step.
const InstallerDir = "/.envbuild"

// LowerOptions says how the installer reaches BuildKit.
type LowerOptions struct {
	// Installer is a state holding the static installer program (the
	// envbuild binary built for HostPlatform) at InstallerName.
	Installer     llb.State
	InstallerName string
	// HostPlatform is BuildKit's worker platform.
	HostPlatform string
	// EnvMeta is the JSON description of the per-environment files for the
	// installer's envmeta step.
	EnvMeta []byte
	// AuthSecrets maps an artifact host to the BuildKit secret id holding
	// its Authorization header (private indexes); hosts absent need none.
	AuthSecrets map[string]string
}

// StepSeparator separates steps in one installer invocation.
const StepSeparator = "---"

// Lower builds the LLB of one platform: every layer installed by its own
// exec step from artifacts BuildKit fetches and checks against the lock's
// sha256, merged onto the base image with the per-environment metadata
// layer last. The result is a pure function of the plan and options.
func Lower(p *Plan, pp PlatformPlan, opt LowerOptions) (llb.State, error) {
	host, err := platforms.Parse(opt.HostPlatform)
	if err != nil {
		return llb.State{}, fmt.Errorf("parsing BuildKit's platform %q: %w", opt.HostPlatform, err)
	}
	target, err := platforms.Parse(pp.Platform)
	if err != nil {
		return llb.State{}, fmt.Errorf("parsing platform %q: %w", pp.Platform, err)
	}
	base := llb.Image(pp.Base.Ref, llb.Platform(target), llb.WithCustomNamef("base image %s (%s)", pp.Base.Ref, pp.Platform))
	// The installer runs on the build host. Where bytecode is compiled it
	// runs inside the base image (the target's interpreter is needed);
	// elsewhere on an empty root, so nothing of the base is needed.
	root := llb.Scratch().Platform(host)
	if pp.Bytecode {
		root = base
	}
	installer := InstallerDir + "/" + opt.InstallerName
	short := pythonShort(pp.Target)

	inputs := []llb.State{base}
	for _, l := range pp.Layers {
		var args []string
		var mounts []llb.RunOption
		for i, pk := range l.Packages {
			if pk.Sha256 == "" {
				return llb.State{}, fmt.Errorf("%s %s has no sha256 in the lock", pk.Name, pk.Version)
			}
			src := fmt.Sprintf("/in/%d", i)
			artifact := fetch(pk, opt.AuthSecrets)
			if pk.Kind == "sdist" {
				artifact = buildWheel(base, artifact, pk, pp.Base.Interpreter, pp.Platform)
			}
			mounts = append(mounts, llb.AddMount(src, artifact, llb.Readonly))
			if len(args) > 0 {
				args = append(args, StepSeparator)
			}
			args = append(args, installArgs(pk, path.Join(src, pk.Filename), short, pp.Target)...)
		}
		if pp.Bytecode {
			args = append(args, StepSeparator, "compile", "--root", "/out", "--python-exe", pp.Base.Interpreter)
		}
		args = append(args, StepSeparator, "normalize", "--root", "/out")
		runOpts := append([]llb.RunOption{
			llb.Args(append([]string{installer, "internal-step"}, args...)),
			llb.AddMount(InstallerDir, opt.Installer, llb.Readonly),
			llb.AddEnv("PYTHONHASHSEED", "0"),
			llb.AddEnv("SOURCE_DATE_EPOCH", "315532800"),
			llb.Network(pb.NetMode_NONE),
			llb.WithCustomNamef("install %s (%s)", l.Name, pp.Platform),
		}, mounts...)
		exec := root.Run(runOpts...)
		inputs = append(inputs, exec.AddMount("/out", llb.Scratch()))
	}

	meta := llb.Scratch().File(llb.Mkfile("/env.json", 0o644, opt.EnvMeta), llb.WithCustomName("environment description"))
	// envmeta reads the merged package layers (read only) to find each
	// requested distribution's exact .dist-info and each conda record.
	packages := llb.Scratch()
	if len(inputs) > 1 {
		packages = llb.Merge(inputs[1:], llb.WithCustomNamef("packages of %s (%s)", p.EnvName, pp.Platform))
	}
	metaExec := llb.Scratch().Platform(host).Run(
		llb.Args([]string{installer, "internal-step", "envmeta", "--root", "/out", "--json", "/meta/env.json", "--packages", "/packages", StepSeparator, "normalize", "--root", "/out"}),
		llb.AddMount(InstallerDir, opt.Installer, llb.Readonly),
		llb.AddMount("/meta", meta, llb.Readonly),
		llb.AddMount("/packages", packages, llb.Readonly),
		llb.WithCustomNamef("environment %s metadata (%s)", p.EnvName, pp.Platform),
	)
	inputs = append(inputs, metaExec.AddMount("/out", llb.Scratch()))
	return llb.Merge(inputs, llb.WithCustomNamef("merge %d layers onto %s (%s)", len(inputs)-1, pp.Base.Ref, pp.Platform)), nil
}

// buildWheel builds a wheel from a source distribution with the target's
// own interpreter, in a throw-away venv on the base image (so only the
// build host's platform can do it; plan.Make refuses the others). Its
// build dependencies come from the network, as pip's build isolation
// fetches them.
func buildWheel(base, sdist llb.State, pk lockfile.Package, interpreter, platform string) llb.State {
	const script = `set -e; "$0" -m venv /tmp/envbuild-sdist && /tmp/envbuild-sdist/bin/python -m pip wheel --quiet --no-deps --no-cache-dir --wheel-dir /wheels "$1"`
	exec := base.Run(
		llb.Args([]string{"/bin/sh", "-c", script, interpreter, "/sdist/" + pk.Filename}),
		llb.AddMount("/sdist", sdist, llb.Readonly),
		llb.AddEnv("SOURCE_DATE_EPOCH", "315532800"),
		llb.AddEnv("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
		llb.WithCustomNamef("build a wheel of %s %s from its sdist (%s)", pk.Name, pk.Version, platform),
	)
	return exec.AddMount("/wheels", llb.Scratch())
}

func fetch(pk lockfile.Package, secrets map[string]string) llb.State {
	opts := []llb.HTTPOption{
		llb.Checksum(digest.NewDigestFromEncoded(digest.SHA256, pk.Sha256)),
		llb.Filename(pk.Filename),
		llb.WithCustomNamef("fetch %s", pk.Filename),
	}
	if u, err := url.Parse(pk.URL); err == nil {
		if id, ok := secrets[u.Host]; ok {
			opts = append(opts, llb.AuthHeaderSecret(id))
		}
	}
	return llb.HTTP(pk.URL, opts...)
}

func installArgs(pk lockfile.Package, src, short string, t lockfile.Target) []string {
	switch pk.Kind {
	case "conda", "tar.bz2":
		return []string{"conda", "--src", src, "--root", "/out", "--sha256", pk.Sha256, "--python", short}
	case "sdist":
		// The wheel built from the sdist (buildWheel) is the only file in
		// the mount; its name is known only after the build.
		args := []string{"wheel-in-dir", "--dir", path.Dir(src), "--root", "/out", "--python", strings.TrimSuffix(short, "t")}
		if t.FreeThreaded {
			args = append(args, "--free-threaded")
		}
		return args
	}
	args := []string{"wheel", "--src", src, "--root", "/out", "--sha256", pk.Sha256, "--python", strings.TrimSuffix(short, "t")}
	if t.FreeThreaded {
		args = append(args, "--free-threaded")
	}
	return args
}

func pythonShort(t lockfile.Target) string {
	parts := strings.Split(t.Python, ".")
	s := t.Python
	if len(parts) >= 2 {
		s = parts[0] + "." + parts[1]
	}
	if t.FreeThreaded {
		s += "t"
	}
	return s
}

// HostPlatformSpec parses a platform string for callers that need the OCI
// form.
func HostPlatformSpec(p string) (ocispecs.Platform, error) { return platforms.Parse(p) }
