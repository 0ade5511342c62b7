package testbed

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// BuildkitImageTag is the name of the BuildKit image the bed makes in its
// Docker daemon.
const BuildkitImageTag = "envbuild-testbed/buildkit:local"

// BuildkitRunOptions are the `docker run` options a BuildKit container
// needs on this sandbox, where `--privileged` is refused (one capability
// is missing from the bounding set): the capabilities buildkitd and runc
// use, no seccomp or AppArmor confinement, the host's network (the
// registries are on 127.0.0.1) and a writable cgroup file system for runc.
var BuildkitRunOptions = []string{
	"--cap-add=CHOWN", "--cap-add=DAC_OVERRIDE", "--cap-add=FOWNER", "--cap-add=FSETID",
	"--cap-add=KILL", "--cap-add=SETGID", "--cap-add=SETUID", "--cap-add=SETPCAP",
	"--cap-add=NET_BIND_SERVICE", "--cap-add=NET_RAW", "--cap-add=SYS_CHROOT", "--cap-add=MKNOD",
	"--cap-add=AUDIT_WRITE", "--cap-add=SETFCAP", "--cap-add=SYS_ADMIN", "--cap-add=NET_ADMIN",
	"--cap-add=SYS_PTRACE", "--cap-add=DAC_READ_SEARCH",
	"--security-opt=seccomp=unconfined", "--security-opt=apparmor=unconfined",
	"--network=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
}

// CannotRunDocker returns why the bed cannot start a Docker daemon here,
// or "" when it can (scripts/setup.sh installs docker.io).
func CannotRunDocker() string {
	if reason := CannotRun(); reason != "" {
		return reason
	}
	for _, c := range []string{"dockerd", "docker"} {
		if _, err := lookPathSbin(c); err != nil {
			return c + " is not installed (scripts/setup.sh installs Debian's docker.io)"
		}
	}
	return ""
}

func lookPathSbin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		if p := filepath.Join(d, name); isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// StartDocker starts the bed's Docker daemon (once; later calls return the
// same) with its state under STATE/dockerd, and makes the BuildKit image
// BuildkitImageTag in it. It returns DOCKER_HOST's value for that daemon.
// Docker's own iptables and bridge are off: containers use the host's
// network.
func (b *Bed) StartDocker(ctx context.Context) (string, error) {
	b.dockerMu.Lock()
	defer b.dockerMu.Unlock()
	if b.DockerHost != "" {
		return b.DockerHost, nil
	}
	if reason := CannotRunDocker(); reason != "" {
		return "", errors.New("starting dockerd: " + reason)
	}
	dockerd, _ := lookPathSbin("dockerd")
	started := time.Now()
	dir := filepath.Join(b.StateDir, "dockerd")
	for _, d := range []string{filepath.Join(dir, "data"), filepath.Join(dir, "exec")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return "", fmt.Errorf("creating dockerd state %q: %w", d, err)
		}
	}
	sock := filepath.Join(dir, "docker.sock")
	host := "unix://" + sock
	argv := []string{dockerd,
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "dockerd.pid"),
		"-H", host,
		"--iptables=false", "--bridge=none",
	}
	p, err := startProcess("dockerd", filepath.Join(dir, "dockerd.log"), argv, b.detach)
	if err != nil {
		return "", err
	}
	b.addProcess(p)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := dockerCmd(ctx, host, nil, "version", "--format", "{{.Server.Version}}"); err == nil {
			break
		} else if p.exited() || time.Now().After(deadline) {
			return "", fmt.Errorf("dockerd did not answer on %s (%v); see %s", host, err, p.Log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.logf("dockerd answering on %s after %s", host, time.Since(started).Round(time.Millisecond))
	t := time.Now()
	if err := b.importBuildkitImage(ctx, host); err != nil {
		return "", err
	}
	b.logf("BuildKit image %s made in %s", BuildkitImageTag, time.Since(t).Round(time.Millisecond))
	b.DockerHost, b.BuildkitImage = host, BuildkitImageTag
	if err := b.writeState(); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(b.StateDir, "env.sh"), []byte(b.ExportLines()), 0o644); err != nil {
		return "", fmt.Errorf("writing env.sh: %w", err)
	}
	return host, nil
}

