// Package flows is `envbuild flow build`: it reads a Metaflow flow
// (frontends/metaflow), gives each step its base image as Metaflow's
// @kubernetes/@batch would (frontends/config), builds every distinct step
// environment once with builder/build, concurrently, into one lock beside
// the flow, and writes FLOW.envbuild.json for the Metaflow extension.
//
// It sits above the builder so that builder/... imports no frontend but
// the spec model: the builder builds one environment and knows nothing of
// flows.
package flows

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/envbuild/envbuild/builder/build"
	"github.com/envbuild/envbuild/frontends/config"
	"github.com/envbuild/envbuild/frontends/metaflow"
	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
)

// Options configure `envbuild flow build`.
type Options struct {
	FlowPath string
	Load     metaflow.Options
	// With are the run's --with values as Metaflow takes them
	// (kubernetes, kubernetes:cpu=4,image=IMG, batch:image=IMG, retry, …):
	// a kubernetes or batch one attaches to every step that has neither,
	// choosing the lookup's _KUBERNETES_/_BATCH_ variant and, with image=,
	// the step's image.
	With []string
	// Interpreter is the Python version (X.Y[.Z]) of the interpreter
	// running the flow, for Metaflow's default image python:X.Y; "" asks
	// Load.Python (default python3).
	Interpreter string
	// Sources are the configuration sources.
	Sources config.Sources
	// Jobs bounds concurrent builds (default 2).
	Jobs int
	// MetaflowDatastore, when set ("local", "s3", "azure", "gs"), adds the
	// packages Metaflow's task bootstrap needs for that datastore to every
	// environment, as Metaflow does (it changes the env ids).
	MetaflowDatastore string
	// Build are the options shared by every step's build; Spec is filled
	// per step, LockPath defaults to FLOW.envbuild.lock beside the flow.
	// Build.Spec carries what the command line sets for every step: its
	// Platforms and Options, and, when set, Conda.Channels, PyPI.IndexURL
	// and PyPI.ExtraIndexURLs, which win over the step's decorators.
	Build build.Options
	// Table receives the human summary (stderr).
	Table io.Writer
}

// StepResult is one step's entry of the flow JSON.
type StepResult struct {
	*build.Result
	// Image is the step's image: the built one, or the base for a disabled step.
	Image    string `json:"image,omitempty"`
	Disabled bool   `json:"disabled,omitempty"`
	EnvName  string `json:"env,omitempty"`
}

// Result is `{"steps": {...}, "inputs": {...}}`.
type Result struct {
	Steps map[string]StepResult `json:"steps"`
	// Inputs are what the images were built from, so that the Metaflow
	// extension can refuse FLOW.envbuild.json once the flow changed.
	Inputs *Inputs `json:"inputs,omitempty"`
}

// Inputs record what a flow's images were built from.
type Inputs struct {
	// FlowSHA256 is the sha256 of the flow file's bytes.
	FlowSHA256 string `json:"flow_sha256"`
	// With are the --with values, MetaflowDeps the --metaflow-deps
	// datastore, Python the version of the interpreter running the flow
	// (Metaflow's default image).
	With         []string `json:"with,omitempty"`
	MetaflowDeps string   `json:"metaflow_deps,omitempty"`
	Python       string   `json:"python,omitempty"`
	// ConfigsSHA256 is the digest of the flow's Config values as Metaflow
	// resolved them, when the flow has Configs and was read with Metaflow.
	ConfigsSHA256 string `json:"configs_sha256,omitempty"`
}

// ComputeWith is the kubernetes or batch --with of a run (the first of its
// name, as Metaflow attaches only the first); other decorators are
// accepted and do not change images. Both kubernetes and batch is an
// error, as in Metaflow.
func ComputeWith(specs []string) (*metaflow.With, error) {
	var found *metaflow.With
	for _, spec := range specs {
		w, err := metaflow.ParseWith(spec)
		if err != nil {
			return nil, err
		}
		if !w.Compute() {
			continue
		}
		if _, err := w.Image(); err != nil {
			return nil, err
		}
		if found == nil {
			found = &w
		} else if found.Decorator != w.Decorator {
			return nil, fmt.Errorf("--with %s and --with %s: a step runs either on Kubernetes or on AWS Batch, not both", found.Decorator, w.Decorator)
		}
	}
	return found, nil
}

