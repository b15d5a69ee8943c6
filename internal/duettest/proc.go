package duettest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every Linux this runs on.
const clockTicks = 100

// CPUSeconds is the user and system CPU time pid has used, all its threads (/proc/PID/stat).
func CPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces: the fields start after the last ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	// After ')': state, ppid, … utime is the 12th and stime the 13th.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q, stime %q", pid, f[11], f[12])
	}
	return float64(ut+st) / clockTicks, nil
}

// Status reads the number of one field of /proc/PID/status ("VmRSS:   1234 kB" gives 1234).
func Status(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s line in /proc/%d/status", field, pid)
}

// OpenFiles counts the file descriptors pid holds now.
func OpenFiles(pid int) (int, error) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(entries), err
}

// OpenFiles counts the file descriptors the process holds now.
func (p *Process) OpenFiles(t testing.TB) int {
	t.Helper()
	n, err := OpenFiles(p.PID())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Threads is the process's OS thread count.
func (p *Process) Threads(t testing.TB) int { t.Helper(); return p.status(t, "Threads") }

// RSSKiB is the process's resident memory in KiB.
func (p *Process) RSSKiB(t testing.TB) int { t.Helper(); return p.status(t, "VmRSS") }

func (p *Process) status(t testing.TB, field string) int {
	t.Helper()
	n, err := Status(p.PID(), field)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}
