package metaflow

import (
	"fmt"
	"maps"
)

// runtimePins are Metaflow's get_pinned_conda_libs (metaflow_config.py):
// what a task needs in its environment besides the user's packages.
var runtimePins = map[string]map[string]string{
	"local": {"requests": ">=2.21.0"},
	"s3":    {"requests": ">=2.21.0", "boto3": ">=1.14.0"},
	"azure": {
		"requests":                     ">=2.21.0",
		"azure-identity":               ">=1.10.0",
		"azure-storage-blob":           ">=12.12.0",
		"azure-keyvault-secrets":       ">=4.7.0",
		"simple-azure-blob-downloader": ">=0.1.0",
	},
	"gs": {
		"requests":                     ">=2.21.0",
		"google-cloud-storage":         ">=2.5.0",
		"google-auth":                  ">=2.11.0",
		"google-cloud-secret-manager":  ">=2.10.0",
		"simple-gcp-object-downloader": ">=0.1.0",
		"packaging":                    ">=24.0",
	},
}

// RuntimePackages are the packages Metaflow adds to every @pypi/@conda
// environment so that a task can run in it with the given datastore
// ("local", "s3", "azure" or "gs"): requests and the datastore's client.
func RuntimePackages(datastore string) (map[string]string, error) {
	pins, ok := runtimePins[datastore]
	if !ok {
		return nil, fmt.Errorf("metaflow runtime packages for datastore %q: unknown datastore; Metaflow knows local, s3, azure and gs", datastore)
	}
	return maps.Clone(pins), nil
}

// WithRuntimePackages returns the step with RuntimePackages added the way
// Metaflow's CondaEnvironment does: to @pypi's packages when the step has
// @pypi, else to @conda's, the step's own versions winning. A disabled step
// and a step without @pypi/@conda are returned unchanged. The result
// changes the step's environment, hence its env id.
func (s Step) WithRuntimePackages(datastore string) (Step, error) {
	pins, err := RuntimePackages(datastore)
	if err != nil {
		return s, err
	}
	if s.Disabled {
		return s, nil
	}
	target := &s.Pypi
	if s.Pypi == nil {
		target = &s.Conda
	}
	if *target == nil {
		return s, nil
	}
	d := **target
	d.Packages = mergeMaps(pins, d.Packages)
	*target = &d
	return s, nil
}
