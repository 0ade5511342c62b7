package index

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestRealIndexTiming fetches the pages and newest-wheel metadata of a
// typical scientific stack from the machine's real index, cold and then
// warm, and logs the times. It needs the network:
// ENVBUILD_TEST_REAL_INDEX=1 turns it on.
func TestRealIndexTiming(t *testing.T) {
	if os.Getenv("ENVBUILD_TEST_REAL_INDEX") != "1" {
		t.Skip("set ENVBUILD_TEST_REAL_INDEX=1 to ask the real index")
	}
	names := strings.Fields(`numpy pandas python-dateutil pytz tzdata six scikit-learn scipy joblib
		threadpoolctl matplotlib contourpy cycler fonttools kiwisolver packaging pillow pyparsing
		boto3 botocore s3transfer jmespath urllib3 requests idna charset-normalizer certifi`)
	dir := t.TempDir()
	for _, round := range []string{"cold", "warm"} {
		c, _ := newTestClient(t, Options{CacheDir: dir, Timeout: 30 * time.Second})
		start := time.Now()
		c.Prefetch(ctx, names)
		pages := time.Since(start)
		files, bytes := 0, 0
		var wheels []File
		for _, n := range names {
			p, err := c.Project(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			files += len(p.Files)
			for i := len(p.Files) - 1; i >= 0; i-- {
				if strings.HasSuffix(p.Files[i].Filename, ".whl") {
					wheels = append(wheels, p.Files[i])
					break
				}
			}
		}
		start = time.Now()
		done := make(chan error, len(wheels))
		for _, w := range wheels {
			go func() { _, err := c.Metadata(ctx, w); done <- err }()
		}
		for range wheels {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
		t.Logf("%s: %d pages (%d files) in %s; %d metadata in %s", round, len(names), files, pages, len(wheels), time.Since(start))
		_ = bytes
	}
}
