package metaflow

import (
	"sort"
	"strings"
)

// decoArgs are the arguments of one @pypi/@pypi_base/@conda/@conda_base as
// written, checked for type. A nil field was not given.
type decoArgs struct {
	kind        string // "pypi" or "conda"
	pos         Position
	packages    map[string]string
	python      *string
	disabled    *bool
	channels    []string
	indices     []string
	pipPackages map[string]string
}

// Attributes each decorator accepts: Metaflow's own, then the extension's.
var decoKeys = map[string][]string{
	"pypi":       {"packages", "python", "disabled", "extra_indices", "sources"},
	"pypi_base":  {"packages", "python", "disabled", "extra_indices", "sources"},
	"conda":      {"packages", "libraries", "python", "disabled", "channels", "pip_packages", "pip_sources"},
	"conda_base": {"packages", "libraries", "python", "disabled", "channels", "pip_packages", "pip_sources"},
}

// Extension attributes that name an environment instead of declaring one.
var namedEnvKeys = map[string]bool{"name": true, "pathspec": true, "fetch_at_exec": true}

func computedError(d rawDecorator, key string, v value) *Error {
	e := errorf(v.pos, "@%s(%s=…) is computed at load time (%s); install metaflow (pip install metaflow) so envbuild can load the flow, or write it as a literal", d.name, key, v.src)
	e.computed = true
	return e
}

