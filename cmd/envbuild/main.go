// Command envbuild locks Python environments and builds them into container
// images on a custom base image with BuildKit.
package main

import (
	"os"

	"github.com/envbuild/envbuild/cmd/envbuild/app"
)

func main() { os.Exit(app.Main(os.Args, os.Stdout, os.Stderr)) }
