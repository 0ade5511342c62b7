package app

import "testing"

func TestFileKind(t *testing.T) {
	for _, tc := range []struct{ path, content, want string }{
		{"envbuild.toml", "", kindEnvToml},
		{"x/pyproject.toml", "", kindPyproject},
		{"uv.lock", "", kindUVLock},
		{"pylock.toml", "", kindPylock},
		{"pylock.dev.toml", "", kindPylock},
		{"environment.yml", "", kindEnvYML},
		{"conda.yaml", "", kindEnvYML},
		{"requirements-dev.txt", "", kindRequirements},
		{"requirements.in", "", kindRequirements},
		{"locked.toml", "lock-version = \"1.0\"\ncreated-by = \"x\"\n[[packages]]\n", kindPylock},
		{"project.lock", "version = 1\nrevision = 3\n\n[[package]]\n", kindUVLock},
		{"proj.toml", "[project]\nname = \"x\"\n", kindPyproject},
		{"env", "name: x\ndependencies:\n  - numpy\n", kindEnvYML},
		{"team.toml", "[pypi]\npackages = {}\n", kindEnvToml},
		{"deps", "requests>=2\n", kindRequirements},
	} {
		if got := fileKind(tc.path, []byte(tc.content)); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.path, got, tc.want)
		}
	}
}
