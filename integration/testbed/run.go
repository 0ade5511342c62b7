package testbed

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth"
	"google.golang.org/grpc"
)

// outDir is where Run's wrapper writes the command's output inside the
// container; an output mount of its own, exported to the client.
const outDir = "/.envbuild-testbed-out"

// runScript runs "$@" with its streams and exit status captured in outDir.
const runScript = `"$@" >` + outDir + `/stdout 2>` + outDir + `/stderr; echo $? >` + outDir + `/rc`

// Run executes argv in imageRef through the bed's buildkitd, the way
// `docker run --entrypoint ”` would: the image's Env, WorkingDir and User
// apply, its Entrypoint and Cmd do not. env entries (NAME=value) are added
// after the image's. platform is "os/arch[/variant]", or "" for the host's.
//
// The image must have /bin/sh. A command that runs and fails is not an
// error: its exit code is returned. err is set when the command could not be
// run at all (no such image, no sh, a platform the host cannot execute).
// Run never uses BuildKit's cache for the command itself.
func (b *Bed) Run(ctx context.Context, imageRef, platform string, argv, env []string) (stdout, stderr []byte, exitCode int, err error) {
	return b.RunOpts(ctx, imageRef, platform, argv, env, RunOptions{})
}

// RunOptions change how RunOpts runs a command.
type RunOptions struct {
	// HostNetwork runs the command on the host's network (BuildKit's
	// network.host entitlement, which the bed's buildkitd allows), so it
	// reaches servers on the host's 127.0.0.1.
	HostNetwork bool
}

// RunOpts is Run with options.
func (b *Bed) RunOpts(ctx context.Context, imageRef, platform string, argv, env []string, o RunOptions) (stdout, stderr []byte, exitCode int, err error) {
	if len(argv) == 0 {
		return nil, nil, -1, errors.New("running a command in an image: empty argv")
	}
	plat, err := parsePlatform(platform)
	if err != nil {
		return nil, nil, -1, err
	}
	img, err := b.remoteImage(ctx, imageRef, plat)
	if err != nil {
		return nil, nil, -1, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, nil, -1, fmt.Errorf("reading the config of %q: %w", imageRef, err)
	}

	st := llb.Image(imageRef, llb.Platform(toOCIPlatform(plat)), llb.WithCustomName("testbed: "+imageRef))
	for _, kv := range append(append([]string(nil), cfg.Config.Env...), env...) {
		k, v, _ := strings.Cut(kv, "=")
		st = st.AddEnv(k, v)
	}
	if cfg.Config.WorkingDir != "" {
		st = st.Dir(cfg.Config.WorkingDir)
	}
	if cfg.Config.User != "" {
		st = st.User(cfg.Config.User)
	}
	runOpts := []llb.RunOption{
		llb.Args(append([]string{"/bin/sh", "-c", runScript, "sh"}, argv...)),
		llb.IgnoreCache,
		llb.WithCustomName("testbed run: " + strings.Join(argv, " ")),
	}
	var entitlements []string
	if o.HostNetwork {
		runOpts = append(runOpts, llb.Network(llb.NetModeHost))
		entitlements = append(entitlements, "network.host")
	}
	exec := st.Run(runOpts...)
	out := exec.AddMount(outDir, llb.Scratch())
	def, err := out.Marshal(ctx, llb.Platform(toOCIPlatform(plat)))
	if err != nil {
		return nil, nil, -1, fmt.Errorf("building LLB to run %q in %q: %w", argv, imageRef, err)
	}

	dir, err := os.MkdirTemp("", "envbuild-run-out-")
	if err != nil {
		return nil, nil, -1, err
	}
	defer os.RemoveAll(dir)
	c, err := client.New(ctx, b.BuildkitAddr)
	if err != nil {
		return nil, nil, -1, fmt.Errorf("connecting to buildkitd %q: %w", b.BuildkitAddr, err)
	}
	defer c.Close()
	statusCh := make(chan *client.SolveStatus)
	var logs strings.Builder
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for s := range statusCh {
			for _, l := range s.Logs {
				if logs.Len() < 64<<10 {
					logs.Write(l.Data)
				}
			}
		}
	}()
	_, err = c.Solve(ctx, def, client.SolveOpt{
		Exports:             []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: dir}},
		Session:             []session.Attachable{authAttachable{b}},
		AllowedEntitlements: entitlements,
	}, statusCh)
	<-drained
	if err != nil {
		msg := fmt.Sprintf("running %q in %q (%s): %v", argv, imageRef, platforms.Format(toOCIPlatform(plat)), err)
		if logs.Len() > 0 {
			msg += "\noutput:\n" + logs.String()
		}
		return nil, nil, -1, fmt.Errorf("%s", msg)
	}
	if stdout, err = os.ReadFile(filepath.Join(dir, "stdout")); err != nil {
		return nil, nil, -1, fmt.Errorf("reading the output of %q: %w", argv, err)
	}
	if stderr, err = os.ReadFile(filepath.Join(dir, "stderr")); err != nil {
		return nil, nil, -1, fmt.Errorf("reading the error output of %q: %w", argv, err)
	}
	rc, err := os.ReadFile(filepath.Join(dir, "rc"))
	if err != nil {
		return nil, nil, -1, fmt.Errorf("reading the exit status of %q: %w", argv, err)
	}
	if exitCode, err = strconv.Atoi(strings.TrimSpace(string(rc))); err != nil {
		return nil, nil, -1, fmt.Errorf("reading the exit status of %q: %w", argv, err)
	}
	return stdout, stderr, exitCode, nil
}

