package metaflow

// Flow is a Metaflow flow as envbuild needs it.
type Flow struct {
	// Name is the flow's class name, which is Metaflow's flow name.
	Name string
	// File is the flow file's path as given to the loader.
	File string
	// Steps are in file order.
	Steps []Step
	// ConfigsSHA256 is the sha256 of the flow's Config values as Metaflow
	// resolved them ("" without Configs, or when read without Metaflow);
	// the Metaflow extension compares it to tell stale images.
	ConfigsSHA256 string
}

// Step is one step of a flow with its merged environment decorators.
type Step struct {
	Name string
	// Pypi is the step's @pypi merged with the flow's @pypi_base; nil when
	// neither is present.
	Pypi *Decorator
	// Conda is the step's @conda merged with the flow's @conda_base; nil
	// when neither is present.
	Conda *Decorator
	// Disabled is true when a present @pypi or @conda is disabled after
	// merging: the step then runs in its base image unchanged.
	Disabled bool
	// Python is the step's Python version, Metaflow's way: @pypi's, else
	// @conda's; "" means the base image's interpreter.
	Python string
	// Image is the image written in @kubernetes(image=…) or @batch(image=…),
	// "" when none is written.
	Image string
	// ImageFrom is "kubernetes" or "batch" when the step has that decorator
	// (with or without an image), for the _KUBERNETES_/_BATCH_ variants of
	// the configuration lookup; "" for a step that runs locally.
	ImageFrom string
	// Pos is the position of the step function's def.
	Pos Position
}

// Decorator is the merged view of @pypi/@pypi_base or @conda/@conda_base.
type Decorator struct {
	// Kind is "pypi" or "conda".
	Kind string
	// Packages maps a package name (conda: possibly "channel::name") to a
	// version as written ("" for any version); the step's entries win over
	// the flow's. For conda, `libraries` is folded in (packages win).
	Packages map[string]string
	// Python is the step's python, else the flow-level one; "" when unset.
	Python string
	// Channels are conda channels (metaflow-netflixext), flow's then step's.
	Channels []string
	// ExtraIndices are extra PyPI indexes (@pypi extra_indices and sources,
	// @conda pip_sources; metaflow-netflixext), flow's then step's.
	ExtraIndices []string
	// PipPackages are @conda's pip_packages (metaflow-netflixext).
	PipPackages map[string]string
	// Disabled is the step's disabled when set, else the flow-level one;
	// nil when neither sets it.
	Disabled *bool
}

// Options control Load.
type Options struct {
	// Python is the interpreter used to load the flow with Metaflow; the
	// default is python3 on PATH.
	Python string
	// AllowMixed accepts @pypi and @conda packages in one step, as
	// metaflow-netflixext does; Metaflow itself refuses them. Default false.
	AllowMixed bool
	// Dir is the working directory the flow is loaded in, which is where
	// Metaflow resolves relative Config paths; default the flow's directory.
	Dir string
	// MetaflowArgs are extra top-level options for the flow's command line,
	// such as "--config", "name", "file.json". Default none.
	MetaflowArgs []string
}
