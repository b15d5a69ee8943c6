package main

// Signaling across nodes: the same load as section 1 against 1, 2 and 3 duet nodes sharing one
// redis-server (--redis-url), with the two members of every room on different nodes when there are
// two or more, next to one node with rooms in memory (no Redis).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"duet/internal/duettest"
)

// nodesSetup is one configuration: k duet nodes, on one Redis or (k = 1 only) rooms in memory.
type nodesSetup struct {
	k     int
	redis bool
}

func (s nodesSetup) String() string {
	switch {
	case !s.redis:
		return "1 node, in memory"
	case s.k == 1:
		return "1 node + Redis"
	default:
		return fmt.Sprintf("%d nodes + Redis", s.k)
	}
}

// nodesResult is one run of one configuration.
type nodesResult struct {
	LoadResult
	duet  []ProcUse // one per node
	redis ProcUse   // zero without Redis
}

func (r nodesResult) duetCPU(relay bool) float64 {
	var s float64
	for _, u := range r.duet {
		if relay {
			s += u.CPURelay
		} else {
			s += u.CPUTotal
		}
	}
	return s
}

func nodesSetups(nodes []int, memory bool) ([]nodesSetup, error) {
	var out []nodesSetup
	if memory {
		out = append(out, nodesSetup{k: 1})
	}
	for _, k := range nodes {
		if k < 1 || k > 16 {
			return nil, fmt.Errorf("node count %d: want 1 to 16", k)
		}
		out = append(out, nodesSetup{k: k, redis: true})
	}
	return out, nil
}

// errNoRedis is returned when Debian's redis-server is not on PATH.
var errNoRedis = errors.New("redis-server is not installed (the nodes section needs it): apt-get install redis-server; scripts/bench.sh should install it with the other benchmark packages")

// startRedis runs a redis-server of its own on a free loopback port, without persistence, and
// waits until it answers PING.
func (e *env) startRedis() (*proc, int, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, 0, errNoRedis
	}
	var lastErr error
	for range 5 { // the free port may be taken between the probe and the bind
		port, err := duettest.FreeTCPPort()
		if err != nil {
			return nil, 0, err
		}
		dir, err := os.MkdirTemp(e.tmp, "redis-")
		if err != nil {
			return nil, 0, err
		}
		p, err := duettest.LaunchRedis(port, dir)
		if err != nil {
			lastErr = err
			continue
		}
		return &proc{Process: p, name: "redis-server"}, port, nil
	}
	return nil, 0, lastErr
}

