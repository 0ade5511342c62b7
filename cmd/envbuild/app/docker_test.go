package app

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/envbuild/envbuild/builder/engine"
	"github.com/envbuild/envbuild/frontends/config"
)

// The BuildKit container's image: flag, then ENVBUILD_BUILDKIT_IMAGE, then
// the config file; its run options: the flags (kept whole, commas and
// all), else the config file; the registries come from the configuration.
func TestDockerConnectPrecedence(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(cfg, []byte(`buildkit_image = "mirror.example.com/buildkit:v1"
buildkit_run_options = ["--cap-add=SYS_ADMIN", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw"]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(env map[string]string, args ...string) engine.ConnectOptions {
		t.Helper()
		var got engine.ConnectOptions
		a := &cli.App{Commands: []*cli.Command{{
			Name:  "build",
			Flags: append([]cli.Flag{&cli.StringFlag{Name: "registry"}, &cli.StringFlag{Name: "buildkit-addr"}}, dockerFlags()...),
			Action: func(c *cli.Context) error {
				conf, err := config.Resolve(config.Sources{Env: env, ConfigPath: cfg, Flags: config.Values{Repository: c.String("registry")}}, "")
				if err != nil {
					return err
				}
				got, err = connectOptions(c, env, conf)
				return err
			},
		}}}
		if err := a.Run(append([]string{"envbuild", "build"}, args...)); err != nil {
			t.Fatal(err)
		}
		return got
	}
	o := run(map[string]string{}, "--registry", "localhost:5000/envs")
	if o.BuildkitImage != "mirror.example.com/buildkit:v1" || !slices.Equal(o.Docker.RunOptions, []string{"--cap-add=SYS_ADMIN", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw"}) || !slices.Contains(o.Docker.Registries, "localhost:5000") {
		t.Errorf("from the config file: %+v", o)
	}
	o = run(map[string]string{"ENVBUILD_BUILDKIT_IMAGE": "env.example.com/buildkit:v2"})
	if o.BuildkitImage != "env.example.com/buildkit:v2" {
		t.Errorf("ENVBUILD_BUILDKIT_IMAGE did not win over the config file: %q", o.BuildkitImage)
	}
	o = run(map[string]string{"ENVBUILD_BUILDKIT_IMAGE": "env.example.com/buildkit:v2"}, "--buildkit-image", "flag.example.com/buildkit:v3",
		"--buildkit-run-option=--cap-add=CHOWN,SETUID", "--buildkit-run-option", "--security-opt=seccomp=unconfined")
	if o.BuildkitImage != "flag.example.com/buildkit:v3" || !slices.Equal(o.Docker.RunOptions, []string{"--cap-add=CHOWN,SETUID", "--security-opt=seccomp=unconfined"}) {
		t.Errorf("flags did not win, or a run option was split: %+v", o)
	}
}
