package baseimage

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestSearchStreamAcrossChunks(t *testing.T) {
	tests := []struct {
		name string
		at   int // offset of the version string
	}{
		{"at the start", 0},
		{"inside the first chunk", 1000},
		{"cut by the chunk boundary", chunkSize - 3},
		{"right after the boundary", chunkSize + 1},
		{"in the third chunk", 2*chunkSize + 17},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := bytes.Repeat([]byte{'x'}, 3*chunkSize)
			copy(data[tt.at:], "3.11.4\x00")
			if tt.at > 0 {
				data[tt.at-1] = 0
			}
			got, err := pythonVersions(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string]int{"3.11.4": 1}; !reflect.DeepEqual(got, want) {
				t.Errorf("found %v, want %v (each match once)", got, want)
			}
		})
	}
}

func TestPythonVersionPattern(t *testing.T) {
	tests := []struct {
		text string
		want map[string]int
	}{
		{"\x003.11.2\x00", map[string]int{"3.11.2": 1}},
		{"3.11.2\x00 at the very start", map[string]int{"3.11.2": 1}},
		{"/build/Python-3.12.7\x00", map[string]int{"3.12.7": 1}},
		{"\x003.13.0rc2\x00", map[string]int{"3.13.0": 1}},
		{"3.11.9 (main, Apr  2 2024)\x00x\x003.11.9\x00", map[string]int{"3.11.9": 2}},
		{"\x0013.11.2\x00", map[string]int{}},  // not a Python version
		{"\x001.3.11.2\x00", map[string]int{}}, // nor this
		{"\x003.11.2.1\x00", map[string]int{}}, // four parts
		{"\x003.11.2abc", map[string]int{}},    // not terminated
		{"\x001.2.13\x00", map[string]int{}},   // zlib's version
	}
	for _, tt := range tests {
		got, err := pythonVersions(strings.NewReader(tt.text))
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("versions in %q = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestELFHeader(t *testing.T) {
	tests := []struct {
		name        string
		data        []byte
		wantMachine uint16
		wantInterp  string
	}{
		{"x86_64 with interpreter", elf(x86, ldGNU, "body"), x86, ldGNU},
		{"aarch64 with interpreter", elf(arm64, "/lib/ld-linux-aarch64.so.1", ""), arm64, "/lib/ld-linux-aarch64.so.1"},
		{"no program headers", elf(x86, "", "body"), x86, ""},
		{"program header cut off", elf(x86, ldGNU, "")[:80], x86, ""},
	}
	for _, tt := range tests {
		m, interp := elfHeader(tt.data)
		if m != tt.wantMachine || interp != tt.wantInterp {
			t.Errorf("%s: elfHeader = %d %q, want %d %q", tt.name, m, interp, tt.wantMachine, tt.wantInterp)
		}
	}
}

func TestParseDpkg(t *testing.T) {
	got := parseDpkg(strings.NewReader(dpkgStatus + "\nPackage: python3-yaml\nStatus: install ok installed\nVersion: 6.0-3\n\nPackage: libpython3.11-minimal\nVersion: 3.11.2-6\n"))
	want := map[string]string{
		"libc6":                 "2.36-9+deb12u4",
		"python3.11-minimal":    "3.11.2-6+deb12u6",
		"libpython3.11-minimal": "3.11.2-6", // a status.d entry has no Status field
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseDpkg = %v, want %v", got, want)
	}
}

func TestUpstreamVersion(t *testing.T) {
	for in, want := range map[string]string{
		"3.11.2-6+deb12u6": "3.11.2",
		"1:2.36-9":         "2.36",
		"3.12.0~rc1-1":     "3.12.0",
		"1.2.4-r2":         "1.2.4",
		"":                 "",
		"abc":              "",
	} {
		if got := upstreamVersion(in); got != want {
			t.Errorf("upstreamVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScannerFor(t *testing.T) {
	tests := map[string]scanner{
		"usr/bin/python3.11":                                   scanPython,
		"usr/local/bin/python3.13t":                            scanPython,
		"usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0":        scanPython,
		"usr/bin/python3.11-config":                            scanNone,
		"usr/lib/libpython3.11.a":                              scanNone,
		"lib/x86_64-linux-gnu/libc.so.6":                       scanGlibc,
		"lib/x86_64-linux-gnu/libc-2.31.so":                    scanGlibc,
		"lib/ld-musl-aarch64.so.1":                             scanMusl,
		"var/lib/dpkg/status":                                  scanDpkg,
		"var/lib/dpkg/status.d/libc6":                          scanDpkg,
		"var/lib/dpkg/status.d/libc6.md5sums":                  scanNone,
		"var/lib/dpkg/status-old":                              scanNone,
		"lib/apk/db/installed":                                 scanApk,
		"opt/conda/conda-meta/python-3.11.5-h1_0.json":         scanConda,
		"opt/conda/conda-meta/python-dateutil-2.9.0-py_0.json": scanNone,
		"usr/share/doc/python3.11":                             scanPython,
	}
	for p, want := range tests {
		if got := scannerFor(p); got != want {
			t.Errorf("scannerFor(%q) = %d, want %d", p, got, want)
		}
	}
}
