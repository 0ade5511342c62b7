package repodata

import (
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// withPieces runs f with the scan cut into at most n pieces of at least
// min bytes.
func withPieces(n, min int, f func()) {
	oldN, oldMin := maxPieces, minPiece
	maxPieces, minPiece = n, min
	defer func() { maxPieces, minPiece = oldN, oldMin }()
	f()
}

// indexed is what an Index holds, decoded, for comparing two readings.
func indexed(t *testing.T, body []byte) (string, error) {
	t.Helper()
	x, err := indexBytes(body, Source{Channel: "c", BaseURL: "https://conda.example/c"})
	if err != nil {
		return "", err
	}
	recs, err := x.All()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%v %d %+v", x.Names(), x.Len(), recs), nil
}

// trickyRepodata has records whose bytes look like record boundaries:
// strings holding `}, "` and nested objects, so guessed piece starts fall
// where they are wrong.
func trickyRepodata(n int, broken int) []byte {
	var b strings.Builder
	b.WriteString(`{"info": {"subdir": "linux-64"}, "packages": {`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		name := fmt.Sprintf("p%d", i%37)
		fmt.Fprintf(&b, `  "%s-1.%d-0.tar.bz2": {"build": "0", "build_number": 0, "depends": ["a }, \"x\": {", "b},\"y\":{\"name\":\"z\"}"], `, name, i)
		if i%5 == 0 {
			b.WriteString(`"extra": {"k": {"v": [1, "]"]}, "w": {}}, "more": {"name": "not me"}, `)
		}
		if i == broken {
			fmt.Fprintf(&b, `"name": 3, "version": "1.%d"}`, i)
			continue
		}
		fmt.Fprintf(&b, `"name": "%s", "version": "1.%d"}`, name, i)
	}
	b.WriteString("},\n\"packages.conda\": {")
	for i := 0; i < n/3; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `"p%d-1.%d-0.conda": {"name": "p%d", "version": "1.%d", "build": "0", "depends": ["}, \"q\": {"]}`, i%37, i, i%37, i)
	}
	b.WriteString("}, \"repodata_version\": 1}")
	return []byte(b.String())
}

// TestScanPiecesAgree reads the same repodata in one piece and in several,
// with guesses that are right and wrong, and wants the same index (or the
// same error).
func TestScanPiecesAgree(t *testing.T) {
	for _, broken := range []int{-1, 700} {
		body := trickyRepodata(1500, broken)
		var want string
		var wantErr error
		withPieces(1, 1, func() { want, wantErr = indexed(t, body) })
		if (wantErr != nil) != (broken >= 0) {
			t.Fatalf("broken=%d: one piece: err = %v", broken, wantErr)
		}
		for _, n := range []int{2, 3, 8, 61} {
			for _, minBytes := range []int{1, 1000} {
				var got string
				var err error
				withPieces(n, minBytes, func() { got, err = indexed(t, body) })
				if fmt.Sprint(err) != fmt.Sprint(wantErr) || got != want {
					t.Errorf("broken=%d, %d pieces of %d bytes: err %v (want %v), index differs: %v", broken, n, minBytes, err, wantErr, got != want)
				}
			}
		}
	}
}

func TestScanEmptyAndTwins(t *testing.T) {
	for _, body := range []string{
		`{"packages": {}, "packages.conda": {}}`,
		`{"packages": {"a-1-0.tar.bz2": {"name": "a", "version": "1"}}, "packages.conda": {"a-1-0.conda": {"name": "a", "version": "1", "md5": "c"}}}`,
	} {
		var want, got string
		var errW, errG error
		withPieces(1, 1, func() { want, errW = indexed(t, []byte(body)) })
		withPieces(4, 1, func() { got, errG = indexed(t, []byte(body)) })
		if errW != nil || errG != nil || got != want {
			t.Errorf("%s: %v %v\n%s\n%s", body, errW, errG, got, want)
		}
	}
	x, err := indexBytes([]byte(`{"packages": {"a-1-0.tar.bz2": {"name": "a", "version": "1"}}, "packages.conda": {"a-1-0.conda": {"name": "a", "version": "1", "md5": "c"}}}`), Source{})
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := x.Records("a")
	if len(recs) != 1 || recs[0].Fn != "a-1-0.conda" || !reflect.DeepEqual(x.Names(), []string{"a"}) {
		t.Errorf("twins: %+v", recs)
	}
}

// TestReadIndexFileMapped reads a file large enough to be mapped, and
// checks the records outlive the Index (and its mapping).
func TestReadIndexFileMapped(t *testing.T) {
	body := trickyRepodata(6000, -1)
	if len(body) < 1<<20 {
		t.Fatalf("the repodata is %d bytes, too small to be mapped", len(body))
	}
	path := t.TempDir() + "/repodata.json"
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := indexed(t, body)
	if err != nil {
		t.Fatal(err)
	}
	x, err := ReadIndexFile(path, Source{Channel: "c", BaseURL: "https://conda.example/c"})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := x.All()
	if err != nil {
		t.Fatal(err)
	}
	names := x.Names()
	got := fmt.Sprintf("%v %d %+v", names, x.Len(), recs)
	if got != want {
		t.Errorf("the mapped file reads differently from its bytes")
	}
	x = nil
	for i := 0; i < 3; i++ {
		runtime.GC() // runs the cleanup that unmaps the file
	}
	time.Sleep(10 * time.Millisecond)
	if again := fmt.Sprintf("%v %d %+v", names, len(recs), recs); again != got {
		t.Errorf("records changed once the index was gone")
	}
}
