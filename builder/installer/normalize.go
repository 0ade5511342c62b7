package installer

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/envbuild/envbuild/builder/layout"
)

// Normalize makes the tree under root byte-reproducible: it creates the
// parents of layout.Prefix (and the prefix) with mode 0755, drops group and
// other write permission from every file and directory, gives every file,
// directory and symlink the access and modification time layout.Epoch, and,
// when run as root, makes 0:0 their owner.
func Normalize(root string) error {
	t, err := newTree(root)
	if err != nil {
		return err
	}
	if err := t.mkdirAll(layout.Prefix); err != nil {
		return fmt.Errorf("normalizing %q: %w", root, err)
	}
	// mkdirAll leaves existing directories alone; the prefix and its parents
	// must be 0755 whatever made them.
	for p := layout.Prefix; p != "/"; p = filepath.Dir(p) {
		if err := os.Chmod(t.host(p), modeDir); err != nil {
			return fmt.Errorf("normalizing %q: %w", p, err)
		}
	}
	asRoot := os.Geteuid() == 0
	err = filepath.WalkDir(t.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if asRoot {
			if err := os.Lchown(p, 0, 0); err != nil {
				return err
			}
		}
		if d.Type()&fs.ModeSymlink == 0 {
			info, err := d.Info()
			if err != nil {
				return err
			}
			// Only permission bits are kept: setuid, setgid and sticky bits
			// have no place in an environment.
			mode := info.Mode()
			want := mode.Perm() &^ 0o022
			if mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 || mode.Perm() != want {
				if err := os.Chmod(p, want); err != nil {
					return err
				}
			}
		}
		return lutimes(p, layout.Epoch)
	})
	if err != nil {
		return fmt.Errorf("normalizing the tree under %q: %w", root, err)
	}
	return nil
}
