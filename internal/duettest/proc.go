package duettest

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// PID is the process id of the running duet, for reading /proc.
func (d *Duet) PID() int { return d.cmd.Process.Pid }

// OpenFiles counts the file descriptors the process holds now (Linux /proc).
func (d *Duet) OpenFiles(t testing.TB) int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", d.PID()))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// Threads is the process's OS thread count from /proc/PID/status.
func (d *Duet) Threads(t testing.TB) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", d.PID()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads line in /proc/PID/status")
	return 0
}