// readDecoArgs checks the arguments of an environment decorator.
func readDecoArgs(d rawDecorator) (*decoArgs, error) {
	a := &decoArgs{kind: strings.TrimSuffix(d.name, "_base"), pos: d.pos}
	if d.star != nil {
		e := errorf(d.star.pos, "@%s(%s) is computed at load time; install metaflow (pip install metaflow) so envbuild can load the flow, or write its arguments as literals", d.name, d.star.src)
		e.computed = true
		return nil, e
	}
	if d.nposit > 0 {
		return nil, errorf(d.pos, "@%s takes keyword arguments only (for example @%s(packages={\"requests\": \"2.32.3\"}))", d.name, d.name)
	}
	allowed := decoKeys[d.name]
	for _, key := range d.order {
		v := d.args[key]
		if namedEnvKeys[key] {
			return nil, errorf(v.pos, "@%s(%s=…) refers to a named environment of metaflow-netflixext, which envbuild cannot build; list the packages instead", d.name, key)
		}
		known := false
		for _, k := range allowed {
			known = known || k == key
		}
		if !known {
			return nil, errorf(v.pos, "@%s does not accept the argument %q; it accepts %s", d.name, key, strings.Join(allowed, ", "))
		}
		if v.kind == valComputed {
			return nil, computedError(d, key, v)
		}
		var err error
		switch key {
		case "packages", "libraries", "pip_packages":
			var m map[string]string
			m, err = readPackages(d, key, v)
			switch key {
			case "packages":
				a.packages = mergeMaps(a.packages, m)
			case "libraries":
				// Metaflow's init(): {**libraries, **packages}.
				a.packages = mergeMaps(m, a.packages)
			case "pip_packages":
				a.pipPackages = m
			}
		case "python":
			switch v.kind {
			case valNone:
			case valStr:
				s := strings.TrimSpace(v.str)
				a.python = &s
			case valNum:
				return nil, errorf(v.pos, "@%s(python=%s) must be a string: write python=%q (a number loses digits, 3.10 is 3.1)", d.name, v.str, v.str)
			default:
				return nil, typeError(d, key, v, "a string such as \"3.11\"")
			}
		case "disabled":
			switch {
			case v.kind == valNone:
			case v.kind == valBool:
				b := v.b
				a.disabled = &b
			case v.kind == valStr && (strings.EqualFold(v.str, "true") || strings.EqualFold(v.str, "false")):
				// Metaflow compares str(disabled).lower() with "true".
				b := strings.EqualFold(v.str, "true")
				a.disabled = &b
			default:
				return nil, typeError(d, key, v, "True or False")
			}
		case "channels", "extra_indices", "sources", "pip_sources":
			var l []string
			l, err = readStrings(d, key, v)
			if key == "channels" {
				a.channels = appendUnique(a.channels, l...)
			} else {
				a.indices = appendUnique(a.indices, l...)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return a, nil
}

func typeError(d rawDecorator, key string, v value, want string) *Error {
	return errorf(v.pos, "@%s(%s=…) must be %s, got %s", d.name, key, want, v.kind)
}

func readPackages(d rawDecorator, key string, v value) (map[string]string, error) {
	if v.kind == valNone {
		return nil, nil
	}
	if v.kind != valDict {
		return nil, typeError(d, key, v, "a dict of package name to version string, like {\"requests\": \"2.32.3\"}")
	}
	m := make(map[string]string, len(v.keys))
	for i, k := range v.keys {
		val := v.vals[i]
		switch {
		case k.kind == valComputed:
			return nil, computedError(d, key, k)
		case val.kind == valComputed:
			return nil, computedError(d, key, val)
		case k.kind != valStr || strings.TrimSpace(k.str) == "":
			return nil, errorf(k.pos, "@%s(%s=…): a package name must be a non-empty string, got %s", d.name, key, k)
		case val.kind == valNum:
			return nil, errorf(val.pos, "@%s(%s=…): the version of %q must be a string: write %q (a number loses digits)", d.name, key, k.str, val.str)
		case val.kind != valStr:
			return nil, errorf(val.pos, "@%s(%s=…): the version of %q must be a string (\"\" for any version), got %s", d.name, key, k.str, val.kind)
		}
		m[strings.TrimSpace(k.str)] = strings.TrimSpace(val.str)
	}
	return m, nil
}

func readStrings(d rawDecorator, key string, v value) ([]string, error) {
	if v.kind == valNone {
		return nil, nil
	}
	if v.kind == valStr {
		return nil, errorf(v.pos, "@%s(%s=…) must be a list of strings: write [%q]", d.name, key, v.str)
	}
	if v.kind != valList {
		return nil, typeError(d, key, v, "a list of strings")
	}
	var out []string
	for _, e := range v.list {
		if e.kind == valComputed {
			return nil, computedError(d, key, e)
		}
		if e.kind != valStr || strings.TrimSpace(e.str) == "" {
			return nil, errorf(e.pos, "@%s(%s=…) must hold non-empty strings, got %s", d.name, key, e)
		}
		out = append(out, strings.TrimSpace(e.str))
	}
	return out, nil
}

func mergeMaps(base, over map[string]string) map[string]string {
	if base == nil && over == nil {
		return nil
	}
	m := make(map[string]string, len(base)+len(over))
	for k, v := range base {
		m[k] = v
	}
	for k, v := range over {
		m[k] = v
	}
	return m
}

func appendUnique(l []string, more ...string) []string {
	for _, s := range more {
		found := false
		for _, x := range l {
			found = found || x == s
		}
		if !found {
			l = append(l, s)
		}
	}
	return l
}

// mergeDeco merges a step decorator over the flow-level one the way
// Metaflow's PyPIStepDecorator/CondaStepDecorator.step_init do: packages
// {**base, **step}; python step or base (an empty string counts as unset);
// disabled from the step when set, else the base's. Either may be nil.
func mergeDeco(kind string, base, step *decoArgs) *Decorator {
	if base == nil && step == nil {
		return nil
	}
	if base == nil {
		base = &decoArgs{}
	}
	if step == nil {
		step = &decoArgs{} // attached by the base's flow_init
	}
	d := &Decorator{Kind: kind, Packages: mergeMaps(base.packages, step.packages)}
	if d.Packages == nil {
		d.Packages = map[string]string{}
	}
	switch {
	case step.python != nil && *step.python != "":
		d.Python = *step.python
	case base.python != nil:
		d.Python = *base.python
	}
	switch {
	case step.disabled != nil:
		b := *step.disabled
		d.Disabled = &b
	case base.disabled != nil:
		b := *base.disabled
		d.Disabled = &b
	}
	d.Channels = appendUnique(appendUnique(nil, base.channels...), step.channels...)
	d.ExtraIndices = appendUnique(appendUnique(nil, base.indices...), step.indices...)
	d.PipPackages = mergeMaps(base.pipPackages, step.pipPackages)
	return d
}

// buildFlow turns the raw decorators (from either reader) into a Flow.
func buildFlow(file string, raw *rawFlow, opts Options) (*Flow, error) {
	flow := &Flow{Name: raw.name, File: file}
	bases := map[string]*decoArgs{}
	for _, d := range raw.decorators {
		switch d.name {
		case "pypi_base", "conda_base":
			if _, dup := bases[d.name]; dup {
				return nil, errorf(d.pos, "flow %s has @%s twice; Metaflow allows it once", raw.name, d.name)
			}
			a, err := readDecoArgs(d)
			if err != nil {
				return nil, err
			}
			bases[d.name] = a
		case "pypi", "conda":
			return nil, errorf(d.pos, "@%s is a step decorator; use @%s_base on the flow class", d.name, d.name)
		}
	}
	for _, rs := range raw.steps {
		st := Step{Name: rs.name, Pos: rs.pos}
		own := map[string]*decoArgs{}
		var remote *rawDecorator
		for i := range rs.decorators {
			d := rs.decorators[i]
			switch d.name {
			case "pypi", "conda":
				if _, dup := own[d.name]; dup {
					return nil, errorf(d.pos, "step %s has @%s twice; Metaflow allows it once", rs.name, d.name)
				}
				a, err := readDecoArgs(d)
				if err != nil {
					return nil, err
				}
				own[d.name] = a
			case "pypi_base", "conda_base":
				return nil, errorf(d.pos, "@%s is a flow decorator; use @%s on a step", d.name, strings.TrimSuffix(d.name, "_base"))
			case "kubernetes", "batch":
				if remote != nil {
					return nil, errorf(d.pos, "step %s is marked for both @%s and @%s; Metaflow runs a step on one of them", rs.name, remote.name, d.name)
				}
				remote = &rs.decorators[i]
				img, err := readImage(d)
				if err != nil {
					return nil, err
				}
				st.Image, st.ImageFrom = img, d.name
			}
		}
		st.Pypi = mergeDeco("pypi", bases["pypi_base"], own["pypi"])
		st.Conda = mergeDeco("conda", bases["conda_base"], own["conda"])
		for _, d := range []*Decorator{st.Pypi, st.Conda} {
			if d != nil && d.Disabled != nil && *d.Disabled {
				// conda_environment.py: any disabled @pypi/@conda disables the step.
				st.Disabled = true
			}
		}
		if !st.Disabled {
			switch {
			case st.Pypi != nil && st.Pypi.Python != "":
				st.Python = st.Pypi.Python
			case st.Conda != nil:
				st.Python = st.Conda.Python
			}
			if err := checkMixed(rs, st, own, opts); err != nil {
				return nil, err
			}
		}
		flow.Steps = append(flow.Steps, st)
	}
	return flow, nil
}

// checkMixed refuses PyPI and conda packages in one step, as Metaflow's
// CondaEnvironment does ("Mixing and matching PyPI packages and Conda
// packages within a step is not yet supported"), unless opts.AllowMixed. Metaflow
// always adds its runtime pins (requests) to @pypi, so any @pypi next to
// @conda packages is a mix, including one that @pypi_base put there.
func checkMixed(rs rawStep, st Step, own map[string]*decoArgs, opts Options) error {
	if opts.AllowMixed {
		return nil
	}
	pos := rs.pos
	if a := own["conda"]; a != nil {
		pos = a.pos
	}
	mixed := st.Pypi != nil && st.Conda != nil && len(st.Conda.Packages) > 0
	what := "@pypi"
	if own["pypi"] == nil {
		what = "@pypi (added by the flow's @pypi_base)"
	}
	if !mixed && st.Conda != nil && len(st.Conda.PipPackages) > 0 && len(st.Conda.Packages) > 0 {
		mixed, what = true, "@conda(pip_packages=…)"
	}
	if !mixed {
		return nil
	}
	pkgs := make([]string, 0, len(st.Conda.Packages))
	for k := range st.Conda.Packages {
		pkgs = append(pkgs, k)
	}
	sort.Strings(pkgs)
	return errorf(pos, "step %s mixes %s with @conda packages (%s); Metaflow refuses this (use one of @pypi or @conda only): move the packages to one of them, or allow mixed environments as metaflow-netflixext does (--allow-mixed)", rs.name, what, strings.Join(pkgs, ", "))
}

func readImage(d rawDecorator) (string, error) {
	if d.star != nil {
		e := errorf(d.star.pos, "@%s(%s) is computed at load time; install metaflow (pip install metaflow) so envbuild can load the flow, or write image= as a literal", d.name, d.star.src)
		e.computed = true
		return "", e
	}
	v, ok := d.args["image"]
	if !ok {
		return "", nil
	}
	switch v.kind {
	case valNone:
		return "", nil
	case valStr:
		return strings.TrimSpace(v.str), nil
	case valComputed:
		return "", computedError(d, "image", v)
	}
	return "", errorf(v.pos, "@%s(image=…) must be a string such as \"python:3.11-slim\", got %s", d.name, v.kind)
}
