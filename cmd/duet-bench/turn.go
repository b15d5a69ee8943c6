package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"duet/internal/duettest"
)

const turnSecret = "bench-secret"

// uclientResult is what one turnutils_uclient run reported, plus the server's CPU over it.
type uclientResult struct {
	sent, recv, lost  int
	lossPct           float64
	rttAvg, rttMax    float64 // ms
	jitAvg, jitMax    float64 // ms
	wall              time.Duration
	serverCPU         float64 // s
	pps, cpuPerPacket float64 // received packets per wall second; µs of server CPU per received packet
}

var (
	ucTotals = regexp.MustCompile(`start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$`)
	ucLost   = regexp.MustCompile(`Total lost packets (\d+) \(([\d.]+)%\)`)
	ucRTT    = regexp.MustCompile(`Average round trip delay ([\d.]+) ms; min = [\d.]+ ms, max = ([\d.]+) ms`)
	ucJitter = regexp.MustCompile(`Average jitter ([\d.]+) ms; min = [\d.]+ ms, max = ([\d.]+) ms`)
)

func parseUclient(out string) (uclientResult, error) {
	var r uclientResult
	var tot, lost, rtt, jit []string
	for _, l := range strings.Split(out, "\n") {
		if m := ucTotals.FindStringSubmatch(l); m != nil && !strings.Contains(l, "msz=") {
			tot = m
		}
		if m := ucLost.FindStringSubmatch(l); m != nil {
			lost = m
		}
		if m := ucRTT.FindStringSubmatch(l); m != nil {
			rtt = m
		}
		if m := ucJitter.FindStringSubmatch(l); m != nil {
			jit = m
		}
	}
	if tot == nil || lost == nil || rtt == nil || jit == nil {
		return r, fmt.Errorf("no summary in uclient output:\n%s", tail(out, 15))
	}
	r.sent, _ = strconv.Atoi(tot[1])
	r.recv, _ = strconv.Atoi(tot[2])
	r.lost, _ = strconv.Atoi(lost[1])
	r.lossPct, _ = strconv.ParseFloat(lost[2], 64)
	r.rttAvg, _ = strconv.ParseFloat(rtt[1], 64)
	r.rttMax, _ = strconv.ParseFloat(rtt[2], 64)
	r.jitAvg, _ = strconv.ParseFloat(jit[1], 64)
	r.jitMax, _ = strconv.ParseFloat(jit[2], 64)
	return r, nil
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// turnLoad is one uclient configuration, run by procs processes at once (one uclient paces
// itself far below what a relay takes, so the rate search adds processes).
type turnLoad struct {
	name    string
	m, n, l int
	z       int
	procs   int // 0 means 1
}

func (t turnLoad) args(port int) []string {
	return []string{"-y", "-c", "-m", strconv.Itoa(t.m), "-n", strconv.Itoa(t.n), "-l", strconv.Itoa(t.l), "-z", strconv.Itoa(t.z),
		"-u", "bench", "-W", turnSecret, "-p", strconv.Itoa(port), "127.0.0.1"}
}

func (t turnLoad) String() string {
	return fmt.Sprintf("-y -c -m %d -n %d -l %d -z %d", t.m, t.n, t.l, t.z)
}

func (t turnLoad) processes() int { return max(t.procs, 1) }

// turnServer starts duet's embedded relay or coturn on a fresh port; it returns the process and port.
func (e *env) startTURN(side string) (*proc, int, error) {
	port, err := duettest.FreeUDPTCPPort()
	if err != nil {
		return nil, 0, err
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	if side == "duet" {
		p, err := e.startDuet("--turn-listen", listen, "--turn-secret", turnSecret, "--public-ip", "127.0.0.1",
			"--turn-allow-peer", "127.0.0.0/8", "--turn-max-allocations", "100000", "--relay-ports", "40000-49999",
			// Every load comes from 127.0.0.1: the per-address caps would stop it at 64.
			"--turn-max-allocations-per-ip", "100000", "--turn-max-allocations-total", "100000")
		if err == nil {
			err = duettest.STUNReady(port, 10*time.Second)
		}
		return p, port, err
	}
	dir, err := os.MkdirTemp(e.tmp, "coturn-")
	if err != nil {
		return nil, 0, err
	}
	p, err := duettest.LaunchCoturn(duettest.Coturn{Port: port, MinPort: 50000, MaxPort: 59999, Secret: turnSecret, Dir: dir})
	if err != nil {
		return nil, 0, err
	}
	return &proc{Process: p, name: "coturn"}, port, nil
}

// uclientAgainst runs one uclient load against a fresh server of side ("duet" or "coturn").
func (e *env) uclientAgainst(ctx context.Context, side string, load turnLoad) (uclientResult, error) {
	p, port, err := e.startTURN(side)
	if err != nil {
		return uclientResult{}, err
	}
	defer p.stop()
	return runUclient(ctx, p, port, load)
}

// runUclient runs one load against a server already running: its uclient processes at once, their
// counts summed and their round trip and jitter averaged.
func runUclient(ctx context.Context, p *proc, port int, load turnLoad) (uclientResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	type run struct {
		r   uclientResult
		err error
	}
	runs := make(chan run, load.processes())
	cpu0 := cpuSeconds(p.PID())
	t0 := time.Now()
	for range load.processes() {
		go func() {
			out, err := exec.CommandContext(ctx, "turnutils_uclient", load.args(port)...).CombinedOutput()
			if err != nil {
				runs <- run{err: fmt.Errorf("turnutils_uclient %s against %s: %v\n%s", load, p.name, err, tail(string(out), 15))}
				return
			}
			r, err := parseUclient(string(out))
			runs <- run{r, err}
		}()
	}
	var sum uclientResult
	var errs []error
	for range load.processes() {
		u := <-runs
		errs = append(errs, u.err)
		sum.sent, sum.recv, sum.lost = sum.sent+u.r.sent, sum.recv+u.r.recv, sum.lost+u.r.lost
		sum.rttAvg, sum.jitAvg = sum.rttAvg+u.r.rttAvg, sum.jitAvg+u.r.jitAvg
		sum.rttMax, sum.jitMax = max(sum.rttMax, u.r.rttMax), max(sum.jitMax, u.r.jitMax)
	}
	wall := time.Since(t0)
	cpu := cpuSeconds(p.PID()) - cpu0
	if err := errors.Join(errs...); err != nil {
		return uclientResult{}, err
	}
	k := float64(load.processes())
	sum.rttAvg, sum.jitAvg = sum.rttAvg/k, sum.jitAvg/k
	if sum.sent > 0 {
		sum.lossPct = float64(sum.lost) / float64(sum.sent) * 100
	}
	sum.wall, sum.serverCPU = wall, cpu
	sum.pps = float64(sum.recv) / wall.Seconds()
	if sum.recv > 0 {
		sum.cpuPerPacket = cpu / float64(sum.recv) * 1e6
	}
	return sum, nil
}

func turnSuite(ctx context.Context, e *env, c suiteConfig) (string, error) {
	if _, err := exec.LookPath("turnutils_uclient"); err != nil {
		return "", fmt.Errorf("turnutils_uclient missing (apt-get install coturn): %w", err)
	}
	var b strings.Builder
	b.WriteString("## 2. TURN relay (UDP, loopback)\n\n")
	b.WriteString("coturn's `turnutils_uclient` in client-to-client mode (`-y`: pairs of allocations sending to each other through the relay; `-c`: no RTCP allocations, as browsers with rtcp-mux) with REST credentials derived from the shared secret (`-W`), against duet's embedded relay and against coturn's `turnserver`, each a fresh process per load, alternating which goes first. Packets per second = packets received by the clients / uclient's wall time; CPU per packet = server utime+stime over the run / packets received. Medians of the repetitions.\n\n")
	loads := []turnLoad{
		{name: "1000-byte packets", m: 40, n: 1000, l: 1000, z: 0},
		{name: "160-byte packets", m: 40, n: 1000, l: 160, z: 0},
	}
	for _, load := range loads {
		var duet, coturn []uclientResult
		for r := range c.turnReps {
			order := []string{"duet", "coturn"}
			if r%2 == 1 {
				order = []string{"coturn", "duet"}
			}
			for _, side := range order {
				res, err := e.uclientAgainst(ctx, side, load)
				if err != nil {
					return b.String(), err
				}
				fmt.Fprintf(os.Stderr, "%s %s: %+v\n", side, load, res)
				if side == "duet" {
					duet = append(duet, res)
				} else {
					coturn = append(coturn, res)
				}
			}
		}
		t := table{head: []string{"metric", "duet", "coturn", "duet / coturn", "target"}}
		row := func(name, format string, get func(uclientResult) float64, target string) {
			d, p := medianOf(duet, get), medianOf(coturn, get)
			t.add(name, fmt.Sprintf(format, d), fmt.Sprintf(format, p), ratio(d, p), target)
		}
		row("packets received", "%.0f", func(r uclientResult) float64 { return float64(r.recv) }, "")
		row("loss %", "%.3f", func(r uclientResult) float64 { return r.lossPct }, "")
		row("packets per second", "%.0f", func(r uclientResult) float64 { return r.pps }, "")
		row("round trip avg (ms)", "%.3f", func(r uclientResult) float64 { return r.rttAvg }, "")
		row("round trip max (ms)", "%.0f", func(r uclientResult) float64 { return r.rttMax }, "")
		row("jitter avg (ms)", "%.3f", func(r uclientResult) float64 { return r.jitAvg }, "")
		row("server CPU (s)", "%.2f", func(r uclientResult) float64 { return r.serverCPU }, "")
		row("server CPU per packet (µs)", "%.2f", func(r uclientResult) float64 { return r.cpuPerPacket }, "≤ 0.8×")
		fmt.Fprintf(&b, "### %s: `turnutils_uclient %s`, %d repetitions\n\n%s\n", load.name, load, c.turnReps, t.String())
	}

	// The highest load before any loss: more uclient processes of 50 client pairs each, a few bounded steps.
	b.WriteString("### Highest rate before loss\n\n")
	t := table{head: []string{"uclient processes", "duet pps", "duet loss %", "duet CPU (s)", "coturn pps", "coturn loss %", "coturn CPU (s)"}}
	best := map[string]float64{}
	lossy := map[string]bool{}
	for _, procs := range []int{1, 4, 8, 12, 16, 24, 32} {
		load := turnLoad{m: 50, n: 200, l: 1000, z: 0, procs: procs}
		row := []string{strconv.Itoa(procs)}
		for _, side := range []string{"duet", "coturn"} {
			if lossy[side] {
				row = append(row, "—", "—", "—")
				continue
			}
			// A second try when the first lost packets: a stray loss at start-up is not the relay's limit.
			var res uclientResult
			for try := 0; try < 2 && (try == 0 || res.lost > 0 || res.recv != res.sent); try++ {
				var err error
				if res, err = e.uclientAgainst(ctx, side, load); err != nil {
					return b.String(), err
				}
				fmt.Fprintf(os.Stderr, "step %s %d × %s (try %d): %+v\n", side, procs, load, try+1, res)
			}
			row = append(row, fmt.Sprintf("%.0f", res.pps), fmt.Sprintf("%.3f", res.lossPct), fmt.Sprintf("%.2f", res.serverCPU))
			if res.lost == 0 && res.recv == res.sent {
				best[side] = max(best[side], res.pps)
			} else {
				lossy[side] = true
			}
		}
		t.add(row...)
		if lossy["duet"] && lossy["coturn"] {
			break
		}
	}
	fmt.Fprintf(&b, "K processes of `turnutils_uclient -y -c -m 50 -n 200 -l 1000 -z 0` at once (each paces itself at ≈ 900 packets/s), one run per step (a second when the first lost any packet; the table shows the last), stopping a server's steps at the first step lossy twice.\n\n%s\n", t.String())
	fmt.Fprintf(&b, "Highest loss-free rate: duet %.0f pps, coturn %.0f pps (%s; target ≥ 1.2×).\n", best["duet"], best["coturn"], ratio(best["duet"], best["coturn"]))
	return b.String(), nil
}
