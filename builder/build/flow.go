package build

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/envbuild/envbuild/frontends/config"
	"github.com/envbuild/envbuild/frontends/metaflow"
	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
)

// FlowOptions configure `envbuild flow build`.
type FlowOptions struct {
	FlowPath string
	Load     metaflow.Options
	// WithImage is `--with kubernetes:image=…` / `--with batch:image=…`:
	// the run-wide image for steps without one of their own.
	WithImage string
	// Sources are the configuration sources (CONTRACT §5).
	Sources config.Sources
	// Jobs bounds concurrent builds (default 2).
	Jobs int
	// MetaflowDatastore, when set ("local", "s3", "azure", "gs"), adds the
	// packages Metaflow's task bootstrap needs for that datastore to every
	// environment, as Metaflow does (it changes the env ids).
	MetaflowDatastore string
	// Build are the options shared by every step's build; Spec is filled
	// per step, LockPath defaults to FLOW.envbuild.lock beside the flow.
	Build Options
	// Table receives the human summary (stderr).
	Table io.Writer
}

// StepResult is one step's entry of the flow JSON (CONTRACT §6).
type StepResult struct {
	*Result
	// Image is the step's image: the built one, or the base for a disabled step.
	Image    string `json:"image,omitempty"`
	Disabled bool   `json:"disabled,omitempty"`
	EnvName  string `json:"env,omitempty"`
}

// FlowResult is `{"steps": {...}}`.
type FlowResult struct {
	Steps map[string]StepResult `json:"steps"`
}

// BuildFlow builds every distinct step environment of a flow once, on its
// step's base image, asking the registry first for each.
func BuildFlow(ctx context.Context, o FlowOptions) (*FlowResult, error) {
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
	out := &FlowResult{Steps: map[string]StepResult{}}
	type work struct {
		steps []string
		spec  spec.Spec
	}
	byKey := map[string]*work{}
	var order []string
	for _, st := range flow.Steps {
		conf, err := config.Resolve(o.Sources, st.ImageFrom)
		if err != nil {
			return nil, err
		}
		stepImage := st.Image
		if stepImage == "" {
			stepImage = o.WithImage
		}
		base, err := conf.BaseImage(stepImage, st.Python)
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
		s.Base, s.Repository = base, conf.Repository.Value
		s.Platforms, s.Options = o.Build.Spec.Platforms, o.Build.Spec.Options
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
			r, err := Build(ectx, bo)
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

func writeTable(w io.Writer, flow *metaflow.Flow, r *FlowResult) {
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

// ImagesFile is where BuildFlow writes the flow's images for the Metaflow
// extension: FLOW.envbuild.json beside FLOW.py.
func ImagesFile(flowPath string) string {
	return strings.TrimSuffix(flowPath, filepath.Ext(flowPath)) + ".envbuild.json"
}

func writeImagesFile(path string, r *FlowResult) error {
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