// parsePlatform parses "os/arch[/variant]"; "" is the host's platform.
func parsePlatform(s string) (v1.Platform, error) {
	if s == "" {
		p := platforms.DefaultSpec()
		return v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}, nil
	}
	p, err := platforms.Parse(s)
	if err != nil {
		return v1.Platform{}, fmt.Errorf("parsing platform %q: %w", s, err)
	}
	p = platforms.Normalize(p)
	return v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}, nil
}

// remoteImage fetches imageRef's manifest for plat, with the bed's
// credentials and plain HTTP.
func (b *Bed) remoteImage(ctx context.Context, imageRef string, plat v1.Platform) (v1.Image, error) {
	ref, err := name.ParseReference(imageRef, name.Insecure)
	if err != nil {
		return nil, fmt.Errorf("parsing image reference %q: %w", imageRef, err)
	}
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithPlatform(plat), remote.WithAuthFromKeychain(b.Keychain()))
	if err != nil {
		return nil, fmt.Errorf("fetching %q for %s: %w", imageRef, platforms.Format(toOCIPlatform(plat)), err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the config of %q: %w", imageRef, err)
	}
	if cfg.OS != plat.OS || cfg.Architecture != plat.Architecture {
		return nil, fmt.Errorf("fetching %q for %s: the image is %s/%s", imageRef, platforms.Format(toOCIPlatform(plat)), cfg.OS, cfg.Architecture)
	}
	return img, nil
}

// ReadFile returns the content of file p in imageRef's flattened file
// system for platform (as Run parses it), following symbolic and hard
// links inside the image. Nothing from the image is executed, so it works
// for any architecture.
func (b *Bed) ReadFile(ctx context.Context, imageRef, platform, p string) ([]byte, error) {
	plat, err := parsePlatform(platform)
	if err != nil {
		return nil, err
	}
	img, err := b.remoteImage(ctx, imageRef, plat)
	if err != nil {
		return nil, err
	}
	want := cleanImagePath(p)
	for hops := 0; hops < 40; hops++ {
		h, data, err := findEntry(img, want)
		if err != nil {
			return nil, fmt.Errorf("reading %q from %q: %w", p, imageRef, err)
		}
		switch h.Typeflag {
		case tar.TypeReg:
			return data, nil
		case tar.TypeSymlink:
			if path.IsAbs(h.Linkname) {
				want = cleanImagePath(h.Linkname)
			} else {
				want = cleanImagePath(path.Join(path.Dir(want), h.Linkname))
			}
		case tar.TypeLink:
			want = cleanImagePath(h.Linkname)
		default:
			return nil, fmt.Errorf("reading %q from %q: %q is not a regular file (tar type %q)", p, imageRef, want, h.Typeflag)
		}
	}
	return nil, fmt.Errorf("reading %q from %q: too many links", p, imageRef)
}

// ListFiles returns the absolute paths of every entry at or below dir in
// imageRef's flattened file system for platform, sorted.
func (b *Bed) ListFiles(ctx context.Context, imageRef, platform, dir string) ([]string, error) {
	plat, err := parsePlatform(platform)
	if err != nil {
		return nil, err
	}
	img, err := b.remoteImage(ctx, imageRef, plat)
	if err != nil {
		return nil, err
	}
	prefix := cleanImagePath(dir)
	var out []string
	err = walkImage(img, func(h *tar.Header, _ io.Reader) (bool, error) {
		name := cleanImagePath(h.Name)
		if prefix == "." || name == prefix || strings.HasPrefix(name, prefix+"/") {
			out = append(out, "/"+name)
		}
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %q in %q: %w", dir, imageRef, err)
	}
	sort.Strings(out)
	return out, nil
}

// findEntry returns the header (and content, for a regular file) of the
// entry named want.
func findEntry(img v1.Image, want string) (*tar.Header, []byte, error) {
	var found *tar.Header
	var data []byte
	err := walkImage(img, func(h *tar.Header, r io.Reader) (bool, error) {
		if cleanImagePath(h.Name) != want {
			return false, nil
		}
		found = h
		if h.Typeflag == tar.TypeReg {
			var err error
			if data, err = io.ReadAll(r); err != nil {
				return true, err
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, nil, err
	}
	if found == nil {
		return nil, nil, fmt.Errorf("no such file /%s in the image", want)
	}
	return found, data, nil
}

// walkImage calls fn for every entry of the image's flattened file system
// until fn returns true or an error.
func walkImage(img v1.Image, fn func(*tar.Header, io.Reader) (bool, error)) error {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		stop, err := fn(h, tr)
		if err != nil || stop {
			return err
		}
	}
}

// cleanImagePath turns "/a/b/", "./a/b" and "a/b" into "a/b"; the root is ".".
func cleanImagePath(p string) string {
	c := path.Clean("/" + p)
	if c == "/" {
		return "."
	}
	return c[1:]
}

func toOCIPlatform(p v1.Platform) platforms.Platform {
	return platforms.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}
}

// authAttachable answers buildkitd's credential requests for the auth
// registry with the bed's user and password.
type authAttachable struct{ b *Bed }

func (a authAttachable) Register(s *grpc.Server) {
	auth.RegisterAuthServer(s, &authServer{b: a.b})
}

type authServer struct {
	auth.UnimplementedAuthServer
	b *Bed
}

func (s *authServer) Credentials(_ context.Context, req *auth.CredentialsRequest) (*auth.CredentialsResponse, error) {
	if req.Host == s.b.AuthRegistry {
		return &auth.CredentialsResponse{Username: s.b.AuthUser, Secret: s.b.AuthPassword}, nil
	}
	return &auth.CredentialsResponse{}, nil
}
