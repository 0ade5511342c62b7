package installer

import (
	"archive/zip"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	kflate "github.com/klauspost/compress/flate"
)

// bigWheel writes a wheel shaped like a large scientific package: 20 native
// libraries of 2.5 MB that do not compress, and 1,500 Python files of 40 kB
// that do; about 60 MB on disk, 110 MB installed.
func bigWheel(b *testing.B, dir string) string {
	b.Helper()
	p := filepath.Join(dir, "big-1.0-cp311-cp311-linux_x86_64.whl")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	zw := zip.NewWriter(f)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return kflate.NewWriter(w, kflate.BestSpeed) })
	rng := rand.New(rand.NewSource(1))
	var record strings.Builder
	add := func(name string, body []byte, mode os.FileMode) {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			b.Fatal(err)
		}
		w.Write(body)
		sum := sha256.Sum256(body)
		fmt.Fprintf(&record, "%s,%s,%d\n", name, recordHash(sum[:]), len(body))
	}
	for i := 0; i < 20; i++ {
		body := make([]byte, 2_500_000)
		rng.Read(body)
		add(fmt.Sprintf("big/_lib%02d.cpython-311-x86_64-linux-gnu.so", i), body, 0o755)
	}
	for i := 0; i < 1500; i++ {
		var s strings.Builder
		for s.Len() < 40_000 {
			fmt.Fprintf(&s, "def f_%d_%d(x):\n    return x * %d + %d\n\n", i, s.Len(), rng.Intn(1000), rng.Intn(1000))
		}
		add(fmt.Sprintf("big/sub%02d/mod%04d.py", i%30, i), []byte(s.String()), 0o644)
	}
	add("big-1.0.dist-info/METADATA", []byte("Metadata-Version: 2.1\nName: big\nVersion: 1.0\n"), 0o644)
	add("big-1.0.dist-info/WHEEL", []byte("Wheel-Version: 1.0\nRoot-Is-Purelib: false\n"), 0o644)
	record.WriteString("big-1.0.dist-info/RECORD,,\n")
	w, _ := zw.Create("big-1.0.dist-info/RECORD")
	w.Write([]byte(record.String()))
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return p
}

// BenchmarkInstallWheel installs a 60 MB wheel (RECORD check, hashing,
// writing, normalizing); go test -run - -bench InstallWheel ./builder/installer/
func BenchmarkInstallWheel(b *testing.B) {
	dir := b.TempDir()
	src := bigWheel(b, dir)
	st, _ := os.Stat(src)
	for _, workers := range []int{1, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.SetBytes(st.Size())
			defer reportCPU(b)()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				root := filepath.Join(dir, fmt.Sprintf("root%d", i))
				os.Mkdir(root, 0o755)
				b.StartTimer()
				if _, err := InstallWheel(src, root, WheelOptions{Python: "3.11", Workers: workers}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				os.RemoveAll(root)
				b.StartTimer()
			}
		})
	}
}

// BenchmarkInstallConda installs a .conda package of the same shape as
// bigWheel's (20 incompressible 2.5 MB libraries, 1,500 text files, a
// placeholder in every tenth).
func BenchmarkInstallConda(b *testing.B) {
	dir := b.TempDir()
	rng := rand.New(rand.NewSource(1))
	fx := condaFixture{stem: "big-1.0-h0_0"}
	var paths []string
	for i := 0; i < 20; i++ {
		body := make([]byte, 2_500_000)
		rng.Read(body)
		name := fmt.Sprintf("lib/libbig%02d.so", i)
		fx.payload = append(fx.payload, tarEntry{name: name, body: string(body), mode: 0o755})
		paths = append(paths, `{"_path": "`+name+`", "path_type": "hardlink"}`)
	}
	for i := 0; i < 1500; i++ {
		var s strings.Builder
		if i%10 == 0 {
			s.WriteString("PREFIX = '" + placeholder + "'\n")
		}
		for s.Len() < 40_000 {
			fmt.Fprintf(&s, "def f_%d_%d(x):\n    return x * %d\n\n", i, s.Len(), rng.Intn(1000))
		}
		name := fmt.Sprintf("lib/python3.11/site-packages/big/sub%02d/mod%04d.py", i%30, i)
		fx.payload = append(fx.payload, tarEntry{name: name, body: s.String()})
		p := `{"_path": "` + name + `", "path_type": "hardlink"`
		if i%10 == 0 {
			p += `, "file_mode": "text", "prefix_placeholder": "` + placeholder + `"`
		}
		paths = append(paths, p+"}")
	}
	fx.info = []tarEntry{indexJSON("big", "1.0", "h0_0", ""), pathsJSON(paths...)}
	src := fx.writeDotConda(b, dir)
	st, _ := os.Stat(src)
	b.SetBytes(st.Size())
	b.ResetTimer()
	defer reportCPU(b)()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		root := filepath.Join(dir, fmt.Sprintf("root%d", i))
		os.Mkdir(root, 0o755)
		b.StartTimer()
		if _, err := InstallConda(src, root, CondaOptions{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(root)
		b.StartTimer()
	}
}

// reportCPU reports the process's user+system CPU time per operation, which
// says more than wall time on a machine shared with other work. Setup and
// cleanup between operations are included, so it is an upper bound.
func reportCPU(b *testing.B) func() {
	var start syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &start)
	return func() {
		var end syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &end)
		ns := end.Utime.Nano() - start.Utime.Nano() + end.Stime.Nano() - start.Stime.Nano()
		b.ReportMetric(float64(ns)/1e6/float64(b.N), "cpu-ms/op")
	}
}
