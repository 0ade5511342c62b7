package app

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/envbuild/envbuild/lock/failure"
)

// referenceDoc is where the user's reference lives, as a path in the
// repository: help text points there.
const referenceDoc = "docs/reference.md"

// examples are the last section of each command's --help, by full name:
// command lines a user can run as written (with their own registry).
var examples = map[string][]string{
	"": {
		"envbuild build --pypi pandas==2.2.2 --base registry.example.com/ml/base:2024.06 --registry registry.example.com/team/envs",
		"envbuild lock --python 3.11 --pypi 'requests>=2.31,<3'",
		"envbuild flow build flow.py --registry registry.example.com/team/envs --json",
	},
	"build": {
		"envbuild build --pypi pandas==2.2.2 --pypi 'requests>=2.31,<3' \\\n     --base registry.example.com/ml/base:2024.06 --registry registry.example.com/team/envs",
		"envbuild build --env train --json          # the [envs.train] of ./envbuild.toml",
		"envbuild build --locked --json             # CI: exactly the committed envbuild.lock, or exit 3",
	},
	"lock": {
		"envbuild lock --python 3.11 --pypi 'requests>=2.31,<3' --platform linux/amd64,linux/arm64",
		"envbuild lock --conda 'python>=3.10,<3.12' --conda numpy --channel conda-forge",
		"envbuild lock --check                      # exit 3 when ./envbuild.toml changed since the lock",
	},
	"inspect": {
		"envbuild inspect registry.example.com/team/envs:env-3f9c0a1b2c3d4e5f",
		"envbuild inspect --json registry.example.com/team/envs@sha256:…",
		"envbuild inspect --lock IMAGE > envbuild.lock   # the image's lock, to build it again",
	},
	"sbom": {
		"envbuild sbom registry.example.com/team/envs:env-3f9c0a1b2c3d4e5f > sbom.spdx.json",
	},
	"flow": {
		"envbuild flow build flow.py --registry registry.example.com/team/envs --json",
		"envbuild flow build flow.py --with kubernetes:image=registry.example.com/ml/base:2024.06 --locked",
	},
	"flow build": {
		"envbuild flow build flow.py --registry registry.example.com/team/envs --json",
		"envbuild flow build flow.py --with kubernetes:image=registry.example.com/ml/base:2024.06 --locked",
		"envbuild flow build flow.py --metaflow-deps s3 --platform linux/amd64,linux/arm64",
	},
	"daemon": {
		"envbuild daemon start                      # prints the address of the daemon that answers",
		"envbuild daemon stop",
	},
	"daemon start": {
		"envbuild daemon start",
		"BUILDKIT_HOST=$(envbuild daemon start) buildctl debug workers",
	},
	"daemon stop": {
		"envbuild daemon stop",
		"envbuild daemon stop && envbuild daemon start   # restart it, after replacing buildkitd",
	},
	"completion": {
		"source <(envbuild completion bash)                        # in ~/.bashrc",
		"envbuild completion zsh > \"${fpath[1]}/_envbuild\"         # then restart zsh",
		"envbuild completion fish > ~/.config/fish/completions/envbuild.fish",
	},
}

// helpTail is the end of every help text: the reference, then examples.
func helpTail(name string) string {
	var b strings.Builder
	b.WriteString("\nREFERENCE:\n   " + referenceDoc + " in envbuild's source repository (envbuild.toml, envbuild.lock,\n   configuration, JSON outputs, exit codes)\n")
	if ex := examples[name]; len(ex) > 0 {
		b.WriteString("\nEXAMPLES:\n")
		for _, e := range ex {
			b.WriteString("   " + e + "\n")
		}
	}
	// The help text is a text/template.
	return strings.NewReplacer("{{", "{{`{{`}}").Replace(b.String())
}

// addHelpTails puts helpTail at the end of the app's and every command's
// --help.
func addHelpTails(a *cli.App) {
	a.CustomAppHelpTemplate = cli.AppHelpTemplate + helpTail("")
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			name := strings.TrimSpace(prefix + " " + c.Name)
			tmpl := cli.CommandHelpTemplate
			if len(c.Subcommands) > 0 {
				tmpl = cli.SubcommandHelpTemplate
			}
			c.CustomHelpTemplate = tmpl + helpTail(name)
			walk(name, c.Subcommands)
		}
	}
	walk("", a.Commands)
}

