package flows

import (
	"reflect"
	"testing"

	"github.com/envbuild/envbuild/frontends/spec"
)

func TestApplyFlags(t *testing.T) {
	step := spec.Spec{Name: "train", PyPI: spec.PyPI{Requirements: []string{"six"}, IndexURL: "https://step.example/simple", ExtraIndexURLs: []string{"https://extra.example/simple"}}, Conda: spec.Conda{Channels: []string{"bioconda"}}}

	none := step
	applyFlags(&none, spec.Spec{Platforms: []string{"linux/arm64"}, Options: spec.Options{NoBytecode: true}})
	want := step
	want.Platforms, want.Options = []string{"linux/arm64"}, spec.Options{NoBytecode: true}
	if !reflect.DeepEqual(none, want) {
		t.Errorf("without index or channel flags:\n got %+v\nwant %+v", none, want)
	}

	all := step
	applyFlags(&all, spec.Spec{PyPI: spec.PyPI{IndexURL: "https://flag.example/simple", ExtraIndexURLs: []string{"https://flag-extra.example/simple"}}, Conda: spec.Conda{Channels: []string{"conda-forge"}}})
	if all.PyPI.IndexURL != "https://flag.example/simple" || !reflect.DeepEqual(all.PyPI.ExtraIndexURLs, []string{"https://flag-extra.example/simple"}) || !reflect.DeepEqual(all.Conda.Channels, []string{"conda-forge"}) {
		t.Errorf("the flags do not win over the step's indexes and channels: %+v", all)
	}
	if !reflect.DeepEqual(all.PyPI.Requirements, []string{"six"}) {
		t.Errorf("the step's requirements changed: %+v", all.PyPI.Requirements)
	}
}
