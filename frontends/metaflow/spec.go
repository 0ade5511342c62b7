package metaflow

import (
	"github.com/envbuild/envbuild/frontends/spec"
)

// Spec is the step's environment as an envbuild Spec named after the step:
// its Python, its @pypi packages as PEP 508 requirements and its @conda
// packages as MatchSpecs (Metaflow's rules, frontends/spec), conda channels
// and extra PyPI indexes. In a mixed step (Options.AllowMixed) both parts are
// filled, @conda's pip_packages joining the PyPI requirements. Base,
// platforms and repository are configuration and left empty.
//
// ok is false for a disabled step and for a step without @pypi/@conda: it
// runs in its base image unchanged.
func (s Step) Spec() (sp spec.Spec, ok bool) {
	if s.Disabled || s.Pypi == nil && s.Conda == nil {
		return spec.Spec{}, false
	}
	sp = spec.Spec{Name: s.Name, Python: s.Python}
	if d := s.Pypi; d != nil {
		sp.PyPI.Requirements = append(sp.PyPI.Requirements, spec.PypiRequirements(d.Packages)...)
		sp.PyPI.ExtraIndexURLs = appendUnique(sp.PyPI.ExtraIndexURLs, d.ExtraIndices...)
	}
	if d := s.Conda; d != nil {
		sp.Conda.Specs = spec.CondaSpecs(d.Packages)
		sp.Conda.Channels = append([]string(nil), d.Channels...)
		sp.PyPI.Requirements = append(sp.PyPI.Requirements, spec.PypiRequirements(d.PipPackages)...)
		sp.PyPI.ExtraIndexURLs = appendUnique(sp.PyPI.ExtraIndexURLs, d.ExtraIndices...)
	}
	return sp, true
}
