package app

import (
	"bytes"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/envbuild/envbuild/frontends/config"
)

// --layers-from-wheels is looked up as the other settings are: the flag,
// then ENVBUILD_LAYERS_FROM_WHEELS, then the config file. Set by the
// environment or the file, it applies to gzip builds at the default level
// only, and says so when it does not apply.
func TestLayersFromWheelsSetting(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name string
		args []string
		env  string
		file *bool
		want bool
		note string
	}{
		{"unset", nil, "", nil, false, ""},
		{"flag", []string{"--layers-from-wheels"}, "", nil, true, ""},
		{"environment", nil, "1", nil, true, ""},
		{"config file", nil, "", &yes, true, ""},
		{"environment over the config file", nil, "false", &yes, false, ""},
		{"flag off over the environment", []string{"--layers-from-wheels=false"}, "true", nil, false, ""},
		{"flag over the environment", []string{"--layers-from-wheels"}, "0", &no, true, ""},
		{"config file, zstd", []string{"--compression", "zstd"}, "", &yes, false, "layers_from_wheels in the config file does not apply to this build"},
		{"environment, a level", []string{"--compression-level", "6"}, "true", nil, false, "ENVBUILD_LAYERS_FROM_WHEELS does not apply to this build"},
		{"config file off, zstd", []string{"--compression", "zstd"}, "", &no, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got bool
			var errs bytes.Buffer
			app := &cli.App{Name: "t", Flags: layerFlags(), ErrWriter: &errs, Action: func(c *cli.Context) error {
				env := map[string]string{}
				if tc.env != "" {
					env[layersFromWheelsEnv] = tc.env
				}
				got = layersFromWheels(c, env, config.Resolved{File: config.File{LayersFromWheels: tc.file}})
				return nil
			}}
			if err := app.Run(append([]string{"t"}, tc.args...)); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("layersFromWheels = %v, want %v", got, tc.want)
			}
			if tc.note == "" && errs.Len() > 0 || tc.note != "" && !strings.Contains(errs.String(), tc.note) {
				t.Errorf("stderr %q, want %q", errs.String(), tc.note)
			}
		})
	}
}
