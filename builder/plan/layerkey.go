package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"

	"github.com/envbuild/envbuild/builder/installstep"
	"github.com/envbuild/envbuild/builder/layout"
	"github.com/envbuild/envbuild/builder/wheellayer"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/platform"
)

// keyLayers decides which layers compile bytecode and gives every layer
// its cache key (docs/reference.md of the team's contract; the README's "team
// layer cache"). A key is a hash of exactly what determines the layer's
// bytes:
//
//   - the artifact's sha256, kind and file name;
//   - the installer's layer-format version (layout.Version);
//   - the target: platform, Python implementation, major.minor (and
//     free-threading), and where Python comes from;
//   - the layer's compression, and its level when one is set;
//   - whether bytecode is compiled, and what compiles it: the base
//     interpreter's digest (its bytes and libpython's) with its path and
//     version, or, for a conda Python, the keys of the python layers;
//   - for a wheel built from an sdist, the base image's digest (its
//     toolchain builds it);
//   - for a layer grouping several packages, its members' keys, sorted,
//     and the grouping budget;
//   - for a part of a big wheel, the wheel's own key, the part, the
//     number of parts and the installer's split format; only part 0
//     compiles bytecode (the others hold no .py file), so the other parts'
//     keys name no compiler and are shared by every base;
//   - the cache salt, when one is set.
//
// Not the envbuild binary, the host, the base's other files or the time.
func keyLayers(pp *PlatformPlan, o Options, budget int) {
	python := condaPythonLayers(*pp)
	for i := range pp.Layers {
		l := &pp.Layers[i]
		l.Python = python[i]
		l.Compile = pp.Bytecode && !l.Python && l.Part == 0 && needsBytecode(pp.Target, *l)
	}
	var pythonKeys []string
	key := func(i int) {
		l := &pp.Layers[i]
		compiler := ""
		if l.Compile {
			compiler = compilerIdentity(*pp, pythonKeys)
		}
		var members []string
		for _, pk := range l.Packages {
			members = append(members, memberKey(*pp, pk, o, l.Compile, compiler))
		}
		if l.Parts > 0 {
			// A part other than 0 written from the wheel's own DEFLATE
			// data (FromWheel) has other bytes than BuildKit's for the
			// same files: a key of its own.
			fromWheel := 0
			if l.FromWheel = o.LayersFromWheels && l.Part > 0 && LayersFromWheelsFit(o.Compression, o.CompressionLevel); l.FromWheel {
				fromWheel = wheellayer.Format
			}
			l.Key = hashDoc(struct {
				Format    string `json:"format"`
				Split     int    `json:"split"`
				Member    string `json:"member"`
				Part      int    `json:"part"`
				Parts     int    `json:"parts"`
				FromWheel int    `json:"from_wheel,omitempty"`
			}{layout.Version, installstep.SplitFormat, members[0], l.Part, l.Parts, fromWheel})
			return
		}
		if len(members) == 1 {
			l.Key = members[0]
			return
		}
		sort.Strings(members)
		l.Key = hashDoc(struct {
			Format  string   `json:"format"`
			Members []string `json:"members"`
			Budget  int      `json:"budget"`
		}{layout.Version, members, budget})
	}
	// The python layers first: the others' compiler is made of them.
	for i := range pp.Layers {
		if pp.Layers[i].Python {
			key(i)
			pythonKeys = append(pythonKeys, pp.Layers[i].Key)
		}
	}
	sort.Strings(pythonKeys)
	for i := range pp.Layers {
		if !pp.Layers[i].Python {
			key(i)
		}
	}
}

// compilerIdentity names what the compile step of a layer runs.
func compilerIdentity(pp PlatformPlan, pythonKeys []string) string {
	if pp.Target.PythonSource == lockfile.PythonFromConda {
		return "conda-python:" + strings.Join(pythonKeys, ",")
	}
	id := pp.Base.InterpreterDigest
	if id == "" {
		id = "base:" + pp.Base.ManifestDigest
	}
	return pp.Base.Interpreter + "@" + pp.Base.PythonVersion + "@" + id
}

func memberKey(pp PlatformPlan, pk lockfile.Package, o Options, compile bool, compiler string) string {
	compression := o.Compression
	if compression == "" {
		compression = "gzip"
	}
	source := pp.Target.PythonSource
	if source == "" {
		source = lockfile.PythonFromBase
	}
	doc := struct {
		Format         string `json:"format"`
		Salt           string `json:"salt,omitempty"`
		Sha256         string `json:"sha256"`
		Kind           string `json:"kind"`
		Filename       string `json:"filename"`
		Platform       string `json:"platform"`
		Implementation string `json:"implementation"`
		Python         string `json:"python"`
		PythonSource   string `json:"python_source"`
		Compression    string `json:"compression"`
		Level          int    `json:"compression_level,omitempty"`
		Bytecode       bool   `json:"bytecode"`
		Compiler       string `json:"compiler,omitempty"`
		SdistBase      string `json:"sdist_base,omitempty"`
	}{
		Format: layout.Version, Salt: o.CacheSalt, Sha256: pk.Sha256, Kind: string(pk.Kind), Filename: pk.Filename,
		Platform: platform.Canonical(pp.Platform), Implementation: pp.Target.Implementation,
		Python: pp.Target.PythonShort(), PythonSource: string(source), Compression: compression, Level: o.CompressionLevel,
		Bytecode: compile, Compiler: compiler,
	}
	if pk.Kind == lockfile.KindSdist {
		doc.SdistBase = pp.Base.ManifestDigest + "@" + pp.Base.Interpreter
	}
	return hashDoc(doc)
}

func hashDoc(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// CompileRootFormat names the file set of a compile root (what
// baseimage.CompileRoot copies); a change to it gets new keys.
const CompileRootFormat = 1

// CompileRootKey is the team layer cache's key of the compile root of
// pp's base: the part of the base its interpreter needs to compile
// bytecode. It is keyed by the base's manifest digest, so it holds the
// base's own files; the salt clears it with the layers.
func CompileRootKey(pp PlatformPlan, salt string) string {
	return hashDoc(struct {
		Kind     string `json:"kind"`
		Format   int    `json:"format"`
		Base     string `json:"base"`
		Platform string `json:"platform"`
		Salt     string `json:"salt,omitempty"`
	}{"compile root", CompileRootFormat, pp.Base.ManifestDigest, pp.Platform, salt})
}

// CompilesOnBase reports whether some layer of pp without a record in
// built (by key) compiles its bytecode with the base's interpreter: only
// then is a compile root of use.
func CompilesOnBase(pp PlatformPlan, have func(key string) bool) bool {
	if pp.Target.PythonSource == lockfile.PythonFromConda {
		return false
	}
	for _, l := range pp.Layers {
		if l.Compile && !have(l.Key) {
			return true
		}
	}
	return false
}
