package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/envbuild/envbuild/builder/baseimage"
	"github.com/envbuild/envbuild/builder/installer"
	"github.com/envbuild/envbuild/builder/plan"
	"github.com/envbuild/envbuild/builder/registry"
	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/lock"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/platform"
	"github.com/envbuild/envbuild/lock/target"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/golden-digests.json")

// goldenCase is one fixed environment built on one fixed base: the lock,
// the base images' files and config, and the options are constants, so
// the env id, the layer keys and the image digest must never change
// unless the image itself is meant to.
type goldenCase struct {
	name      string
	spec      spec.Spec
	platforms []string
	targets   []lockfile.Target
	// baseEnv is the base config's environment.
	baseEnv     []string
	compression string
}

func goldenCases() []goldenCase {
	pypi := func(name, version, sha string, size int64, requested bool) lockfile.Package {
		fn := name + "-" + version + "-py3-none-any.whl"
		return lockfile.Package{Name: name, Version: version, Source: lockfile.SourcePyPI, Kind: lockfile.KindWheel, URL: "https://files.example/" + fn, Filename: fn, Sha256: sha, Size: size, Requested: requested, Index: "https://pypi.example/simple"}
	}
	conda := func(name, version, build, sha string, size int64, depends []string, requested bool, noarch string) lockfile.Package {
		fn := name + "-" + version + "-" + build + ".conda"
		p := lockfile.Package{Name: name, Version: version, Source: lockfile.SourceConda, Kind: lockfile.KindConda, URL: "https://conda.example/conda-forge/linux-64/" + fn, Filename: fn, Sha256: sha, Size: size, Depends: depends, Requested: requested, Channel: "https://conda.example/conda-forge", Subdir: "linux-64", Build: build, Noarch: noarch}
		if requested {
			p.Spec = name
		}
		return p
	}
	venvPkgs := []lockfile.Package{
		pypi("six", "1.16.0", strings.Repeat("1", 64), 11053, true),
		pypi("idna", "3.7", strings.Repeat("2", 64), 66836, false),
		pypi("requests", "2.32.3", strings.Repeat("3", 64), 64928, true),
	}
	condaPkgs := []lockfile.Package{
		conda("python", "3.12.4", "h_0_cpython", strings.Repeat("4", 64), 31000000, []string{"libzlib"}, true, ""),
		conda("libzlib", "1.3.1", "h_0", strings.Repeat("5", 64), 61000, nil, false, ""),
		conda("six", "1.16.0", "pyhd8ed1ab_0", strings.Repeat("6", 64), 14000, []string{"python"}, true, "python"),
		pypi("idna", "3.7", strings.Repeat("2", 64), 66836, true),
	}
	venvTarget := func(platform string) lockfile.Target {
		return lockfile.Target{Target: target.Target{Platform: platform, Python: "3.11.2", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36", Interpreter: "/usr/bin/python3.11"}, PythonSource: lockfile.PythonFromBase, Packages: venvPkgs}
	}
	condaTarget := func(platform string) lockfile.Target {
		return lockfile.Target{Target: target.Target{Platform: platform, Python: "3.12.4", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36"}, PythonSource: lockfile.PythonFromConda, Packages: condaPkgs}
	}
	return []goldenCase{
		{
			name:      "venv on the base's python, amd64, gzip",
			spec:      spec.Spec{Name: "default", PyPI: spec.PyPI{Requirements: []string{"six==1.16.0", "requests"}}},
			platforms: []string{"linux/amd64"},
			targets:   []lockfile.Target{venvTarget("linux/amd64")},
			baseEnv:   []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"},
		},
		{
			name:        "conda python, amd64 and arm64, zstd, base with PYTHONPATH",
			spec:        spec.Spec{Name: "train", Conda: spec.Conda{Specs: []string{"python=3.12", "six"}}, PyPI: spec.PyPI{Requirements: []string{"idna"}}, Platforms: []string{"linux/amd64", "linux/arm64"}},
			platforms:   []string{"linux/amd64", "linux/arm64"},
			targets:     []lockfile.Target{condaTarget("linux/amd64"), condaTarget("linux/arm64")},
			baseEnv:     []string{"PATH=/usr/local/bin:/usr/bin:/bin", "PYTHONPATH=/usr/lib/python3/dist-packages"},
			compression: "zstd",
		},
		{
			name:      "venv, bytecode off",
			spec:      spec.Spec{Name: "nobc", PyPI: spec.PyPI{Requirements: []string{"six==1.16.0", "requests"}}, Options: spec.Options{NoBytecode: true}},
			platforms: []string{"linux/amd64"},
			targets:   []lockfile.Target{venvTarget("linux/amd64")},
			baseEnv:   []string{"PATH=/usr/local/bin:/usr/bin:/bin"},
		},
	}
}

// goldenResult is what the golden file holds per case.
type goldenResult struct {
	EnvID string `json:"env_id"`
	// Candidates are the env ids of the plans made before BuildKit is
	// asked, one per possible BuildKit platform.
	Candidates []string `json:"candidates"`
	// LayerKeys are the first candidate's layer keys, per platform.
	LayerKeys map[string][]string `json:"layer_keys"`
	Digest    string              `json:"digest"`
	Layers    int                 `json:"layers"`
	Reused    int                 `json:"layers_reused"`
}

// TestGoldenEnvIDsAndImageDigests builds fixed environments on fixed
// bases through Build itself, every layer coming from the team layer
// cache of an in-process registry (so no BuildKit runs), and compares
// the env ids, layer keys and image digests with the golden file. A
// restructuring of the pipeline must leave them all unchanged.
func TestGoldenEnvIDsAndImageDigests(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()
	reg := registry.New(registry.Options{Retries: -1})

	got := map[string]goldenResult{}
	for i, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			baseRef := fmt.Sprintf("%s/ml/base%d:1", host, i)
			cacheRepo := fmt.Sprintf("%s/team/layers%d", host, i)
			repo := fmt.Sprintf("%s/team/envs%d", host, i)
			manifests := pushGoldenBase(t, reg, baseRef, c)
			for _, p := range c.platforms {
				info := &baseimage.Info{
					Target:            target.Target{Platform: p, Python: "3.11.2", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36", Interpreter: "/usr/bin/python3.11"},
					StdlibDir:         "/usr/lib/python3.11",
					ManifestDigest:    manifests[p],
					InterpreterDigest: "sha256:" + strings.Repeat("9", 64),
				}
				data, err := baseimage.EncodeInfo(info)
				if err != nil {
					t.Fatal(err)
				}
				if err := reg.WriteBaseRecord(ctx, cacheRepo, manifests[p], p, data); err != nil {
					t.Fatal(err)
				}
			}
			lockPath := filepath.Join(dir, "envbuild.lock")
			if err := lockfile.Write(lockPath, &lockfile.File{LockVersion: lockfile.Version, Envs: []lockfile.Env{{Name: c.spec.Name, SpecDigest: c.spec.Digest(), Targets: c.targets}}}); err != nil {
				t.Fatal(err)
			}
			s := c.spec
			s.Base, s.Repository = baseRef, repo
			o := Options{Spec: s, LockPath: lockPath, Registry: reg, CacheDir: filepath.Join(dir, "cache"), Compression: c.compression, LayerCache: LayerCacheRead, LayerCacheRepo: cacheRepo, LockPolicy: lock.Frozen}

			// The plans Build makes before asking BuildKit, recomputed here
			// to record every layer of the preferred one in the cache.
			bases, _, err := Targets(ctx, reg, baseRef, c.platforms, o.CacheDir, BaseRecords{Repo: cacheRepo})
			if err != nil {
				t.Fatal(err)
			}
			env := &lockfile.Env{Name: s.Name, SpecDigest: s.Digest(), Targets: c.targets}
			in := plan.Input{EnvName: s.Name, Env: env, Platforms: c.platforms, Bases: bases, Options: plan.Options{Bytecode: !s.Options.NoBytecode, Compression: c.compression}, LockDigest: envDigest(env)}
			gr := goldenResult{LayerKeys: map[string][]string{}}
			var first *plan.Plan
			for _, h := range plan.HostCandidates(c.platforms, in.Options.Bytecode) {
				in.HostPlatform = h
				pl, err := plan.Make(in)
				if err != nil {
					t.Fatal(err)
				}
				gr.Candidates = append(gr.Candidates, pl.EnvID)
				if first == nil {
					first = pl
				}
			}
			for _, pp := range first.Platforms {
				for _, l := range pp.Layers {
					gr.LayerKeys[pp.Platform] = append(gr.LayerKeys[pp.Platform], l.Key)
					recordGoldenLayer(t, reg, cacheRepo, pp, l, c.compression)
				}
			}

			res, err := Build(ctx, o)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if res.Cached || res.LayersBuilt != 0 {
				t.Fatalf("cached %v, %d layers built; want every layer from the layer cache", res.Cached, res.LayersBuilt)
			}
			gr.EnvID, gr.Digest, gr.Layers, gr.Reused = res.EnvID, res.Digest, res.Layers, res.LayersReused
			if res.Image != repo+":env-"+res.EnvID[:16]+"@"+res.Digest {
				t.Errorf("image %q, want the tag of env id %s at digest %s", res.Image, res.EnvID, res.Digest)
			}
			// The pushed bytes agree with the digest computed without a
			// registry.
			desc, err := remote.Get(mustParse(t, reg, res.Image))
			if err != nil {
				t.Fatal(err)
			}
			if desc.Digest.String() != res.Digest {
				t.Errorf("the registry has %s, Build said %s", desc.Digest, res.Digest)
			}
			got[c.name] = gr
		})
	}

	path := filepath.Join("testdata", "golden-digests.json")
	data, _ := json.MarshalIndent(got, "", "  ")
	data = append(data, '\n')
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if !bytes.Equal(data, want) {
		t.Errorf("env ids or image digests changed (if on purpose, rerun with -update and say why in the commit):\n got %s\nwant %s", data, want)
	}
}

// pushGoldenBase pushes a fixed base image (one per platform, two small
// layers of fixed bytes) and returns each platform's manifest digest.
func pushGoldenBase(t *testing.T, reg *registry.Client, ref string, c goldenCase) map[string]string {
	t.Helper()
	r, err := reg.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var idx v1.ImageIndex = empty.Index
	idx = mutate.IndexMediaType(idx, types.OCIImageIndex)
	var single v1.Image
	for _, p := range c.platforms {
		img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
		for _, content := range []string{"base layer one " + p, "base layer two " + p} {
			img, err = mutate.AppendLayers(img, static.NewLayer([]byte(content), types.OCILayer))
			if err != nil {
				t.Fatal(err)
			}
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		osName, arch, variant := platform.Split(p)
		cf.OS, cf.Architecture, cf.Variant = osName, arch, variant
		cf.Config.Env = c.baseEnv
		cf.Config.Cmd = []string{"python3"}
		cf.Config.WorkingDir = "/srv"
		cf.Config.Labels = map[string]string{"org.example.team": "ml"}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		out[p] = d.String()
		pl, _ := v1.ParsePlatform(p)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: pl}})
		single = img
	}
	if len(c.platforms) == 1 {
		err = remote.Write(r, single)
	} else {
		err = remote.WriteIndex(r, idx)
	}
	if err != nil {
		t.Fatalf("pushing the base %s: %v", ref, err)
	}
	return out
}

