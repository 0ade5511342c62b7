package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunWithoutABed(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-bed")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"no command", nil, 2, "usage: testbed"},
		{"unknown command", []string{"sideways"}, 2, `unknown command "sideways"`},
		{"unknown flag", []string{"up", "-nope"}, 2, "-nope"},
		{"down with nothing up", []string{"down", "-state", missing}, 0, "no bed in " + missing},
		{"env with nothing up", []string{"env", "-state", missing}, 1, "reading test bed state"},
		{"logs with nothing up", []string{"logs", "-state", missing}, 1, "reading test bed state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("run(%q): got exit %d, stderr %q; want exit %d, stderr containing %q", tt.args, code, stderr.String(), tt.wantCode, tt.wantStderr)
			}
			if stdout.Len() != 0 {
				t.Errorf("run(%q): got stdout %q, want none", tt.args, stdout.String())
			}
		})
	}
}
