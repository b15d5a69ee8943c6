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

// Threads is the process's OS thread count.
func (d *Duet) Threads(t testing.TB) int { return d.status(t, "Threads") }

// RSSKiB is the process's resident memory in KiB.
func (d *Duet) RSSKiB(t testing.TB) int { return d.status(t, "VmRSS") }

// status reads the number of one field of /proc/PID/status ("VmRSS:   1234 kB" gives 1234).
func (d *Duet) status(t testing.TB, field string) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", d.PID()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.Atoi(strings.Fields(v)[0])
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s line in /proc/PID/status", field)
	return 0
}
