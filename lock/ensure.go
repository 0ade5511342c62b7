package lock

import (
	"context"
	"fmt"

	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
)

// Policy is what a command does with a missing or out-of-date lock, with
// the meanings uv and cargo give --locked and --frozen. `envbuild lock`,
// `build` and `flow build` all go through Ensure with one of these.
type Policy int

const (
	// Update locks first when the lock is missing, its spec changed or a
	// platform is missing (the default of build and flow build).
	Update Policy = iota
	// Locked (--locked) refuses, with exit 3 and the reason, a lock that
	// is missing or does not match the spec; it never writes one.
	Locked
	// Frozen (--frozen) uses the lock as it is, without comparing it with
	// the spec; a missing lock, environment or platform is exit 3.
	Frozen
	// Relock resolves the environment again whatever the lock holds,
	// preferring its versions (`envbuild lock`).
	Relock
)

// Flag is the policy's command-line flag ("--locked", "--frozen"), or "".
func (p Policy) Flag() string {
	switch p {
	case Locked:
		return "--locked"
	case Frozen:
		return "--frozen"
	}
	return ""
}

// PolicyOf is the policy of the --locked and --frozen flags.
func PolicyOf(locked, frozen bool) (Policy, error) {
	switch {
	case locked && frozen:
		return 0, failure.Usage(fmt.Errorf("--locked and --frozen exclude each other: --locked checks the lock against the spec, --frozen does not"))
	case locked:
		return Locked, nil
	case frozen:
		return Frozen, nil
	}
	return Update, nil
}

// StaleReason says why the lock f (read from path; nil when there is
// none) does not serve s, or "" when it does. frozen leaves out the
// comparison with the spec (--frozen): only a missing lock, environment
// or platform is a reason.
func StaleReason(f *lockfile.File, path string, s spec.Spec, frozen bool) string {
	if f == nil {
		return path + " does not exist"
	}
	e := f.Env(s.Name)
	if e == nil {
		return fmt.Sprintf("%s has no environment %q", path, s.Name)
	}
	if !frozen && e.SpecDigest != s.Digest() {
		return fmt.Sprintf("%s is out of date: the spec of environment %q changed since it was written", path, s.Name)
	}
	for _, p := range s.PlatformsOrDefault() {
		if e.Target(p) == nil {
			return fmt.Sprintf("%s is out of date: environment %q has no target for %s", path, s.Name, p)
		}
	}
	return ""
}

// CheckPolicy fails, under Locked or Frozen, a lock at path that cannot
// serve s, with the error Ensure would give; it reads the lock file only,
// so a build can refuse before anything is asked of a registry.
func CheckPolicy(path string, s spec.Spec, p Policy) error {
	if p != Locked && p != Frozen {
		return nil
	}
	f, err := lockfile.Read(path)
	if err != nil {
		return err
	}
	return stale(f, path, s, p)
}

func stale(f *lockfile.File, path string, s spec.Spec, p Policy) error {
	if why := StaleReason(f, path, s, p == Frozen); why != "" {
		return failure.Stale(fmt.Errorf("%s: %s; lock again (the same command without %s) and commit %s", p.Flag(), why, p.Flag(), path))
	}
	return nil
}

// Ensured is the lock of one environment as Ensure left it.
type Ensured struct {
	Env  *lockfile.Env
	File *lockfile.File
	// Locked says the environment was resolved and the file written.
	Locked bool
}

// Ensure returns the lock of req.Spec's environment from the lock file at
// path, resolving it with req (its targets, indexes and options; Existing
// is filled in here) and writing it under the lock file's lock as policy
// says: Update when it is missing, its spec changed or a platform is
// missing, Relock always, Locked and Frozen never (exit 3 instead, with
// the reason). log, when set, is told why an Update locks and where it
// wrote.
func Ensure(ctx context.Context, path string, policy Policy, req Request, log func(string)) (*Ensured, error) {
	s := req.Spec
	f, err := lockfile.Read(path)
	if err != nil {
		return nil, err
	}
	var env *lockfile.Env
	if f != nil {
		env = f.Env(s.Name)
	}
	switch policy {
	case Locked, Frozen:
		if err := stale(f, path, s, policy); err != nil {
			return nil, err
		}
		return &Ensured{Env: env, File: f}, nil
	case Update:
		if env != nil && env.SpecDigest == s.Digest() && !missingTarget(env, s.PlatformsOrDefault()) {
			return &Ensured{Env: env, File: f}, nil
		}
		if log != nil {
			why := "there is no lock"
			if env != nil {
				why = "the spec changed since " + path + " was written"
				if env.SpecDigest == s.Digest() {
					why = "the lock has no target for every platform asked for"
				}
			}
			log(fmt.Sprintf("locking environment %q first: %s", s.Name, why))
		}
	}
	req.Existing = env
	newEnv, err := Env(ctx, req)
	if err != nil {
		return nil, err
	}
	// Re-read and write under the lock file's lock: another envbuild may
	// have locked another environment while this one resolved.
	if f, err = lockfile.PutEnv(path, *newEnv); err != nil {
		return nil, err
	}
	if policy == Update && log != nil {
		log(fmt.Sprintf("wrote %s", path))
	}
	return &Ensured{Env: f.Env(s.Name), File: f, Locked: true}, nil
}

func missingTarget(env *lockfile.Env, platforms []string) bool {
	for _, p := range platforms {
		if env.Target(p) == nil {
			return true
		}
	}
	return false
}
