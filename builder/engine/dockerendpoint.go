package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// DockerEndpoint is the Docker daemon the Docker CLI would talk to, found
// the way the CLI finds it.
type DockerEndpoint struct {
	// Host is the daemon's address (unix:///var/run/docker.sock,
	// tcp://host:2376, ssh://user@host, npipe://…).
	Host string
	// Context is the Docker context the address comes from; "" for the
	// default context (DOCKER_HOST, or the platform's socket).
	Context string
	// Source says where Host was found, for messages: "DOCKER_HOST",
	// `docker context "NAME"`, or "the default socket".
	Source string
	// viaHost is set when Host is not what the CLI would pick by itself
	// (Docker Desktop's per-user socket on macOS): docker commands get
	// --host so they agree with this lookup.
	viaHost bool
}

// defaultDockerSocket is the Docker CLI's default on Unix.
const defaultDockerSocket = "unix:///var/run/docker.sock"

// dockerLookup is what FindDockerEndpoint reads, so tests can fake a
// machine.
type dockerLookup struct {
	env    func(string) string
	home   string
	goos   string
	exists func(string) bool
}

// FindDockerEndpoint returns the Docker daemon the Docker CLI would use:
// DOCKER_HOST when set; else the context named by DOCKER_CONTEXT or by
// currentContext in $DOCKER_CONFIG/config.json (~/.docker/config.json),
// read from contexts/meta/<sha256 of the name>/meta.json; else the default
// socket, which on macOS is Docker Desktop's ~/.docker/run/docker.sock when
// /var/run/docker.sock is absent.
func FindDockerEndpoint() (DockerEndpoint, error) {
	home, _ := os.UserHomeDir()
	return findDockerEndpoint(dockerLookup{
		env:  os.Getenv,
		home: home,
		goos: runtime.GOOS,
		exists: func(p string) bool {
			_, err := os.Stat(p)
			return err == nil
		},
	})
}

func findDockerEndpoint(l dockerLookup) (DockerEndpoint, error) {
	if h := l.env("DOCKER_HOST"); h != "" {
		return DockerEndpoint{Host: h, Source: "DOCKER_HOST"}, nil
	}
	cfgDir := l.env("DOCKER_CONFIG")
	if cfgDir == "" {
		cfgDir = filepath.Join(l.home, ".docker")
	}
	name := l.env("DOCKER_CONTEXT")
	if name == "" {
		data, err := os.ReadFile(filepath.Join(cfgDir, "config.json"))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return DockerEndpoint{}, fmt.Errorf("reading the Docker CLI's config: %w", err)
		}
		if err == nil {
			var cfg struct {
				CurrentContext string `json:"currentContext"`
			}
			if err := json.Unmarshal(data, &cfg); err != nil {
				return DockerEndpoint{}, fmt.Errorf("reading %s: %w", filepath.Join(cfgDir, "config.json"), err)
			}
			name = cfg.CurrentContext
		}
	}
	if name != "" && name != "default" {
		sum := sha256.Sum256([]byte(name))
		meta := filepath.Join(cfgDir, "contexts", "meta", hex.EncodeToString(sum[:]), "meta.json")
		data, err := os.ReadFile(meta)
		if err != nil {
			return DockerEndpoint{}, fmt.Errorf("Docker context %q (the current one) is not in %s: %w; pick another with `docker context use`", name, filepath.Dir(meta), err)
		}
		var m struct {
			Endpoints map[string]struct {
				Host string `json:"Host"`
			} `json:"Endpoints"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return DockerEndpoint{}, fmt.Errorf("reading Docker context %q from %s: %w", name, meta, err)
		}
		host := m.Endpoints["docker"].Host
		if host == "" {
			return DockerEndpoint{}, fmt.Errorf("Docker context %q (%s) has no docker endpoint", name, meta)
		}
		return DockerEndpoint{Host: host, Context: name, Source: fmt.Sprintf("docker context %q", name)}, nil
	}
	if l.goos == "windows" {
		return DockerEndpoint{Host: "npipe:////./pipe/docker_engine", Source: "the default pipe"}, nil
	}
	if l.goos == "darwin" && !l.exists("/var/run/docker.sock") {
		// Docker Desktop without its privileged helper only has the
		// per-user socket.
		user := filepath.Join(l.home, ".docker", "run", "docker.sock")
		if l.exists(user) {
			return DockerEndpoint{Host: "unix://" + user, Source: "Docker Desktop's socket", viaHost: true}, nil
		}
	}
	return DockerEndpoint{Host: defaultDockerSocket, Source: "the default socket"}, nil
}

// cliArgs are the docker CLI's global flags that make it talk to e.
func (e DockerEndpoint) cliArgs() []string {
	switch {
	case e.Context != "":
		return []string{"--context", e.Context}
	case e.viaHost:
		return []string{"--host", e.Host}
	}
	return nil
}

// String names the endpoint in messages.
func (e DockerEndpoint) String() string {
	return fmt.Sprintf("%s (%s)", e.Host, e.Source)
}
