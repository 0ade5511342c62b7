package engine

import (
	"testing"
	"time"
)

// The config of the built layers' image is fixed bytes: its history
// entries are dated created, never now.
func TestLayersConfig(t *testing.T) {
	created := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		platform string
		layers   int
		want     string
	}{
		{"linux/amd64", 0, `{"architecture":"amd64","os":"linux","rootfs":{"type":""},"created":"1980-01-01T00:00:00Z","history":[]}`},
		{"linux/arm64/v8", 2, `{"architecture":"arm64","os":"linux","variant":"v8","rootfs":{"type":""},"created":"1980-01-01T00:00:00Z","history":[{"created":"1980-01-01T00:00:00Z","created_by":"envbuild: install"},{"created":"1980-01-01T00:00:00Z","created_by":"envbuild: install"}]}`},
	} {
		got, err := LayersConfig(c.platform, c.layers, created)
		if err != nil || string(got) != c.want {
			t.Errorf("LayersConfig(%s, %d) = %s, %v; want %s", c.platform, c.layers, got, err, c.want)
		}
	}
}