// dockerCmd runs the docker CLI against host.
func dockerCmd(ctx context.Context, host string, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(daemonEnv(), "DOCKER_HOST="+host)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// importBuildkitImage makes the BuildKit image without any registry: a
// root file system of static busybox, the bed's buildkitd, buildctl
// (`docker-container://` runs `buildctl dial-stdio` inside) and runc, each
// with the shared libraries ldd lists, streamed into `docker import`.
func (b *Bed) importBuildkitImage(ctx context.Context, host string) error {
	buildctl, err := findBuildctl()
	if err != nil {
		return err
	}
	runc, err := lookPathSbin("runc")
	if err != nil {
		return fmt.Errorf("finding runc for the BuildKit image: %w", err)
	}
	files := map[string]string{ // path in the image -> file on the host
		"/usr/bin/buildkitd": b.Buildkitd,
		"/usr/bin/buildctl":  buildctl,
		"/usr/bin/runc":      runc,
		"/bin/busybox":       "/bin/busybox",
	}
	for _, bin := range []string{b.Buildkitd, buildctl, runc} {
		libs, err := sharedLibs(ctx, bin)
		if err != nil {
			return err
		}
		for _, l := range libs {
			files[l] = l
		}
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeRootfs(pw, files)) }()
	_, err = dockerCmd(ctx, host, pr, "import",
		"--change", `ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
		"--change", `ENTRYPOINT ["/usr/bin/buildkitd"]`,
		"-", BuildkitImageTag)
	pr.Close()
	if err != nil {
		return fmt.Errorf("making the BuildKit image: %w", err)
	}
	return nil
}

// findBuildctl is bin/buildctl of the module (built by scripts/setup.sh),
// else buildctl on PATH.
func findBuildctl() (string, error) {
	if root, err := ModuleRoot(); err == nil {
		if p := filepath.Join(root, "bin", "buildctl"); isExecutable(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath("buildctl"); err == nil {
		return p, nil
	}
	return "", errors.New("finding buildctl: no bin/buildctl in the envbuild module and none on PATH; run scripts/setup.sh")
}

// sharedLibs lists the shared libraries (and the dynamic loader) bin
// needs, as absolute paths; none for a static binary.
func sharedLibs(ctx context.Context, bin string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "ldd", bin).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "not a dynamic executable") || strings.Contains(string(out), "statically linked") {
			return nil, nil
		}
		return nil, fmt.Errorf("ldd %s: %v: %s", bin, err, out)
	}
	return parseLdd(string(out)), nil
}

// parseLdd reads ldd's "name => /path (addr)" and "/path (addr)" lines.
func parseLdd(out string) []string {
	var libs []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		for i, w := range f {
			if strings.HasPrefix(w, "/") && (i == 0 || f[i-1] == "=>") {
				libs = append(libs, w)
				break
			}
		}
	}
	return libs
}

// writeRootfs writes a tar of the files (symlinks followed), the
// directories they need, busybox's applet links and the directories
// buildkitd uses.
func writeRootfs(w io.Writer, files map[string]string) error {
	tw := tar.NewWriter(w)
	mtime := time.Unix(0, 0)
	dirs := map[string]bool{}
	var mkdir func(string) error
	mkdir = func(d string) error {
		if d == "/" || d == "." || dirs[d] {
			return nil
		}
		if err := mkdir(filepath.Dir(d)); err != nil {
			return err
		}
		dirs[d] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755, ModTime: mtime})
	}
	for _, d := range []string{"/tmp", "/etc", "/run", "/var/lib/buildkit", "/proc", "/sys", "/dev"} {
		if err := mkdir(d); err != nil {
			return err
		}
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, dst := range paths {
		src := files[dst]
		if err := mkdir(filepath.Dir(dst)); err != nil {
			return err
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("reading %s for the BuildKit image: %w", src, err)
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(dst, "/"), Mode: 0o755, Size: int64(len(data)), ModTime: mtime}); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	for _, applet := range []string{"sh", "ls", "cat", "ps", "mount", "env", "echo", "test"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox", Mode: 0o777, ModTime: mtime}); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/passwd", Mode: 0o644, Size: int64(len("root:x:0:0:root:/root:/bin/sh\n")), ModTime: mtime}); err != nil {
		return err
	}
	if _, err := io.WriteString(tw, "root:x:0:0:root:/root:/bin/sh\n"); err != nil {
		return err
	}
	return tw.Close()
}
