package main

import (
	"context"
	"os/exec"

	"duet/internal/duettest"
)

// cpuSeconds is the CPU time of pid (all its threads); 0 when unknown (pid 0: no server to watch).
func cpuSeconds(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	s, _ := duettest.CPUSeconds(pid)
	return s
}

// procKiB reads a "Vm…:  N kB" line of /proc/PID/status (VmRSS, VmHWM); 0 when unknown.
func procKiB(pid int, key string) int64 {
	if pid <= 0 {
		return 0
	}
	n, _ := duettest.Status(pid, key)
	return n
}

func execOutput(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	return string(out), err
}
