package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/envbuild/envbuild/lock/failure"
)

// The Docker CLI's buildx keeps its builders in a store directory:
// instances/NAME (JSON, one per builder, NAME lower-cased), and "current"
// (JSON {Key, Name, Global}: the builder `docker buildx use` chose).

// BuildxBuilder is a builder as buildx writes it to instances/NAME.
type BuildxBuilder struct {
	Name    string
	Driver  string
	Nodes   []BuildxNode
	Dynamic bool
}

// BuildxNode is one node of a builder.
type BuildxNode struct {
	Name string
	// Endpoint is the Docker context or endpoint (docker-container), the
	// BuildKit address (remote) or the Kubernetes context (kubernetes).
	Endpoint   string
	DriverOpts map[string]string
	// Flags are buildkitd's flags (the field name buildx keeps).
	Flags []string
}

type buildxCurrent struct {
	Key    string
	Name   string
	Global bool
}

var buildxName = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9._+-]*$`)

// BuildxStoreDir is where buildx keeps its store: $BUILDX_CONFIG, else
// $DOCKER_CONFIG/buildx, else ~/.docker/buildx.
func BuildxStoreDir(env map[string]string, home string) string {
	if d := env["BUILDX_CONFIG"]; d != "" {
		return d
	}
	if d := env["DOCKER_CONFIG"]; d != "" {
		return filepath.Join(d, "buildx")
	}
	return filepath.Join(home, ".docker", "buildx")
}

// BuildxBuilders lists the builders in the store, sorted.
func BuildxBuilders(dir string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(dir, "instances"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// ReadBuildxBuilder reads builder name from the store in dir. "current"
// (unless a builder has that name) is the builder `docker buildx use`
// chose. A builder that does not exist is an error listing those that do.
func ReadBuildxBuilder(dir, name string) (*BuildxBuilder, error) {
	if !buildxName.MatchString(name) {
		return nil, failure.Usage(fmt.Errorf("builder name %q: a buildx builder's name starts with a letter and has letters, digits and ._+- only", name))
	}
	lower := strings.ToLower(name)
	path := filepath.Join(dir, "instances", lower)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && lower == "current" {
		data, err := os.ReadFile(filepath.Join(dir, "current"))
		var cur buildxCurrent
		if err == nil {
			err = json.Unmarshal(data, &cur)
		}
		if err != nil || cur.Name == "" {
			return nil, failure.User(fmt.Errorf("no current buildx builder in %s: choose one with `docker buildx use NAME`, or name one with --builder (builders there: %s)", dir, listOrNone(dir)))
		}
		lower = strings.ToLower(cur.Name)
		path = filepath.Join(dir, "instances", lower)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, failure.User(fmt.Errorf("no buildx builder %q in %s (builders there: %s); `docker buildx ls` lists them, `docker buildx create --name %s --driver docker-container` makes one", name, dir, listOrNone(dir), lower))
	}
	if err != nil {
		return nil, failure.User(fmt.Errorf("reading buildx builder %q: %w", name, err))
	}
	var b BuildxBuilder
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, failure.User(fmt.Errorf("reading buildx builder %s: %w", path, err))
	}
	if b.Name == "" {
		b.Name = lower
	}
	return &b, nil
}

func listOrNone(dir string) string {
	names, _ := BuildxBuilders(dir)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// BuildxTarget is how to reach one node of a builder.
type BuildxTarget struct {
	Addr string
	TLS  TLSOptions
	// Kube is set for the kubernetes driver: the pod is found with kubectl
	// when connecting (KubePodAddr).
	Kube *KubeDeployment
}

// KubeDeployment is a kubernetes-driver node: a Deployment named after the
// node whose pods carry app=NAME.
type KubeDeployment struct {
	Name, Namespace, Context string
}

// Targets says how to reach each node of b, for the drivers that expose a
// BuildKit: docker-container, remote and kubernetes. Other drivers (docker)
// are refused with the fix.
func (b *BuildxBuilder) Targets() ([]BuildxTarget, error) {
	if len(b.Nodes) == 0 {
		return nil, failure.User(fmt.Errorf("buildx builder %q has no nodes; `docker buildx create --name %s --driver docker-container` makes one that has", b.Name, b.Name))
	}
	var out []BuildxTarget
	for _, n := range b.Nodes {
		switch b.Driver {
		case "docker-container":
			addr := "docker-container://buildx_buildkit_" + n.Name
			if ep := n.Endpoint; ep != "" && ep != "default" && !strings.Contains(ep, "://") {
				addr += "?context=" + url.QueryEscape(ep)
			}
			out = append(out, BuildxTarget{Addr: addr})
		case "remote":
			t := TLSOptions{CACert: n.DriverOpts["cacert"], Cert: n.DriverOpts["cert"], Key: n.DriverOpts["key"], ServerName: n.DriverOpts["servername"]}
			if !t.IsZero() && t.ServerName == "" {
				// buildx's remote driver names the endpoint's host.
				if u, err := url.Parse(n.Endpoint); err == nil {
					t.ServerName = u.Hostname()
				}
			}
			out = append(out, BuildxTarget{Addr: n.Endpoint, TLS: t})
		case "kubernetes":
			ns := n.DriverOpts["namespace"]
			ctx := n.Endpoint
			if strings.Contains(ctx, "://") || ctx == "default" {
				ctx = ""
			}
			out = append(out, BuildxTarget{Kube: &KubeDeployment{Name: n.Name, Namespace: ns, Context: ctx}})
		case "docker":
			return nil, failure.Infra(fmt.Errorf("buildx builder %q uses the docker driver (Docker's built-in BuildKit), which envbuild cannot reach as a BuildKit client; make a BuildKit builder: `docker buildx create --name envbuild --driver docker-container` and use --builder envbuild", b.Name))
		default:
			return nil, failure.Infra(fmt.Errorf("buildx builder %q uses the %q driver, which envbuild does not support (it reaches docker-container, remote and kubernetes builders); `docker buildx create --name envbuild --driver docker-container` makes one it does", b.Name, b.Driver))
		}
	}
	return out, nil
}

var kubeName = regexp.MustCompile(`^[-a-z0-9.]+$`)

// KubePodAddr finds a running pod of d with kubectl and returns its
// kube-pod:// address.
func KubePodAddr(ctx context.Context, d KubeDeployment) (string, error) {
	for _, s := range []string{d.Name, d.Namespace} {
		if s != "" && !kubeName.MatchString(s) {
			return "", failure.User(fmt.Errorf("kubernetes builder: %q is not a Kubernetes name", s))
		}
	}
	args := []string{}
	if d.Context != "" {
		args = append(args, "--context="+d.Context)
	}
	if d.Namespace != "" {
		args = append(args, "--namespace="+d.Namespace)
	}
	args = append(args, "get", "pods", "--selector=app="+d.Name, "--field-selector=status.phase=Running", "-o", "jsonpath={.items[*].metadata.name}")
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", failure.Infra(fmt.Errorf("finding the pods of the kubernetes builder %s (kubectl %s): %v: %s; check kubectl reaches the cluster and `docker buildx inspect --bootstrap` started the builder", d.Name, strings.Join(args, " "), err, strings.TrimSpace(errb.String())))
	}
	pods := strings.Fields(out.String())
	if len(pods) == 0 {
		return "", failure.Infra(fmt.Errorf("the kubernetes builder %s has no running pod (kubectl %s); `docker buildx inspect --bootstrap --builder NAME` starts it", d.Name, strings.Join(args, " ")))
	}
	q := url.Values{}
	if d.Namespace != "" {
		q.Set("namespace", d.Namespace)
	}
	if d.Context != "" {
		q.Set("context", d.Context)
	}
	q.Set("container", "buildkitd")
	return "kube-pod://" + pods[0] + "?" + q.Encode(), nil
}

// connectBuilder connects to the first node of buildx builder opts.Builder
// that answers.
func connectBuilder(ctx context.Context, opts ConnectOptions) (*Engine, error) {
	dir := opts.BuildxDir
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = BuildxStoreDir(map[string]string{"BUILDX_CONFIG": os.Getenv("BUILDX_CONFIG"), "DOCKER_CONFIG": os.Getenv("DOCKER_CONFIG")}, home)
	}
	b, err := ReadBuildxBuilder(dir, opts.Builder)
	if err != nil {
		return nil, err
	}
	targets, err := b.Targets()
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, t := range targets {
		addr := t.Addr
		if t.Kube != nil {
			if addr, err = KubePodAddr(ctx, *t.Kube); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if _, err := ParseAddress(addr); err != nil {
			errs = append(errs, err)
			continue
		}
		if opts.Log != nil {
			opts.Log(fmt.Sprintf("buildx builder %s (%s driver): BuildKit at %s", b.Name, b.Driver, addr))
		}
		e, err := dial(ctx, addr, t.TLS, opts.Log)
		if err == nil {
			return e, nil
		}
		if !t.TLS.IsZero() && failure.KindOf(err) == failure.KindUser {
			err = fmt.Errorf("%w (for this builder the files come from its driver options cacert, cert and key: `docker buildx create --name %s --driver remote --driver-opt cacert=…,cert=…,key=… %s` replaces them)", err, b.Name, addr)
		}
		errs = append(errs, err)
	}
	if len(errs) == 1 {
		return nil, fmt.Errorf("buildx builder %s: %w", b.Name, errs[0])
	}
	return nil, fmt.Errorf("buildx builder %s: no node answers: %w", b.Name, errors.Join(errs...))
}