// waitRedisOK polls /healthz until the node reports its room store in Redis as ok (connected,
// subscribed and registered).
func waitRedisOK(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		resp, err := insecure.Get("https://" + addr + "/healthz")
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			last = string(body)
			if strings.Contains(last, `"rooms":"redis ok"`) {
				return nil
			}
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: /healthz did not report redis ok within %v: %s", addr, timeout, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// oneNodesLoad starts the configuration's processes fresh, runs the load across them and stops them.
func oneNodesLoad(ctx context.Context, e *env, s nodesSetup, n, m, rep int) (nodesResult, error) {
	var procs []*proc
	defer func() {
		for i := len(procs) - 1; i >= 0; i-- { // nodes first, Redis last
			procs[i].stop()
		}
	}()
	var redis *proc
	args := append([]string{"--turn-listen", ""}, duetSignalArgs...)
	if s.redis {
		var port int
		var err error
		if redis, port, err = e.startRedis(); err != nil {
			return nodesResult{}, err
		}
		procs = append(procs, redis)
		args = append(args, "--redis-url", fmt.Sprintf("redis://127.0.0.1:%d/0", port))
	}
	var addrs []string
	var pids []int
	for range s.k {
		p, err := e.startDuet(args...)
		if err != nil {
			return nodesResult{}, err
		}
		procs = append(procs, p)
		addrs, pids = append(addrs, p.addr), append(pids, p.PID())
	}
	if s.redis {
		for _, a := range addrs {
			if err := waitRedisOK(a, 15*time.Second); err != nil {
				return nodesResult{}, err
			}
		}
	}
	time.Sleep(300 * time.Millisecond) // let start-up work settle before the idle reading
	watch := pids
	if redis != nil {
		watch = append(watch[:len(watch):len(watch)], redis.PID())
	}
	res, err := RunLoad(ctx, LoadConfig{Addrs: addrs, N: n, M: m, Watch: watch, Sources: 8, Dials: 64,
		Timeout: 60 * time.Second, Room: fmt.Sprintf("r%d", rep)})
	if len(res.Watched) < len(watch) {
		res.Watched = make([]ProcUse, len(watch))
	}
	out := nodesResult{LoadResult: res, duet: res.Watched[:s.k]}
	if redis != nil {
		out.redis = res.Watched[s.k]
	}
	// The single-server fields, over all nodes (printLoad shows them): CPU summed, RSS summed, peak the largest.
	out.CPUTotal, out.CPURelay = out.duetCPU(false), out.duetCPU(true)
	if out.Relayed > 0 {
		out.CPUPerMsgUS = out.CPURelay / float64(out.Relayed) * 1e6
	}
	for _, u := range out.duet {
		out.RSSIdleKiB += u.RSSIdleKiB
		out.RSSConnKiB += u.RSSConnKiB
		out.PeakRSSKiB = max(out.PeakRSSKiB, u.PeakRSSKiB)
	}
	out.RSSPerClientKiB = float64(out.RSSConnKiB-out.RSSIdleKiB) / float64(n)
	if err == nil && res.Errors > 0 {
		for i, pid := range pids {
			fmt.Fprintf(os.Stderr, "   %v: log of node%d (pid %d), last lines:\n%s\n", s, i+1, pid, indent(procs[len(procs)-len(pids)+i].lastLines()))
		}
	}
	if err != nil {
		var logs []string
		for _, p := range procs {
			logs = append(logs, p.name+":\n"+p.lastLines())
		}
		return out, fmt.Errorf("%v N=%d: %w\n%s", s, n, err, strings.Join(logs, "\n"))
	}
	return out, nil
}

func printNodes(name string, r nodesResult) {
	printLoad(os.Stderr, name, r.LoadResult)
	var parts []string
	for i, u := range r.duet {
		parts = append(parts, fmt.Sprintf("node%d CPU %.2fs (relay %.2fs) peak %d KiB", i+1, u.CPUTotal, u.CPURelay, u.PeakRSSKiB))
	}
	if r.redis.PID != 0 {
		parts = append(parts, fmt.Sprintf("redis CPU %.2fs (relay %.2fs) peak %d KiB", r.redis.CPUTotal, r.redis.CPURelay, r.redis.PeakRSSKiB))
	}
	fmt.Fprintf(os.Stderr, "   %s\n", strings.Join(parts, " | "))
}

// nodesSection runs every configuration reps times, rotating which goes first in each repetition,
// and returns the markdown section.
func nodesSection(ctx context.Context, e *env, n, m, reps int, setups []nodesSetup) (string, error) {
	if n < 2 || n%2 != 0 {
		return "", fmt.Errorf("nodes: want an even N >= 2, got %d", n)
	}
	for _, s := range setups {
		if s.redis {
			if _, err := exec.LookPath("redis-server"); err != nil {
				return "", errNoRedis
			}
			break
		}
	}
	results := make([][]nodesResult, len(setups))
	var firstErr error
	for r := range reps {
		for j := range setups {
			i := (j + r) % len(setups)
			res, err := oneNodesLoad(ctx, e, setups[i], n, m, r)
			if err != nil {
				return "", err
			}
			printNodes(setups[i].String(), res)
			if res.Errors > 0 && firstErr == nil {
				firstErr = fmt.Errorf("%v at N=%d: %d errors, first: %v", setups[i], n, res.Errors, res.FirstErrors)
			}
			results[i] = append(results[i], res)
		}
	}
	var b strings.Builder
	b.WriteString("## 6. Signaling across nodes (one shared Redis)\n\n")
	fmt.Fprintf(&b, "The load of section 1 (N = %d clients in %d rooms, M = %d messages each, TLS websockets) against k duet nodes sharing one `redis-server` (`--redis-url redis://127.0.0.1:P/0`, no persistence), and against one node with rooms in memory (no `--redis-url`) as the baseline. With k ≥ 2 the two members of every room sit on **different** nodes (room p: nodes p mod k and p+1 mod k), so every join outcome and every message crosses Redis (EVALSHA + PUBLISH to the other node). Every process fresh in every repetition, the configurations rotated in order; medians of %d repetitions. duet CPU is utime+stime summed over all nodes, from before connecting to after the last leave; CPU per relayed message is (all nodes + Redis) over the message phase / messages relayed; peak RSS is each process's VmHWM.\n\n", n, n/2, m, reps)
	b.WriteString("**All processes (the nodes, Redis and the load generator) share the same 2 cores**: more nodes cannot mean more throughput on this box. The columns show what the shared store costs (the extra hop, Redis's CPU, the nodes' Redis client work), not scale-out capacity.\n\n")
	b.WriteString(nodesTable(setups, results))
	return b.String(), firstErr
}

func nodesTable(setups []nodesSetup, results [][]nodesResult) string {
	head := []string{"metric"}
	for _, s := range setups {
		head = append(head, s.String())
	}
	t := table{head: head}
	row := func(name string, cell func(rs []nodesResult) string) {
		cells := []string{name}
		for _, rs := range results {
			cells = append(cells, cell(rs))
		}
		t.add(cells...)
	}
	num := func(get func(nodesResult) float64, format string) func([]nodesResult) string {
		return func(rs []nodesResult) string { return fmt.Sprintf(format, medianOf(rs, get)) }
	}
	msOf := func(get func(nodesResult) time.Duration) func([]nodesResult) string {
		return func(rs []nodesResult) string {
			return fmtMS(medianOf(rs, func(r nodesResult) float64 { return get(r).Seconds() * 1e3 }))
		}
	}
	mib := func(kib float64) string { return fmt.Sprintf("%.0f", kib/1024) }
	row("joins per second", num(func(r nodesResult) float64 { return r.JoinsPerSec }, "%.0f"))
	row("messages relayed per second", num(func(r nodesResult) float64 { return r.MsgsPerSec }, "%.0f"))
	base := results[0]
	row("messages per second vs first column", func(rs []nodesResult) string {
		return ratio(medianOf(rs, func(r nodesResult) float64 { return r.MsgsPerSec }), medianOf(base, func(r nodesResult) float64 { return r.MsgsPerSec }))
	})
	row("join latency p50", msOf(func(r nodesResult) time.Duration { return r.JoinP50 }))
	row("join latency p99", msOf(func(r nodesResult) time.Duration { return r.JoinP99 }))
	row("relay latency p50", msOf(func(r nodesResult) time.Duration { return r.RelayP50 }))
	row("relay latency p99", msOf(func(r nodesResult) time.Duration { return r.RelayP99 }))
	row("duet CPU, all nodes, whole run", num(func(r nodesResult) float64 { return r.duetCPU(false) }, "%.2f s"))
	row("redis-server CPU, whole run", func(rs []nodesResult) string {
		if rs[0].redis.PID == 0 {
			return "—"
		}
		return fmt.Sprintf("%.2f s", medianOf(rs, func(r nodesResult) float64 { return r.redis.CPUTotal }))
	})
	row("CPU per relayed message, nodes + Redis", num(func(r nodesResult) float64 {
		if r.Relayed == 0 {
			return 0
		}
		return (r.duetCPU(true) + r.redis.CPURelay) / float64(r.Relayed) * 1e6
	}, "%.1f µs"))
	row("… of which the duet nodes", num(func(r nodesResult) float64 {
		if r.Relayed == 0 {
			return 0
		}
		return r.duetCPU(true) / float64(r.Relayed) * 1e6
	}, "%.1f µs"))
	row("… of which redis-server", func(rs []nodesResult) string {
		if rs[0].redis.PID == 0 {
			return "—"
		}
		return fmt.Sprintf("%.1f µs", medianOf(rs, func(r nodesResult) float64 {
			if r.Relayed == 0 {
				return 0
			}
			return r.redis.CPURelay / float64(r.Relayed) * 1e6
		}))
	})
	row("duet peak RSS per node (MiB)", func(rs []nodesResult) string {
		var parts []string
		for i := range rs[0].duet {
			parts = append(parts, mib(medianOf(rs, func(r nodesResult) float64 { return float64(r.duet[i].PeakRSSKiB) })))
		}
		return strings.Join(parts, " / ")
	})
	row("redis-server peak RSS", func(rs []nodesResult) string {
		if rs[0].redis.PID == 0 {
			return "—"
		}
		return mib(medianOf(rs, func(r nodesResult) float64 { return float64(r.redis.PeakRSSKiB) })) + " MiB"
	})
	row("clients per node (rooms split across two nodes)", func(rs []nodesResult) string {
		k, n := len(rs[0].duet), rs[0].N
		cfg := LoadConfig{Addrs: make([]string, k)}
		for i := range cfg.Addrs {
			cfg.Addrs[i] = strconv.Itoa(i)
		}
		count, split := make(map[string]int), 0
		for i := range n {
			count[cfg.addrOf(i)]++
			if i%2 == 1 && cfg.addrOf(i) != cfg.addrOf(i-1) {
				split++
			}
		}
		var parts []string
		for _, a := range cfg.Addrs {
			parts = append(parts, strconv.Itoa(count[a]))
		}
		return fmt.Sprintf("%s (%d)", strings.Join(parts, " / "), split)
	})
	row("errors / relayed of expected (all reps)", func(rs []nodesResult) string {
		var e, rel, exp int
		for _, r := range rs {
			e, rel, exp = e+r.Errors, rel+r.Relayed, exp+r.Expected
		}
		return fmt.Sprintf("%d / %d of %d", e, rel, exp)
	})
	return t.String()
}

func fmtMS(v float64) string {
	if v < 100 {
		return fmt.Sprintf("%.2f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}

// newEnv resolves the duet binary and the repository root and writes the shared certificate into a
// temporary directory, which cleanup removes.
func newEnv(duet, root string) (e *env, cleanup func(), err error) {
	if root, err = filepath.Abs(root); err != nil {
		return nil, nil, err
	}
	if duet, err = filepath.Abs(duet); err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(duet); err != nil {
		return nil, nil, fmt.Errorf("duet binary: %w (run make build)", err)
	}
	tmp, err := os.MkdirTemp("", "duet-bench-")
	if err != nil {
		return nil, nil, err
	}
	e = &env{duet: duet, root: root, tmp: tmp}
	if e.cert, e.key, err = duettest.WriteCert(tmp); err != nil {
		os.RemoveAll(tmp)
		return nil, nil, err
	}
	return e, func() { os.RemoveAll(tmp) }, nil
}

// nodesCmd is `duet-bench nodes`: the across-nodes section alone.
func nodesCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("nodes", flag.ExitOnError)
	duet := fs.String("duet", "bin/duet", "duet binary (built by make build)")
	root := fs.String("root", ".", "repository root")
	n := fs.Int("n", 2000, "clients (even): N/2 rooms")
	m := fs.Int("m", 10, "messages each client sends")
	reps := fs.Int("reps", 3, "repetitions of every configuration")
	nodes := fs.String("nodes", "1,2,3", "node counts to run on one shared Redis")
	memory := fs.Bool("memory", true, "also run one node with rooms in memory (no Redis) as the baseline")
	out := fs.String("out", "", "also write the markdown section here")
	_ = fs.Parse(args)
	ks, err := intList(*nodes)
	if err != nil {
		return err
	}
	setups, err := nodesSetups(ks, *memory)
	if err != nil {
		return err
	}
	e, cleanup, err := newEnv(*duet, *root)
	if err != nil {
		return err
	}
	defer cleanup()
	t0 := time.Now()
	s, err := nodesSection(ctx, e, *n, *m, *reps, setups)
	s += fmt.Sprintf("\n_nodes took %v._\n", time.Since(t0).Round(time.Second))
	fmt.Print(s)
	if *out != "" {
		if werr := os.WriteFile(*out, []byte(s), 0o644); werr != nil {
			return errors.Join(err, werr)
		}
	}
	return err
}

func indent(s string) string { return "      " + strings.ReplaceAll(s, "\n", "\n      ") }
