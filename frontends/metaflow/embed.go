package metaflow

import _ "embed"

// exportScript is python/export_decorators.py, written to a temporary file
// and run by LoadWithMetaflow.
//
//go:embed python/export_decorators.py
var exportScript []byte
