package installer

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/envbuild/envbuild/builder/layout"
)

// LayerMeta is what the environment's metadata layer needs to know of one
// package layer, recorded when the layer is built so that a layer reused
// from the team layer cache is never pulled or mounted to write it: the
// .dist-info directories it holds (REQUESTED markers go in them) and its
// conda-meta records (their per-environment fields are completed).
type LayerMeta struct {
	// DistInfo are the layer's .dist-info directories, absolute paths in
	// the image ("/opt/envbuild/env/lib/python3.11/site-packages/six-1.16.0.dist-info").
	DistInfo []string `json:"dist_info,omitempty"`
	// CondaMeta maps each conda-meta record's absolute path to its bytes.
	CondaMeta map[string]string `json:"conda_meta,omitempty"`
}

// ReadLayerMeta lists what LayerMeta needs from a layer's output directory
// (root stands for /).
func ReadLayerMeta(root string) (*LayerMeta, error) {
	m := &LayerMeta{}
	prefix := filepath.Join(root, filepath.FromSlash(layout.Prefix))
	libs, _ := filepath.Glob(filepath.Join(prefix, "lib", "python3*", "site-packages"))
	sort.Strings(libs)
	for _, site := range libs {
		entries, err := os.ReadDir(site)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.IsDir() && strings.HasSuffix(e.Name(), ".dist-info") {
				rel, _ := filepath.Rel(root, filepath.Join(site, e.Name()))
				m.DistInfo = append(m.DistInfo, "/"+filepath.ToSlash(rel))
			}
		}
	}
	cm := filepath.Join(root, filepath.FromSlash(layout.CondaMeta))
	entries, err := os.ReadDir(cm)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(cm, e.Name()))
		if err != nil {
			return nil, err
		}
		if m.CondaMeta == nil {
			m.CondaMeta = map[string]string{}
		}
		m.CondaMeta[layout.CondaMeta+"/"+e.Name()] = string(data)
	}
	return m, nil
}

// WriteLayerMetaFile writes ReadLayerMeta(root) as JSON to out.
func WriteLayerMetaFile(root, out string) error {
	m, err := ReadLayerMeta(root)
	if err != nil {
		return fmt.Errorf("listing the layer's metadata: %w", err)
	}
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, data, 0o644)
}

// ParseLayerMeta reads what WriteLayerMetaFile wrote (and the team layer
// cache keeps in each layer's record).
func ParseLayerMeta(data []byte) (LayerMeta, error) {
	var m LayerMeta
	err := json.Unmarshal(data, &m)
	return m, err
}

// PackagesTree lays out, under dir, the parts of the package layers that
// WriteEnvMeta reads (empty .dist-info directories and the conda-meta
// records), from the layers' LayerMeta: what --packages would show of the
// merged layers.
func PackagesTree(dir string, metas []LayerMeta) error {
	clean := func(p string) (string, error) {
		c := path.Clean(p)
		if !path.IsAbs(c) || !strings.HasPrefix(c, layout.Prefix+"/") || strings.Contains(c, "\x00") {
			return "", fmt.Errorf("layer metadata names %q, outside %s", p, layout.Prefix)
		}
		return filepath.Join(dir, filepath.FromSlash(c)), nil
	}
	for _, m := range metas {
		for _, d := range m.DistInfo {
			p, err := clean(d)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		}
		for f, data := range m.CondaMeta {
			p, err := clean(f)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
