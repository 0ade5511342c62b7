package baseimage

import (
	"path"
	"sort"
	"strings"
)

// kind is the type of a file system entry.
type kind uint8

const (
	kindFile kind = iota + 1
	kindDir
	kindSymlink
	kindOther
)

// node is the topmost entry seen for a path.
type node struct {
	kind  kind
	link  string // symlink target as written in the layer
	layer int    // position in the walk: 0 is the top layer
	facts *facts // what was read from a scanned regular file; nil otherwise
	// hardlink is the path a hard link entry links to, in its layer.
	hardlink string
}

// view is the merged file system of the layers walked so far, top layer
// first. What an upper layer says about a path is final; a lower layer
// only fills in what no upper layer named or hid. Paths are clean and
// relative to the root ("usr/bin/python3"); the root is "".
//
// Lookups say whether their answer is final: a path no walked layer named
// may still appear in a layer not walked yet, unless an upper layer hid it.
type view struct {
	nodes    map[string]*node
	children map[string]map[string]bool
	hidden   map[string]bool // whited out by a walked layer: gone from lower layers, with all below
	opaque   map[string]bool // opaque in a walked layer: the lower layers' contents are gone
	layer    int             // the layer being walked
	done     bool            // every layer was walked

	pendingHidden []string // whiteouts of the current layer, applied to lower ones
	pendingOpaque []string
}

func newView() *view {
	return &view{
		nodes:    map[string]*node{"": {kind: kindDir, layer: -1}},
		children: map[string]map[string]bool{},
		hidden:   map[string]bool{},
		opaque:   map[string]bool{},
	}
}

// cleanPath turns a tar name or an absolute path into the view's form.
func cleanPath(p string) string {
	return strings.TrimPrefix(path.Clean("/"+p), "/")
}

func parentOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// masked reports whether a walked layer (above the current one) hides p:
// a whiteout of p or an ancestor, an opaque ancestor, or an ancestor that
// is not a directory.
func (v *view) masked(p string) bool {
	if p == "" {
		return false
	}
	if v.hidden[p] {
		return true
	}
	for a := parentOf(p); ; a = parentOf(a) {
		if v.hidden[a] || v.opaque[a] {
			return true
		}
		if n, ok := v.nodes[a]; ok && n.layer < v.layer && n.kind != kindDir {
			return true
		}
		if a == "" {
			return false
		}
	}
}

// visible reports whether an entry for p in the current layer shows in the
// merged file system: no walked layer hid it or already named it.
func (v *view) visible(p string) bool {
	if n, ok := v.nodes[p]; ok && n.layer < v.layer {
		return false
	}
	return !v.masked(p)
}

// add records the current layer's entry for p, which must be visible.
// Parents the layer does not name are recorded as directories.
func (v *view) add(p string, n *node) {
	n.layer = v.layer
	v.nodes[p] = n
	for p != "" {
		dir := parentOf(p)
		base := p[len(dir):]
		base = strings.TrimPrefix(base, "/")
		c := v.children[dir]
		if c == nil {
			c = map[string]bool{}
			v.children[dir] = c
		}
		c[base] = true
		if _, ok := v.nodes[dir]; ok {
			break
		}
		v.nodes[dir] = &node{kind: kindDir, layer: v.layer}
		p = dir
	}
}

// whiteout records that the current layer deletes p from lower layers.
func (v *view) whiteout(p string) { v.pendingHidden = append(v.pendingHidden, p) }

// makeOpaque records that the current layer hides the lower contents of dir.
func (v *view) makeOpaque(dir string) { v.pendingOpaque = append(v.pendingOpaque, dir) }

// endLayer applies the current layer's whiteouts and moves to the next
// layer down.
func (v *view) endLayer() {
	for _, p := range v.pendingHidden {
		v.hidden[p] = true
	}
	for _, p := range v.pendingOpaque {
		v.opaque[p] = true
	}
	v.pendingHidden, v.pendingOpaque = nil, nil
	v.layer++
}

// lstat returns the node at p without following a final symlink, and
// whether the answer is final.
func (v *view) lstat(p string) (*node, bool) {
	if n, ok := v.nodes[p]; ok {
		return n, true
	}
	return nil, v.done || v.masked(p)
}

// maxHops bounds symlink resolution, as the kernel's ELOOP does.
const maxHops = 40

// resolve follows symlinks in every component of p, as the kernel would
// inside the image. It returns the resolved path, its node (nil when it
// does not exist) and whether the answer is final.
func (v *view) resolve(p string) (string, *node, bool) {
	return v.trace(p, nil)
}

// trace is resolve, calling link (when not nil) with the path and node of
// every symlink followed on the way.
func (v *view) trace(p string, link func(at string, n *node)) (string, *node, bool) {
	p = cleanPath(p)
	for hops := 0; hops <= maxHops; hops++ {
		if p == "" {
			return "", v.nodes[""], true
		}
		parts := strings.Split(p, "/")
		cur := ""
		restart := false
		for i, part := range parts {
			next := part
			if cur != "" {
				next = cur + "/" + part
			}
			n, sure := v.lstat(next)
			if n == nil {
				return next, nil, sure
			}
			if n.kind == kindSymlink {
				if link != nil {
					link(next, n)
				}
				target := n.link
				if !strings.HasPrefix(target, "/") {
					target = cur + "/" + target
				}
				p = cleanPath(target + "/" + strings.Join(parts[i+1:], "/"))
				restart = true
				break
			}
			if i < len(parts)-1 && n.kind != kindDir {
				return next, nil, true // not a directory
			}
			cur = next
		}
		if !restart {
			return p, v.nodes[p], true
		}
	}
	return p, nil, true // too many levels of symbolic links
}

// list returns the names in directory dir (a resolved path), sorted, and
// whether the list is final.
func (v *view) list(dir string) ([]string, bool) {
	names := make([]string, 0, len(v.children[dir]))
	for n := range v.children[dir] {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, v.done || v.opaque[dir] || v.masked(dir+"/\x00")
}
