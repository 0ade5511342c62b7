package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/urfave/cli/v2"

	"github.com/envbuild/envbuild/builder/engine"
	"github.com/envbuild/envbuild/frontends/config"
	"github.com/envbuild/envbuild/lock/failure"
)

func pruneCommand() *cli.Command {
	return &cli.Command{
		Name:      "prune",
		Usage:     "free disk space: envbuild's cache directory and BuildKit's cache (a dry run unless --force)",
		ArgsUsage: " ",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Usage: "remove; without it, only list what would go and its size"},
			&cli.BoolFlag{Name: "all", Usage: "also BuildKit's internal, frontend and shared records"},
			&cli.StringFlag{Name: "keep-storage", Usage: "keep the most recently used entries up to this size (e.g. 10GB), in each cache"},
			&cli.StringSliceFlag{Name: "filter", Usage: "until=DURATION: keep what was used within DURATION (e.g. 24h, 7d)"},
			&cli.StringFlag{Name: "buildkit-addr", Usage: "BuildKit address (default: $BUILDKIT_HOST, else envbuild's local daemon or BuildKit container, when running)"},
			&cli.StringFlag{Name: "cache-dir", Usage: "envbuild's cache (default: $XDG_CACHE_HOME/envbuild)"},
			&cli.StringFlag{Name: "config", Usage: "envbuild's config file"},
		},
		Action: func(c *cli.Context) error {
			opts, err := pruneOptions(c)
			if err != nil {
				return err
			}
			out, stderr := c.App.Writer, c.App.ErrWriter
			verb := "would remove"
			if !opts.DryRun {
				verb = "removed"
			}
			// envbuild's own cache directory.
			dir := cacheDir(c)
			files, err := pruneDir(dir, opts)
			if err != nil {
				return err
			}
			var localBytes int64
			for _, f := range files {
				localBytes += f.Size
				fmt.Fprintf(out, "local\t%s\t%s\n", units.HumanSize(float64(f.Size)), f.ID)
			}
			// BuildKit's cache, of the daemon a build would use, if running.
			env := config.EnvMap(os.Environ())
			conf, err := config.Resolve(config.Sources{Env: env, ConfigPath: c.String("config")}, "")
			if err != nil {
				return err
			}
			co, err := connectOptions(c, env, conf)
			if err != nil {
				return err
			}
			e, err := engine.ConnectRunning(c.Context, co)
			if err != nil {
				return err
			}
			var bkBytes int64
			bkWhere := "no BuildKit daemon is running (nothing to prune there)"
			if e != nil {
				defer e.Close()
				recs, err := e.Prune(c.Context, opts)
				if err != nil {
					return err
				}
				for _, r := range recs {
					bkBytes += r.Size
					fmt.Fprintf(out, "buildkit\t%s\t%s\t%s\n", units.HumanSize(float64(r.Size)), r.ID, r.Description)
				}
				bkWhere = fmt.Sprintf("%s %d BuildKit records, %s, at %s", verb, len(recs), units.HumanSize(float64(bkBytes)), e.Addr)
			}
			fmt.Fprintf(stderr, "%s %d files, %s, from %s; %s\n", verb, len(files), units.HumanSize(float64(localBytes)), dir, bkWhere)
			if opts.DryRun {
				fmt.Fprintln(stderr, "dry run: nothing was removed; --force removes it")
			}
			return nil
		},
	}
}

func pruneOptions(c *cli.Context) (engine.PruneOptions, error) {
	o := engine.PruneOptions{All: c.Bool("all"), DryRun: !c.Bool("force")}
	if v := c.String("keep-storage"); v != "" {
		n, err := units.RAMInBytes(v)
		if err != nil || n < 0 {
			return o, failure.Usage(fmt.Errorf("--keep-storage %q: want a size such as 10GB or 512MB", v))
		}
		o.KeepStorage = n
	}
	for _, f := range c.StringSlice("filter") {
		v, ok := strings.CutPrefix(f, "until=")
		if !ok {
			return o, failure.Usage(fmt.Errorf("--filter %q: only until=DURATION is supported", f))
		}
		d, err := parseAge(v)
		if err != nil {
			return o, failure.Usage(fmt.Errorf("--filter %q: %v", f, err))
		}
		o.KeepDuration = d
	}
	return o, nil
}

// parseAge reads a Go duration (24h, 90m) or a number of days (7d).
func parseAge(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("want a duration such as 24h or 7d")
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("want a duration such as 24h or 7d")
	}
	return d, nil
}

// pruneDir removes (or lists) the files of envbuild's cache directory the
// options do not keep: those modified within KeepDuration, then the most
// recently modified up to KeepStorage bytes. Directories left empty go too.
func pruneDir(dir string, o engine.PruneOptions) ([]engine.CacheRecord, error) {
	var files []engine.CacheRecord
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		total += fi.Size()
		files = append(files, engine.CacheRecord{ID: p, Size: fi.Size(), LastUsed: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, failure.Infra(fmt.Errorf("reading envbuild's cache %s: %w", dir, err))
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].LastUsed.Before(files[j].LastUsed) })
	now := time.Now()
	var out []engine.CacheRecord
	for _, f := range files {
		if o.KeepStorage > 0 && total <= o.KeepStorage {
			break
		}
		if o.KeepDuration > 0 && f.LastUsed.After(now.Add(-o.KeepDuration)) {
			continue
		}
		total -= f.Size
		out = append(out, f)
		if !o.DryRun {
			if err := os.Remove(f.ID); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return out, failure.Infra(fmt.Errorf("removing %s: %w", f.ID, err))
			}
		}
	}
	if !o.DryRun {
		removeEmptyDirs(dir)
	}
	return out, nil
}

// removeEmptyDirs removes the empty directories under dir (not dir).
func removeEmptyDirs(dir string) {
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && p != dir {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = os.Remove(dirs[i]) // fails, as it should, when not empty
	}
}
