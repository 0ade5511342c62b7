package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/envbuild/envbuild/integration/testbed"
)

// A base whose config sets PYTHONPATH (to the directory of its Debian
// python3-yaml) and PYTHONHOME: the environment's image leaves both unset,
// keeps them as labels and keeps the rest of the config; its python is the
// environment's and cannot import the base's yaml; the base's own python3
// still can, by its default path.
func TestBaseWithPythonPathAndHome(t *testing.T) {
	bed := testbed.Require(t)
	ctx := context.Background()

	img := image(t, bed.Base)
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.Config.Env = append(cfg.Config.Env, "PYTHONPATH=/usr/lib/python3/dist-packages", "PYTHONHOME=/usr", "TEAM_SETTING=kept")
	based, err := mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	baseRef := fmt.Sprintf("%s/bases/pythonpath:%d", bed.Registry, time.Now().UnixNano())
	ref, err := name.ParseReference(baseRef, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, based); err != nil {
		t.Fatalf("pushing %s: %v", baseRef, err)
	}

	dir := t.TempDir()
	repo := fmt.Sprintf("%s/envs/pythonpath-%d", bed.Registry, time.Now().UnixNano())
	res := mustBuild(t, dir, nil, "--pypi", "six==1.16.0", "--base", baseRef, "--registry", repo)
	if notes := strings.Join(res.Notes, "\n"); !strings.Contains(notes, "PYTHONPATH=/usr/lib/python3/dist-packages") || !strings.Contains(notes, "PYTHONHOME=/usr") {
		t.Errorf("the build's notes %q do not say PYTHONPATH and PYTHONHOME are left unset", notes)
	}

	built, err := image(t, res.Image).ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Join(built.Config.Env, "\n")
	if strings.Contains(env, "PYTHONPATH=") || strings.Contains(env, "PYTHONHOME=") || !strings.Contains(env, "TEAM_SETTING=kept") {
		t.Errorf("image env %q: want PYTHONPATH and PYTHONHOME gone and the base's other variables kept", built.Config.Env)
	}
	if built.Config.Labels["dev.envbuild.base-env.PYTHONPATH"] != "/usr/lib/python3/dist-packages" || built.Config.Labels["dev.envbuild.base-env.PYTHONHOME"] != "/usr" {
		t.Errorf("image labels %v do not keep the base's values", built.Config.Labels)
	}

	run := func(argv ...string) (string, string, int) {
		out, errOut, code, err := bed.Run(ctx, res.Image, "linux/amd64", argv, nil)
		if err != nil {
			t.Fatalf("running %q: %v", argv, err)
		}
		return strings.TrimSpace(string(out)), string(errOut), code
	}
	if out, errOut, code := run("python", "-c", "import os, six, sys; print(sys.prefix, six.__version__, os.environ.get('PYTHONPATH'), os.environ.get('PYTHONHOME'))"); code != 0 || out != "/opt/envbuild/env 1.16.0 None None" {
		t.Errorf("the environment's python: exit %d, %q, %s", code, out, errOut)
	}
	if _, errOut, code := run("python", "-c", "import yaml"); code == 0 || !strings.Contains(errOut, "No module named 'yaml'") {
		t.Errorf("the base's yaml is importable from the environment (exit %d, %q)", code, errOut)
	}
	if out, errOut, code := run("/usr/bin/python3", "-c", "import yaml; print(yaml.__file__)"); code != 0 || !strings.HasPrefix(out, "/usr/lib/python3/dist-packages/") {
		t.Errorf("the base's own python3 lost its yaml: exit %d, %q %s", code, out, errOut)
	}
}
