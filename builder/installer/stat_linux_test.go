package installer

import (
	"io/fs"
	"os"
	"syscall"
	"testing"
)

func statEntry(info fs.FileInfo) treeEntry {
	st := info.Sys().(*syscall.Stat_t)
	return treeEntry{mode: info.Mode(), mtime: st.Mtim.Sec, uid: st.Uid, ino: st.Ino}
}

func atime(t *testing.T, p string) int64 {
	t.Helper()
	info, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return info.Sys().(*syscall.Stat_t).Atim.Sec
}
