package baseimage

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"io"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// entry is one tar entry of a synthetic layer.
type entry struct {
	name string
	typ  byte
	body []byte
	link string
}

func reg(name string, body []byte) entry { return entry{name: name, typ: tar.TypeReg, body: body} }
func txt(name, body string) entry        { return reg(name, []byte(body)) }
func sym(name, target string) entry      { return entry{name: name, typ: tar.TypeSymlink, link: target} }
func hard(name, target string) entry     { return entry{name: name, typ: tar.TypeLink, link: target} }
func dir(name string) entry              { return entry{name: name, typ: tar.TypeDir} }

// whiteout deletes p from the layers below.
func whiteout(p string) entry {
	d, b := parentOf(cleanPath(p)), cleanPath(p)[len(parentOf(cleanPath(p))):]
	if d != "" {
		b = b[1:]
		d += "/"
	}
	return reg(d+".wh."+b, nil)
}

func layer(t *testing.T, entries ...entry) v1.Layer {
	t.Helper()
	data := tarBytes(t, entries...)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func tarBytes(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o755, Linkname: e.link, Size: int64(len(e.body))}
		if e.typ == tar.TypeDir {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// image stacks layers, bottom first, under a config for linux/arch.
func image(t *testing.T, arch string, env []string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", arch
	cfg.Config.Env = env
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// elf is a minimal 64-bit little-endian ELF file for machine, with a
// PT_INTERP naming interp (none when empty), followed by body.
func elf(machine uint16, interp string, body string) []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[4], h[5], h[6] = 2, 1, 1
	le := binary.LittleEndian
	le.PutUint16(h[16:], 3)
	le.PutUint16(h[18:], machine)
	if interp != "" {
		le.PutUint64(h[0x20:], 64)
		le.PutUint16(h[0x36:], 56)
		le.PutUint16(h[0x38:], 1)
		ph := make([]byte, 56)
		le.PutUint32(ph[0:], 3)
		le.PutUint64(ph[8:], 120)
		le.PutUint64(ph[32:], uint64(len(interp)+1))
		h = append(h, ph...)
		h = append(h, interp...)
		h = append(h, 0)
	}
	return append(h, body...)
}

const (
	x86    = 62
	arm64  = 183
	ldGNU  = "/lib64/ld-linux-x86-64.so.2"
	ldMusl = "/lib/ld-musl-x86_64.so.1"
)

// countingImage counts how many times any of its layers is opened.
type countingImage struct {
	v1.Image
	opened *atomic.Int32
}

func (c countingImage) Layers() ([]v1.Layer, error) {
	ls, err := c.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		out[i] = countingLayer{Layer: l, opened: c.opened}
	}
	return out, nil
}

type countingLayer struct {
	v1.Layer
	opened *atomic.Int32
}

func (l countingLayer) Uncompressed() (io.ReadCloser, error) {
	l.opened.Add(1)
	return l.Layer.Uncompressed()
}

func (l countingLayer) Compressed() (io.ReadCloser, error) {
	l.opened.Add(1)
	return l.Layer.Compressed()
}
