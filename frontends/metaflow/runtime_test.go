package metaflow

import (
	"encoding/json"
	"os/exec"
	"reflect"
	"testing"
)

func TestWithRuntimePackages(t *testing.T) {
	pypi := &Decorator{Kind: "pypi", Packages: map[string]string{"requests": "2.32.3", "six": ""}}
	conda := &Decorator{Kind: "conda", Packages: map[string]string{"zlib": ""}}
	tests := []struct {
		name      string
		step      Step
		wantPypi  map[string]string
		wantConda map[string]string
		datastore string
		unchanged bool
	}{
		{
			name:      "added to @pypi, the step's versions win",
			step:      Step{Pypi: pypi},
			datastore: "s3",
			wantPypi:  map[string]string{"requests": "2.32.3", "six": "", "boto3": ">=1.14.0"},
		},
		{
			name:      "added to @conda when there is no @pypi",
			step:      Step{Conda: conda},
			datastore: "local",
			wantConda: map[string]string{"zlib": "", "requests": ">=2.21.0"},
		},
		{
			name:      "@pypi gets them when both are present",
			step:      Step{Pypi: &Decorator{Kind: "pypi", Packages: map[string]string{}}, Conda: &Decorator{Kind: "conda", Packages: map[string]string{}, Python: "3.11"}},
			datastore: "local",
			wantPypi:  map[string]string{"requests": ">=2.21.0"},
			wantConda: map[string]string{},
		},
		{name: "disabled step", step: Step{Pypi: pypi, Disabled: true}, datastore: "s3", unchanged: true},
		{name: "no environment", step: Step{}, datastore: "s3", unchanged: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.step.WithRuntimePackages(tt.datastore)
			if err != nil {
				t.Fatal(err)
			}
			if tt.unchanged {
				if !reflect.DeepEqual(got, tt.step) {
					t.Fatalf("got %s, want the step unchanged", dumpStep(got))
				}
				return
			}
			if got.Pypi != nil && !reflect.DeepEqual(got.Pypi.Packages, tt.wantPypi) {
				t.Errorf("pypi packages %v, want %v", got.Pypi.Packages, tt.wantPypi)
			}
			if got.Conda != nil && !reflect.DeepEqual(got.Conda.Packages, tt.wantConda) {
				t.Errorf("conda packages %v, want %v", got.Conda.Packages, tt.wantConda)
			}
		})
	}
	// The input is not modified.
	if _, ok := pypi.Packages["boto3"]; ok {
		t.Errorf("WithRuntimePackages modified its input")
	}
	if _, err := (Step{Pypi: pypi}).WithRuntimePackages("hdfs"); err == nil {
		t.Errorf("unknown datastore accepted")
	}
}

func TestRuntimePackagesMatchMetaflow(t *testing.T) {
	requireMetaflow(t)
	for ds := range runtimePins {
		out, err := exec.Command("python3", "-c",
			"import json,sys; from metaflow.metaflow_config import get_pinned_conda_libs as p; print(json.dumps(p('3.11', sys.argv[1])))", ds).Output()
		if err != nil {
			t.Fatalf("get_pinned_conda_libs(%q): %v", ds, err)
		}
		var want map[string]string
		if err := json.Unmarshal(out, &want); err != nil {
			t.Fatal(err)
		}
		got, _ := RuntimePackages(ds)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("datastore %s: got %v, metaflow pins %v", ds, got, want)
		}
	}
}
