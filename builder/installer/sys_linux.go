package installer

import (
	"os"
	"syscall"
	"unsafe"
)

const noFollow = syscall.O_NOFOLLOW

// lutimes sets the access and modification times of p to sec without
// following a symlink at p.
func lutimes(p string, sec int64) error {
	const atFDCWD = -0x64
	const atSymlinkNoFollow = 0x100
	b, err := syscall.BytePtrFromString(p)
	if err != nil {
		return err
	}
	ts := [2]syscall.Timespec{{Sec: sec}, {Sec: sec}}
	fd := atFDCWD
	_, _, errno := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(fd), uintptr(unsafe.Pointer(b)), uintptr(unsafe.Pointer(&ts[0])), atSymlinkNoFollow, 0, 0)
	if errno != 0 {
		return &os.PathError{Op: "utimensat", Path: p, Err: errno}
	}
	return nil
}
