package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"duet/internal/duettest"
)

type suiteConfig struct {
	duet, root, out, only string
	sizes, reps           []int
	m                     int
	turnReps, callReps    int
	perf                  bool
	nodesN, nodesReps     int
	nodes                 []int
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func suiteCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("suite", flag.ExitOnError)
	var c suiteConfig
	var sizes, reps, nodes string
	fs.StringVar(&c.duet, "duet", "bin/duet", "duet binary (built by make build)")
	fs.StringVar(&c.root, "root", ".", "repository root (bench/peers/server.js is found there)")
	fs.StringVar(&c.out, "out", "bench/results.md", "markdown written here")
	fs.StringVar(&c.only, "only", "signal,turn,call,relaycall,footprint,micro,nodes,profile", "sections to run (profile needs -perf; turnlab, the relay across network namespaces, needs root and is not in the default)")
	fs.StringVar(&sizes, "sizes", "200,2000,10000", "signaling clients N per size")
	fs.StringVar(&reps, "reps", "5,3,3", "repetitions per size (each runs both servers, alternating)")
	fs.IntVar(&c.m, "m", 10, "messages each client sends")
	fs.IntVar(&c.turnReps, "turn-reps", 3, "repetitions of each relay load")
	fs.IntVar(&c.callReps, "call-reps", 10, "call set-ups per mode")
	fs.IntVar(&c.nodesN, "nodes-n", 2000, "clients N of the across-nodes section")
	fs.IntVar(&c.nodesReps, "nodes-reps", 2, "repetitions of each across-nodes configuration")
	fs.StringVar(&nodes, "nodes", "1,2,3", "duet node counts on one shared Redis (plus the in-memory baseline)")
	fs.BoolVar(&c.perf, "perf", false, "also profile duet with perf record at the largest size and under relay load")
	_ = fs.Parse(args)
	var err error
	if c.sizes, err = intList(sizes); err != nil {
		return err
	}
	if c.reps, err = intList(reps); err != nil {
		return err
	}
	if c.nodes, err = intList(nodes); err != nil {
		return err
	}
	for len(c.reps) < len(c.sizes) {
		c.reps = append(c.reps, c.reps[len(c.reps)-1])
	}
	if c.root, err = filepath.Abs(c.root); err != nil {
		return err
	}
	if c.duet, err = filepath.Abs(c.duet); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "duet-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	e := &env{duet: c.duet, root: c.root, tmp: tmp}
	if e.cert, e.key, err = duettest.WriteCert(tmp); err != nil {
		return err
	}

	start := time.Now()
	var md strings.Builder
	md.WriteString(machine(ctx))
	emit := func(section string) {
		fmt.Print(section)
		md.WriteString(section)
	}
	want := func(s string) bool { return strings.Contains(","+c.only+",", ","+s+",") }
	var errs []string
	run := func(name string, f func() (string, error)) {
		if !want(name) {
			return
		}
		t0 := time.Now()
		fmt.Fprintf(os.Stderr, "== %s\n", name)
		s, err := f()
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", name, err))
			s += fmt.Sprintf("\n**%s did not complete:** %v\n", name, err)
		}
		emit(s + fmt.Sprintf("\n_%s took %v._\n\n", name, time.Since(t0).Round(time.Second)))
	}
	run("signal", func() (string, error) { return signalSuite(ctx, e, c) })
	run("turn", func() (string, error) { return turnSuite(ctx, e, c) })
	run("turnlab", func() (string, error) { return turnLabSuite(ctx, e, c) })
	run("call", func() (string, error) { return callSuite(ctx, e, c) })
	run("relaycall", func() (string, error) { return relayCallSuite(ctx, e, c) })
	run("footprint", func() (string, error) { return footprintSuite(ctx, e, c) })
	run("micro", func() (string, error) { return microSuite(ctx, e) })
	run("nodes", func() (string, error) {
		setups, err := nodesSetups(c.nodes, true)
		if err != nil {
			return "", err
		}
		return nodesSection(ctx, e, c.nodesN, c.m, c.nodesReps, setups)
	})
	if c.perf {
		run("profile", func() (string, error) { return profileSuite(ctx, e, c) })
	}
	emit(fmt.Sprintf("_Whole suite: %v._\n", time.Since(start).Round(time.Second)))
	if c.out != "" {
		if err := os.WriteFile(c.out, []byte(md.String()), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", c.out)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// machine describes the box and the tool versions.
func machine(ctx context.Context) string {
	sh := func(name string, args ...string) string {
		out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
		if err != nil {
			return "(" + name + " unavailable)"
		}
		return strings.TrimSpace(string(out))
	}
	model := "?"
	for _, l := range strings.Split(sh("lscpu"), "\n") {
		if v, ok := strings.CutPrefix(l, "Model name:"); ok {
			model = strings.TrimSpace(v)
		}
	}
	chromium := sh("/usr/bin/chromium", "--version")
	if i := strings.LastIndexByte(chromium, '\n'); i >= 0 {
		chromium = chromium[i+1:] // Debian's wrapper script may print a warning first
	}
	coturn := sh("turnserver", "--version")
	if i := strings.IndexByte(coturn, '\n'); i > 0 {
		coturn = coturn[:i]
	}
	redisVersion := sh("redis-server", "--version") // "Redis server v=7.0.15 sha=… malloc=… bits=64 build=…"
	if f := strings.Fields(redisVersion); len(f) >= 3 && strings.HasPrefix(f[2], "v=") {
		redisVersion = strings.TrimPrefix(f[2], "v=")
	}
	return fmt.Sprintf("## Machine\n\n| | |\n| --- | --- |\n| CPUs (`nproc`) | %s |\n| CPU (`lscpu`) | %s |\n| kernel | %s |\n| Go | %s |\n| Node.js | %s |\n| socket.io (peer) | %s |\n| coturn | %s |\n| redis-server | %s |\n| Chromium | %s |\n| date | %s |\n\n",
		sh("nproc"), model, sh("uname", "-r"), strings.TrimPrefix(sh("go", "version"), "go version "), sh("node", "--version"),
		sh("node", "-p", "require('./bench/peers/node_modules/socket.io/package.json').version"), coturn,
		redisVersion, chromium, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
}

// signalSuite runs the load at each size against duet and the Node peer, alternating which goes first.
func signalSuite(ctx context.Context, e *env, c suiteConfig) (string, error) {
	if err := ensureNodeDeps(ctx, e.root); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("## 1. Signaling load (Socket.IO over TLS websockets)\n\n")
	fmt.Fprintf(&b, "N clients in N/2 rooms; each pair joins, exchanges offer/answer then candidates ping-pong until each client sent M = %d messages, leaves. Medians of the repetitions; both servers run in every repetition, alternating which goes first, each as a fresh process. CPU per message is the server's utime+stime over the message phase divided by the messages relayed; peak RSS is VmHWM; RSS per client is (VmRSS with all N joined − VmRSS before connecting) / N.\n\n", c.m)
	var firstErr error
	for i, n := range c.sizes {
		var duet, node []LoadResult
		for r := range c.reps[i] {
			order := []string{"duet", "node"}
			if r%2 == 1 {
				order = []string{"node", "duet"}
			}
			for _, side := range order {
				res, err := oneLoad(ctx, e, side, n, c.m, r)
				if err != nil {
					return b.String(), err
				}
				printLoad(os.Stderr, side, res)
				if res.Errors > 0 && firstErr == nil {
					firstErr = fmt.Errorf("%s at N=%d: %d errors, first: %v", side, n, res.Errors, res.FirstErrors)
				}
				if side == "duet" {
					duet = append(duet, res)
				} else {
					node = append(node, res)
				}
			}
		}
		b.WriteString(loadTable(n, c.m, duet, node))
	}
	return b.String(), firstErr
}

func oneLoad(ctx context.Context, e *env, side string, n, m, rep int) (LoadResult, error) {
	var p *proc
	var err error
	if side == "duet" {
		p, err = e.startDuet(append([]string{"--turn-listen", ""}, duetSignalArgs...)...)
	} else {
		p, err = e.startNode()
	}
	if err != nil {
		return LoadResult{}, err
	}
	defer p.stop()
	time.Sleep(300 * time.Millisecond) // let start-up work settle before the idle reading
	res, err := RunLoad(ctx, LoadConfig{Addr: p.addr, N: n, M: m, PID: p.PID(), Sources: 8, Dials: 64,
		Timeout: 60 * time.Second, Room: fmt.Sprintf("r%d", rep)})
	if err != nil {
		return res, fmt.Errorf("%s N=%d: %w\n%s", side, n, err, p.lastLines())
	}
	return res, nil
}

func loadTable(n, m int, duet, node []LoadResult) string {
	t := table{head: []string{"metric", "duet", "Node socket.io", "duet / Node", "target"}}
	f := func(name, unit string, scale float64, get func(LoadResult) float64, target string) {
		d, p := medianOf(duet, get), medianOf(node, get)
		format := "%.0f%s"
		if d*scale < 100 || p*scale < 100 {
			format = "%.2f%s"
		}
		t.add(name, fmt.Sprintf(format, d*scale, unit), fmt.Sprintf(format, p*scale, unit), ratio(d, p), target)
	}
	big := n >= 2000
	tgt := func(s string) string {
		if big {
			return s
		}
		return ""
	}
	f("joins per second", "", 1, func(r LoadResult) float64 { return r.JoinsPerSec }, "")
	f("messages relayed per second", "", 1, func(r LoadResult) float64 { return r.MsgsPerSec }, "")
	f("join latency p50", " ms", 1e3, func(r LoadResult) float64 { return r.JoinP50.Seconds() }, "")
	f("join latency p99", " ms", 1e3, func(r LoadResult) float64 { return r.JoinP99.Seconds() }, "")
	f("relay latency p50", " ms", 1e3, func(r LoadResult) float64 { return r.RelayP50.Seconds() }, "")
	f("relay latency p99", " ms", 1e3, func(r LoadResult) float64 { return r.RelayP99.Seconds() }, tgt("≤ 0.5×"))
	f("server CPU per relayed message", " µs", 1, func(r LoadResult) float64 { return r.CPUPerMsgUS }, tgt("≤ 0.5×"))
	f("server CPU, whole run", " s", 1, func(r LoadResult) float64 { return r.CPUTotal }, "")
	f("server peak RSS (VmHWM)", " MiB", 1.0/1024, func(r LoadResult) float64 { return float64(r.PeakRSSKiB) }, tgt("≤ 0.5×"))
	f("server RSS idle", " MiB", 1.0/1024, func(r LoadResult) float64 { return float64(r.RSSIdleKiB) }, "")
	perClient := ""
	if n >= 10000 {
		perClient = "< 20 KiB (duet)"
	}
	f("server RSS per connected client", " KiB", 1, func(r LoadResult) float64 { return r.RSSPerClientKiB }, perClient)
	if medianOf(duet, func(r LoadResult) float64 { return r.Goroutines }) > 0 {
		per := func(get func(LoadResult) float64) string {
			return fmt.Sprintf("%.1f", medianOf(duet, func(r LoadResult) float64 { return get(r) / float64(r.N) }))
		}
		t.add("duet per client: goroutines / heap KiB / stack KiB", per(func(r LoadResult) float64 { return r.Goroutines })+" / "+
			per(func(r LoadResult) float64 { return r.HeapInuseKiB })+" / "+per(func(r LoadResult) float64 { return r.StackInuseKiB }), "", "", "")
	}
	errs := func(rs []LoadResult) (e, rel, exp int) {
		for _, r := range rs {
			e += r.Errors
			rel += r.Relayed
			exp += r.Expected
		}
		return
	}
	de, dr, dx := errs(duet)
	ne, nr, nx := errs(node)
	t.add("errors / relayed of expected (all reps)", fmt.Sprintf("%d / %d of %d", de, dr, dx), fmt.Sprintf("%d / %d of %d", ne, nr, nx), "", "0 errors")
	return fmt.Sprintf("### N = %d clients (%d rooms), M = %d, %d repetitions\n\n%s\n", n, n/2, m, len(duet), t.String())
}
