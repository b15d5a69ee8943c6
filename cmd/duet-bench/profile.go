package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

var perfCols = regexp.MustCompile(`\s+-\s+-\s*$`)

// perfTop records pid with perf while work runs and returns perf report's top self-time symbols.
func perfTop(ctx context.Context, dir, name string, pid int, work func() error) (string, error) {
	if _, err := exec.LookPath("perf"); err != nil {
		return "", fmt.Errorf("perf missing (apt-get install linux-perf): %w", err)
	}
	data := filepath.Join(dir, name+".perf.data")
	rec := exec.CommandContext(ctx, "perf", "record", "-F", "499", "-g", "-p", fmt.Sprint(pid), "-o", data)
	rec.Stdout, rec.Stderr = nil, nil
	if err := rec.Start(); err != nil {
		return "", err
	}
	time.Sleep(300 * time.Millisecond)
	werr := work()
	_ = rec.Process.Signal(syscall.SIGINT)
	_ = rec.Wait()
	if werr != nil {
		return "", werr
	}
	out, err := exec.CommandContext(ctx, "perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none",
		"--sort", "symbol", "--percent-limit", "1.2").Output()
	if err != nil {
		return "", fmt.Errorf("perf report: %w", err)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if t := strings.TrimSpace(perfCols.ReplaceAllString(l, "")); t != "" && !strings.HasPrefix(t, "#") {
			lines = append(lines, t)
		}
		if len(lines) == 25 {
			break
		}
	}
	return strings.Join(lines, "\n"), nil
}

// profileSuite profiles duet under the largest signaling load and under relay load.
func profileSuite(ctx context.Context, e *env, c suiteConfig) (string, error) {
	var b strings.Builder
	b.WriteString("## Profiles (duet)\n\n")
	n := c.sizes[len(c.sizes)-1]
	p, err := e.startDuet(append([]string{"--turn-listen", ""}, duetSignalArgs...)...)
	if err != nil {
		return "", err
	}
	var res LoadResult
	top, err := perfTop(ctx, e.tmp, "signal", p.PID(), func() error {
		var err error
		res, err = RunLoad(ctx, LoadConfig{Addr: p.addr, N: n, M: c.m, PID: p.PID(), Sources: 8, Dials: 64, Timeout: 60 * time.Second, Room: "perf"})
		return err
	})
	p.stop()
	if err != nil {
		return b.String(), err
	}
	fmt.Fprintf(&b, "### Signaling, N = %d, M = %d (`perf record -F 499 -g -p PID`, whole run incl. TLS handshakes; `perf report --no-children --sort symbol`)\n\n```\n%s\n```\n\n", n, c.m, top)
	printLoad(os.Stderr, "duet (perf)", res)

	tp, port, err := e.startTURN("duet")
	if err != nil {
		return b.String(), err
	}
	top, err = perfTop(ctx, e.tmp, "turn", tp.PID(), func() error {
		_, err := runUclient(ctx, tp, port, turnLoad{m: 40, n: 250, l: 1000})
		return err
	})
	tp.stop()
	if err != nil {
		return b.String(), err
	}
	fmt.Fprintf(&b, "### TURN relay, `turnutils_uclient -y -c -m 40 -n 250 -l 1000 -z 0`\n\n```\n%s\n```\n\n", top)
	return b.String(), nil
}

// microSuite runs the go test micro-benchmarks of the hot paths.
func microSuite(ctx context.Context, e *env) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "1", "./internal/sio", "./internal/signal", "./internal/turn")
	cmd.Dir = e.root
	out, err := cmd.CombinedOutput()
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "Benchmark") || strings.HasPrefix(l, "pkg:") {
			lines = append(lines, l)
		}
	}
	s := "## 5. Micro-benchmarks (`go test -run '^$' -bench . -benchmem ./internal/sio ./internal/signal ./internal/turn`)\n\n```\n" + strings.Join(lines, "\n") + "\n```\n"
	if err != nil {
		return s, fmt.Errorf("go test -bench: %v\n%s", err, tail(string(out), 20))
	}
	return s, nil
}