// completionCommand prints a shell's completion script. Each script asks
// envbuild itself what can come next (`envbuild __complete WORDS…`), so
// completions follow the commands and flags of the binary installed.
func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script: bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return failure.Usage(fmt.Errorf("envbuild completion takes one shell: bash, zsh or fish"))
			}
			script, ok := completionScripts[c.Args().First()]
			if !ok {
				return failure.Usage(fmt.Errorf("envbuild completion %q: the shells are bash, zsh and fish", c.Args().First()))
			}
			_, err := io.WriteString(c.App.Writer, script)
			return err
		},
	}
}

var completionScripts = map[string]string{
	"bash": `# bash completion for envbuild: source <(envbuild completion bash)
_envbuild() {
    local IFS=$'\n'
    COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:$COMP_CWORD}" 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}"))
}
complete -o default -F _envbuild envbuild
`,
	"zsh": `#compdef envbuild
# zsh completion for envbuild: envbuild completion zsh > "${fpath[1]}/_envbuild"
_envbuild() {
    local -a cands
    cands=("${(@f)$("${words[1]}" __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    cands=(${cands:#})
    if (( ${#cands} )); then
        compadd -a cands
    else
        _files
    fi
}
if [[ "${funcstack[1]}" == "_envbuild" ]]; then
    _envbuild "$@"
else
    compdef _envbuild envbuild
fi
`,
	"fish": `# fish completion for envbuild: envbuild completion fish > ~/.config/fish/completions/envbuild.fish
function __envbuild_complete
    set -l words (commandline -opc) (commandline -ct)
    $words[1] __complete $words[2..-1] 2>/dev/null
end
complete -c envbuild -a '(__envbuild_complete)'
`,
}

// flagValues are the values offered after a flag whose values are few.
var flagValues = map[string][]string{
	"platform":      {"linux/amd64", "linux/arm64"},
	"progress":      {"auto", "plain", "tty", "quiet"},
	"compression":   {"gzip", "zstd"},
	"metaflow-deps": {"local", "s3", "azure", "gs"},
	"with":          {"kubernetes:image=", "batch:image="},
}

// complete prints, one a line, what can follow words (the command line
// after "envbuild", the last word being the one completed, maybe ""):
// commands, flags when the word starts with "-", a flag's values. It
// prints nothing where a file name goes, so the shell offers files.
func complete(a *cli.App, words []string, w io.Writer) {
	if len(words) == 0 {
		words = []string{""}
	}
	cur := words[len(words)-1]
	cmds, flags := a.Commands, a.Flags
	var cmd *cli.Command
	takesValue := func(name string) bool {
		for _, f := range flags {
			if slices.Contains(f.Names(), name) {
				_, isBool := f.(*cli.BoolFlag)
				return !isBool
			}
		}
		return false
	}
	for i := 0; i < len(words)-1; i++ {
		word := words[i]
		if strings.HasPrefix(word, "-") {
			name := strings.TrimLeft(word, "-")
			if !strings.Contains(name, "=") && takesValue(name) {
				i++ // its value
			}
			continue
		}
		for _, c := range cmds {
			if c.HasName(word) {
				cmd, cmds, flags = c, c.Subcommands, c.Flags
				break
			}
		}
	}
	if len(words) >= 2 {
		if prev := words[len(words)-2]; strings.HasPrefix(prev, "-") && takesValue(strings.TrimLeft(prev, "-")) {
			for _, v := range flagValues[strings.TrimLeft(prev, "-")] {
				fmt.Fprintln(w, v)
			}
			return
		}
	}
	if cmd != nil && cmd.Name == "completion" {
		fmt.Fprintln(w, "bash\nzsh\nfish")
		return
	}
	if strings.HasPrefix(cur, "-") {
		for _, f := range flags {
			if f.Names()[0] == "generate-bash-completion" {
				continue
			}
			fmt.Fprintln(w, "--"+f.Names()[0])
		}
		fmt.Fprintln(w, "--help")
		return
	}
	for _, c := range cmds {
		if !c.Hidden && c.Name != "help" {
			fmt.Fprintln(w, c.Name)
		}
	}
}
