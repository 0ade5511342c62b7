//go:build embedinstaller

package build

import _ "embed"

// The static Linux builds of envbuild for both architectures, put here by
// `make dist` (builder/build/installers/), so an envbuild running elsewhere
// (macOS, or Linux driving a BuildKit of the other architecture) can still
// send BuildKit an installer that runs there.

//go:embed installers/envbuild-linux-amd64
var installerAMD64 []byte

//go:embed installers/envbuild-linux-arm64
var installerARM64 []byte

func init() {
	embedded = func(arch string) []byte {
		switch arch {
		case "amd64":
			return installerAMD64
		case "arm64":
			return installerARM64
		}
		return nil
	}
}