// StepBase is a flow step's base image, as Metaflow's @kubernetes/@batch
// gives it: the step's own decorator (with its image= or none), else the
// run's --with compute decorator, choose the variant and the image; the
// configuration lookup and Metaflow's python:X.Y default fill the rest.
// A step that runs locally (neither) gets the DEFAULT lookup.
func StepBase(st metaflow.Step, with *metaflow.With, src config.Sources, interpreter string) (string, error) {
	variant, img := st.ImageFrom, st.Image
	if variant == "" && with != nil {
		variant = with.Decorator
		img, _ = with.Image()
	} else if variant != "" && with != nil && with.Decorator != variant {
		return "", fmt.Errorf("--with %s on a step with @%s: a step runs either on Kubernetes or on AWS Batch, not both", with.Decorator, variant)
	}
	conf, err := config.Resolve(src, variant)
	if err != nil {
		return "", err
	}
	return conf.StepBaseImage(img, interpreter)
}

// applyFlags sets on a step's spec s what the command line sets for every
// step (flags): the platforms and options, and the indexes and channels
// when given, which win over the step's own as they do over envbuild.toml
// for build.
func applyFlags(s *spec.Spec, flags spec.Spec) {
	s.Platforms, s.Options = flags.Platforms, flags.Options
	if v := flags.Conda.Channels; len(v) > 0 {
		s.Conda.Channels = v
	}
	if v := flags.PyPI.IndexURL; v != "" {
		s.PyPI.IndexURL = v
	}
	if v := flags.PyPI.ExtraIndexURLs; len(v) > 0 {
		s.PyPI.ExtraIndexURLs = v
	}
}

func fileDigest(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("sha256:%x", sha256.Sum256(data)), nil
}

