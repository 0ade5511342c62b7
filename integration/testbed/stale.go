package testbed

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// stateDirPattern names the state directories Start creates in os.TempDir().
const stateDirPattern = "envbuild-testbed-"

// ownerFile records which process created a temporary state directory.
const ownerFile = "owner"

// processIdentity is "PID STARTTIME" for pid (start time in clock ticks
// since boot, from /proc/PID/stat), which a reused PID does not repeat.
func processIdentity(pid int) (string, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", err
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return "", fmt.Errorf("reading /proc/%d/stat: no command name", pid)
	}
	// Fields after the command name start at field 3 (state); starttime is field 22.
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 20 {
		return "", fmt.Errorf("reading /proc/%d/stat: %d fields", pid, len(fields))
	}
	return strconv.Itoa(pid) + " " + fields[19], nil
}

// writeOwner records the current process as the creator of dir.
func writeOwner(dir string) error {
	id, err := processIdentity(os.Getpid())
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ownerFile), []byte(id+"\n"), 0o644)
}

// removeStaleStateDirs removes state directories in tmp left by test
// processes that died without stopping their bed (a test timeout, a
// SIGKILL): their creator is gone and no running process names the
// directory on its command line. Their daemons died with their creator.
func removeStaleStateDirs(tmp string, logf func(string, ...any)) {
	dirs, _ := filepath.Glob(filepath.Join(tmp, stateDirPattern+"*"))
	if len(dirs) == 0 {
		return
	}
	var cmdlines []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if data, err := os.ReadFile(p); err == nil {
			cmdlines = append(cmdlines, string(data))
		}
	}
	for _, dir := range dirs {
		owner, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // not made by Start, or still being created
		}
		var pid int
		if _, err := fmt.Sscanf(string(owner), "%d", &pid); err != nil {
			continue
		}
		if id, err := processIdentity(pid); err == nil && id == strings.TrimSpace(string(owner)) {
			continue // its creator still runs
		}
		inUse := false
		for _, c := range cmdlines {
			if strings.Contains(c, dir+"/") {
				inUse = true
				break
			}
		}
		if inUse {
			continue
		}
		if err := unmountUnder(dir); err == nil {
			if err := os.RemoveAll(dir); err == nil {
				logf("removed stale state directory %s", dir)
			}
		}
	}
}
