package repodata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/envbuild/envbuild/lock/conda/version"
)

// Record is one package artifact as repodata.json describes it, plus where
// it was found (Channel, Subdir, Fn, URL).
type Record struct {
	Name          string     `json:"name"`
	Version       string     `json:"version"`
	Build         string     `json:"build"`
	BuildNumber   int        `json:"build_number"`
	Depends       []string   `json:"depends,omitempty"`
	Constrains    []string   `json:"constrains,omitempty"`
	TrackFeatures StringList `json:"track_features,omitempty"`
	Features      StringList `json:"features,omitempty"`
	License       string     `json:"license,omitempty"`
	// Timestamp is in milliseconds since the epoch; values in seconds (as
	// old repodata has them) are converted on reading.
	Timestamp int64  `json:"timestamp,omitempty"`
	SHA256    string `json:"sha256,omitempty"`
	MD5       string `json:"md5,omitempty"`
	Size      int64  `json:"size,omitempty"`
	Subdir    string `json:"subdir,omitempty"`
	Noarch    Noarch `json:"noarch,omitempty"`
	// Fn is the artifact's file name (the key in repodata.json).
	Fn string `json:"fn,omitempty"`
	// URL is where the artifact is downloaded from.
	URL string `json:"url,omitempty"`
	// Channel is the channel the record was read from: its name (e.g.
	// "conda-forge") or URL as configured. Empty for virtual packages.
	Channel string `json:"channel,omitempty"`

	// ParsedVersion is Version parsed; set by the readers of this package
	// and by Parse.
	ParsedVersion version.Version `json:"-"`
}

// Parse fills ParsedVersion and checks the fields a solver needs.
func (r *Record) Parse() error {
	if r.Name == "" {
		return fmt.Errorf("reading conda record %q: no name", r.Fn)
	}
	v, err := version.Parse(r.Version)
	if err != nil {
		return fmt.Errorf("reading conda record %q: %w", r.Fn, err)
	}
	r.ParsedVersion = v
	if r.Timestamp > 0 && r.Timestamp < 1e11 {
		// Seconds; repodata since 2017 uses milliseconds.
		r.Timestamp *= 1000
	}
	return nil
}

// String names the record as conda does: channel::name-version-build.
func (r *Record) String() string {
	s := r.Name + "-" + r.Version + "-" + r.Build
	if r.Channel != "" {
		s = r.Channel + "::" + s
	}
	return s
}

// StringList is a list of strings read from either a JSON array or a single
// string of comma- or space-separated words (how repodata writes
// track_features and features).
type StringList []string

// UnmarshalJSON accepts an array, a string or null.
func (l *StringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*l = nil
		return nil
	}
	if b[0] == '[' {
		var a []string
		if err := json.Unmarshal(b, &a); err != nil {
			return err
		}
		*l = trimList(a)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("reading a feature list %s: want a string or an array: %w", b, err)
	}
	*l = strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
	return nil
}

// MarshalJSON writes the list as conda does: one space-separated string.
func (l StringList) MarshalJSON() ([]byte, error) {
	return json.Marshal(strings.Join(l, " "))
}

// Noarch is a record's noarch kind: "", "python" or "generic" (old
// repodata's `true` reads as "generic").
type Noarch string

// UnmarshalJSON accepts a string, a boolean or null.
func (n *Noarch) UnmarshalJSON(b []byte) error {
	switch s := string(bytes.TrimSpace(b)); s {
	case "null", "false":
		*n = ""
		return nil
	case "true":
		*n = "generic"
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("reading noarch %s: want a string or a boolean: %w", b, err)
	}
	*n = Noarch(s)
	return nil
}