// Build builds every distinct step environment of a flow once, on its
// step's base image, asking the registry first for each.
func Build(ctx context.Context, o Options) (*Result, error) {
	flow, err := metaflow.Load(ctx, o.FlowPath, o.Load)
	if err != nil {
		return nil, failure.User(err)
	}
	// The flow's own lock (no --lock) holds its environments only.
	ownLock := o.Build.LockPath == ""
	if ownLock {
		o.Build.LockPath = strings.TrimSuffix(o.FlowPath, filepath.Ext(o.FlowPath)) + ".envbuild.lock"
	}
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = 2
	}
	compute, err := ComputeWith(o.With)
	if err != nil {
		return nil, failure.Usage(err)
	}
	interp := o.Interpreter
	if interp == "" {
		interp = metaflow.InterpreterVersion(ctx, o.Load.Python)
	}
	sum, err := fileDigest(o.FlowPath)
	if err != nil {
		return nil, failure.User(err)
	}
	out := &Result{Steps: map[string]StepResult{}, Inputs: &Inputs{
		FlowSHA256: sum, With: o.With, MetaflowDeps: o.MetaflowDatastore, Python: interp,
		ConfigsSHA256: flow.ConfigsSHA256,
	}}
	type work struct {
		steps []string
		spec  spec.Spec
	}
	byKey := map[string]*work{}
	var order []string
	for _, st := range flow.Steps {
		base, err := StepBase(st, compute, o.Sources, interp)
		if err != nil {
			return nil, failure.User(fmt.Errorf("step %q (%s): %w", st.Name, st.Pos, err))
		}
		if o.MetaflowDatastore != "" {
			if st, err = st.WithRuntimePackages(o.MetaflowDatastore); err != nil {
				return nil, failure.Usage(err)
			}
		}
		s, ok := st.Spec()
		if !ok {
			out.Steps[st.Name] = StepResult{Image: base, Disabled: true}
			continue
		}
		s.Name = st.Name
		conf, err := config.Resolve(o.Sources, "")
		if err != nil {
			return nil, err
		}
		s.Base, s.Repository = base, conf.Repository.Value
		applyFlags(&s, o.Build.Spec)
		// Steps with the same spec and base share one environment.
		key := s.Digest() + "|" + s.Base + "|" + s.Repository
		if w, ok := byKey[key]; ok {
			w.steps = append(w.steps, st.Name)
			continue
		}
		byKey[key] = &work{steps: []string{st.Name}, spec: s}
		order = append(order, key)
	}

	var lockMu sync.Mutex
	var resMu sync.Mutex
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(jobs)
	for _, key := range order {
		w := byKey[key]
		eg.Go(func() error {
			bo := o.Build
			bo.Spec = w.spec
			bo.LockMu = &lockMu
			if bo.OCIDir == "" && w.spec.Repository == "" {
				bo.OCIDir = filepath.Join(filepath.Dir(o.FlowPath), "envbuild-out", w.spec.Name)
			}
			r, err := build.Build(ectx, bo)
			if err != nil {
				return fmt.Errorf("step %s: %w", strings.Join(w.steps, ", "), err)
			}
			resMu.Lock()
			defer resMu.Unlock()
			for _, name := range w.steps {
				out.Steps[name] = StepResult{Result: r, Image: r.Image, EnvName: w.spec.Name}
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	if ownLock {
		keep := map[string]bool{}
		for _, w := range byKey {
			keep[w.spec.Name] = true
		}
		if err := pruneLock(o.Build.LockPath, keep); err != nil {
			return nil, err
		}
	}
	if o.Table != nil {
		writeTable(o.Table, flow, out)
	}
	// The Metaflow extension (frontends/metaflow/extension) reads the
	// images from FLOW.envbuild.json beside the flow.
	if err := writeImagesFile(ImagesFile(o.FlowPath), out); err != nil {
		return nil, err
	}
	return out, nil
}

// pruneLock drops from the flow's lock the environments of steps the flow
// no longer has (renamed, removed, or now sharing another step's
// environment), so the lock lists what the flow builds and nothing else.
func pruneLock(path string, keep map[string]bool) error {
	_, err := lockfile.Update(path, func(lf *lockfile.File) (*lockfile.File, error) {
		if lf == nil {
			return nil, nil
		}
		kept := make([]lockfile.Env, 0, len(lf.Envs))
		for _, e := range lf.Envs {
			if keep[e.Name] {
				kept = append(kept, e)
			}
		}
		if len(kept) == len(lf.Envs) {
			return nil, nil
		}
		lf.Envs = kept
		return lf, nil
	})
	return err
}

func writeTable(w io.Writer, flow *metaflow.Flow, r *Result) {
	fmt.Fprintf(w, "%-20s %-8s %s\n", "STEP", "STATUS", "IMAGE")
	names := make([]string, 0, len(flow.Steps))
	for _, st := range flow.Steps {
		names = append(names, st.Name)
	}
	for _, n := range names {
		s := r.Steps[n]
		status, img := "built", s.Image
		switch {
		case s.Disabled:
			status = "base"
		case s.Result != nil && s.Result.Cached:
			status, img = "cached", s.Result.Image
		case s.Result != nil:
			img = s.Result.Image
			if img == "" {
				img = s.Result.OCILayout
			}
		}
		fmt.Fprintf(w, "%-20s %-8s %s\n", n, status, img)
	}
}

// ImagesFile is where Build writes the flow's images for the Metaflow
// extension: FLOW.envbuild.json beside FLOW.py.
func ImagesFile(flowPath string) string {
	return strings.TrimSuffix(flowPath, filepath.Ext(flowPath)) + ".envbuild.json"
}

func writeImagesFile(path string, r *Result) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return failure.User(fmt.Errorf("writing %s: %w", path, err))
	}
	if err := os.Rename(tmp, path); err != nil {
		return failure.User(fmt.Errorf("writing %s: %w", path, err))
	}
	return nil
}