// recordGoldenLayer pushes a stand-in blob for layer l and records it
// under its key, with the LayerMeta the installer would have written.
func recordGoldenLayer(t *testing.T, reg *registry.Client, repo string, pp plan.PlatformPlan, l plan.Layer, compression string) {
	t.Helper()
	mt := "application/vnd.oci.image.layer.v1.tar+gzip"
	if compression == "zstd" {
		mt = "application/vnd.oci.image.layer.v1.tar+zstd"
	}
	blob := []byte("layer " + l.Key)
	layer := static.NewLayer(blob, types.MediaType(mt))
	r, err := reg.Parse(repo + ":x")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteLayer(r.Context(), layer); err != nil {
		t.Fatal(err)
	}
	var meta installer.LayerMeta
	for _, pk := range l.Packages {
		if pk.Source == lockfile.SourceConda {
			if meta.CondaMeta == nil {
				meta.CondaMeta = map[string]string{}
			}
			meta.CondaMeta["/opt/envbuild/env/conda-meta/"+pk.Name+"-"+pk.Version+"-"+pk.Build+".json"] = fmt.Sprintf(`{"name":%q,"version":%q,"build":%q}`, pk.Name, pk.Version, pk.Build)
		} else {
			short := pp.Target.Python[:strings.LastIndex(pp.Target.Python, ".")]
			meta.DistInfo = append(meta.DistInfo, "/opt/envbuild/env/lib/python"+short+"/site-packages/"+pk.Name+"-"+pk.Version+".dist-info")
		}
	}
	mj, _ := json.Marshal(meta)
	sum := sha256.Sum256(blob)
	diff := sha256.Sum256([]byte("diff " + l.Key))
	rec := &registry.LayerRecord{Key: l.Key, Platform: platform.Canonical(pp.Platform), Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(blob)), MediaType: mt, DiffID: "sha256:" + hex.EncodeToString(diff[:]), Meta: mj}
	if err := reg.WriteRecord(context.Background(), repo, rec); err != nil {
		t.Fatal(err)
	}
}

func mustParse(t *testing.T, reg *registry.Client, ref string) name.Reference {
	t.Helper()
	r, err := reg.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
