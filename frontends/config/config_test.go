package config

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPrecedence(t *testing.T) {
	home := t.TempDir()
	write(t, filepath.Join(home, ".config/envbuild/config.toml"), "default_container_image = \"file/img:1\"\ndefault_container_registry = \"file.example.com\"\nrepository = \"file.example.com/envs\"\n")
	write(t, filepath.Join(home, ".metaflowconfig/config.json"), `{"METAFLOW_DEFAULT_CONTAINER_IMAGE": "profile/img:1", "METAFLOW_KUBERNETES_CONTAINER_IMAGE": "profile/k8s:1", "METAFLOW_DEFAULT_CONTAINER_REGISTRY": "profile.example.com"}`)
	write(t, filepath.Join(home, ".metaflowconfig/config_dev.json"), `{"METAFLOW_DEFAULT_CONTAINER_IMAGE": "devprofile/img:1"}`)

	for _, tc := range []struct {
		name      string
		flags     Values
		env       map[string]string
		variant   string
		noFile    bool
		wantImage string
		wantReg   string
		wantRepo  string
	}{
		{"flag wins", Values{Image: "flag/img", Registry: "flag.io", Repository: "flag.io/r"}, map[string]string{"ENVBUILD_DEFAULT_CONTAINER_IMAGE": "env/img"}, "", false, "flag/img", "flag.io", "flag.io/r"},
		{"envbuild env over file", Values{}, map[string]string{"ENVBUILD_DEFAULT_CONTAINER_IMAGE": "env/img", "ENVBUILD_REPOSITORY": "env.io/r"}, "", false, "env/img", "file.example.com", "env.io/r"},
		{"file over metaflow env", Values{}, map[string]string{"METAFLOW_DEFAULT_CONTAINER_IMAGE": "mf/img"}, "", false, "file/img:1", "file.example.com", "file.example.com/envs"},
		{"metaflow env over profile", Values{}, map[string]string{"METAFLOW_DEFAULT_CONTAINER_IMAGE": "mf/img"}, "", true, "mf/img", "profile.example.com", ""},
		{"kubernetes variant first", Values{}, map[string]string{"METAFLOW_DEFAULT_CONTAINER_IMAGE": "mf/img", "METAFLOW_KUBERNETES_CONTAINER_IMAGE": "mf/k8s"}, "kubernetes", true, "mf/k8s", "profile.example.com", ""},
		{"batch variant ignores kubernetes", Values{}, map[string]string{"METAFLOW_KUBERNETES_CONTAINER_IMAGE": "mf/k8s"}, "batch", true, "profile/img:1", "profile.example.com", ""},
		{"profile variant", Values{}, map[string]string{}, "kubernetes", true, "profile/k8s:1", "profile.example.com", ""},
		{"named profile", Values{}, map[string]string{"METAFLOW_PROFILE": "dev"}, "", true, "devprofile/img:1", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range tc.env {
				env[k] = v
			}
			if tc.noFile {
				env["XDG_CONFIG_HOME"] = filepath.Join(home, "nothing-here")
			}
			r, err := Resolve(Sources{Flags: tc.flags, Env: env, Home: home}, tc.variant)
			if err != nil {
				t.Fatal(err)
			}
			if r.Image.Value != tc.wantImage || r.Registry.Value != tc.wantReg || r.Repository.Value != tc.wantRepo {
				t.Errorf("got image %q (%s), registry %q (%s), repo %q; want %q, %q, %q", r.Image.Value, r.Image.Source, r.Registry.Value, r.Registry.Source, r.Repository.Value, tc.wantImage, tc.wantReg, tc.wantRepo)
			}
		})
	}
}

func TestBaseImageAndRegistryRule(t *testing.T) {
	r := Resolved{Registry: Setting{Value: "registry.example.com/"}}
	for _, tc := range []struct{ step, def, python, want string }{
		{"ml/base:1", "", "", "registry.example.com/ml/base:1"},
		{"localhost:5000/ml/base:1", "", "", "localhost:5000/ml/base:1"},
		{"localhost/ml/base:1", "", "", "localhost/ml/base:1"},
		{"ghcr.io/x/y", "", "", "ghcr.io/x/y"},
		{"ubuntu", "", "", "registry.example.com/ubuntu"},
		{"", "team/base:2", "", "registry.example.com/team/base:2"},
		{"", "", "3.11", "registry.example.com/python:3.11-slim"},
		{"", "", "3.13.1", "registry.example.com/python:3.13-slim"},
	} {
		rr := r
		rr.Image.Value = tc.def
		got, err := rr.BaseImage(tc.step, tc.python)
		if err != nil || got != tc.want {
			t.Errorf("BaseImage(%q, def %q, %q) = %q, %v; want %q", tc.step, tc.def, tc.python, got, err, tc.want)
		}
	}
	if _, err := (Resolved{}).BaseImage("", ""); err == nil {
		t.Errorf("no image and no python gave no error")
	}
}

func TestConfigFileStrict(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.toml")
	write(t, p, "repositroy = \"x\"\n")
	if _, err := Resolve(Sources{ConfigPath: p, Env: map[string]string{}, Home: dir}, ""); err == nil {
		t.Fatal("unknown key in config file accepted")
	}
	if _, err := Resolve(Sources{ConfigPath: filepath.Join(dir, "missing.toml"), Env: map[string]string{}, Home: dir}, ""); err == nil {
		t.Fatal("missing explicit --config accepted")
	}
}

// layers_from_wheels is a boolean whose absence is not false: unset lets
// the default stand.
func TestConfigFileLayersFromWheels(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.toml")
	for _, tc := range []struct {
		text string
		want string
	}{
		{"layers_from_wheels = true\n", "true"},
		{"layers_from_wheels = false\n", "false"},
		{"repository = \"r.example.com/envs\"\n", "unset"},
	} {
		write(t, p, tc.text)
		r, err := Resolve(Sources{ConfigPath: p, Env: map[string]string{}, Home: dir}, "")
		if err != nil {
			t.Fatal(err)
		}
		got := "unset"
		if v := r.File.LayersFromWheels; v != nil {
			got = fmt.Sprint(*v)
		}
		if got != tc.want {
			t.Errorf("%q: layers_from_wheels %s, want %s", tc.text, got, tc.want)
		}
	}
	write(t, p, "layers_from_wheels = \"yes\"\n")
	if _, err := Resolve(Sources{ConfigPath: p, Env: map[string]string{}, Home: dir}, ""); err == nil {
		t.Error("layers_from_wheels = \"yes\" accepted")
	}
}

func TestConfigFileBuildkitTLS(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "conf", "c.toml")
	write(t, p, "buildkit_addr = \"tcp://buildkit.example.com:1234\"\ntlscacert = \"certs/ca.pem\"\ntlscert = \"/abs/cert.pem\"\ntlskey = \"certs/key.pem\"\ntlsservername = \"buildkit.internal\"\n")
	r, err := Resolve(Sources{ConfigPath: p, Env: map[string]string{}, Home: dir}, "")
	if err != nil {
		t.Fatal(err)
	}
	f := r.File
	if f.BuildkitAddr != "tcp://buildkit.example.com:1234" || f.TLSServerName != "buildkit.internal" || f.TLSCert != "/abs/cert.pem" {
		t.Errorf("%+v", f)
	}
	// Relative files are relative to the config file.
	if f.TLSCACert != filepath.Join(dir, "conf", "certs", "ca.pem") || f.TLSKey != filepath.Join(dir, "conf", "certs", "key.pem") {
		t.Errorf("relative TLS paths: %q %q", f.TLSCACert, f.TLSKey)
	}
}
