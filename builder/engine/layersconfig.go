package engine

import (
	"encoding/json"
	"time"

	"github.com/envbuild/envbuild/lock/platform"
)

// LayersConfig is the image config (PlatformJob.Config) of the image
// BuildKit exports holding only the built layers of platform p (pushed by
// digest; envbuild writes the real image). It carries a history entry per
// layer at the fixed time created: without them the exporter adds entries
// dated now, and the two exports of one build (see Build) could differ.
func LayersConfig(p string, layers int, created time.Time) ([]byte, error) {
	osName, arch, variant := platform.Split(p)
	type history struct {
		Created   string `json:"created"`
		CreatedBy string `json:"created_by"`
	}
	at := created.Format(time.RFC3339)
	hist := make([]history, layers)
	for i := range hist {
		hist[i] = history{Created: at, CreatedBy: "envbuild: install"}
	}
	return json.Marshal(struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Variant      string `json:"variant,omitempty"`
		RootFS       struct {
			Type string `json:"type"`
		} `json:"rootfs"`
		Created string    `json:"created"`
		History []history `json:"history"`
	}{Architecture: arch, OS: osName, Variant: variant, Created: at, History: hist})
}
