package metaflow

import (
	"reflect"
	"testing"

	"github.com/envbuild/envbuild/frontends/spec"
)

func TestStepSpec(t *testing.T) {
	tests := []struct {
		name   string
		step   Step
		want   spec.Spec
		wantOK bool
	}{
		{
			name: "pypi",
			step: Step{Name: "train", Python: "3.11", Pypi: &Decorator{Kind: "pypi",
				Packages: map[string]string{"pandas": "2.2.2", "requests": ">=2.31", "six": ""}, ExtraIndices: []string{"https://x.example/simple"}}},
			want: spec.Spec{Name: "train", Python: "3.11", PyPI: spec.PyPI{
				Requirements: []string{"pandas==2.2.2", "requests>=2.31", "six"}, ExtraIndexURLs: []string{"https://x.example/simple"}}},
			wantOK: true,
		},
		{
			name: "conda",
			step: Step{Name: "c", Python: "3.13t", Conda: &Decorator{Kind: "conda",
				Packages: map[string]string{"numpy": "1.26", "conda-forge::zlib": "=1.2", "six": ""}, Channels: []string{"bioconda"}}},
			want: spec.Spec{Name: "c", Python: "3.13t", Conda: spec.Conda{
				Specs: []string{"conda-forge::zlib=1.2", "numpy==1.26", "six"}, Channels: []string{"bioconda"}}},
			wantOK: true,
		},
		{
			name: "mixed",
			step: Step{Name: "m",
				Pypi:  &Decorator{Kind: "pypi", Packages: map[string]string{"six": ""}},
				Conda: &Decorator{Kind: "conda", Packages: map[string]string{"zlib": ""}, PipPackages: map[string]string{"pyyaml": "6.0.2"}}},
			want: spec.Spec{Name: "m",
				PyPI:  spec.PyPI{Requirements: []string{"six", "pyyaml==6.0.2"}},
				Conda: spec.Conda{Specs: []string{"zlib"}}},
			wantOK: true,
		},
		{name: "disabled", step: Step{Name: "d", Disabled: true, Pypi: &Decorator{Kind: "pypi"}}},
		{name: "no environment", step: Step{Name: "end"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.step.Spec()
			if ok != tt.wantOK || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, %v\nwant %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
