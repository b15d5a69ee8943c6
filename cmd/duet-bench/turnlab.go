package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The relay lab: four network namespaces, so relayed packets cross veth devices where duet's XDP
// offload sees them (on loopback it cannot attach). A bridge joins the server, the TURN client
// (turnutils_uclient) and its peer (turnutils_peer, an echo server) on 198.18.0.0/24, a range
// reserved for benchmarks; nothing is linked to the machine's own namespace.
const (
	labServerIP = "198.18.0.1"
	labClientIP = "198.18.0.2"
	labPeerIP   = "198.18.0.3"
	labPeerPort = 3480
)

// turnLab is the built namespaces, named after this process so two runs cannot clash.
type turnLab struct{ prefix string }

func (l turnLab) ns(role string) string { return l.prefix + role }

// exec prefixes argv to run inside the namespace of role.
func (l turnLab) exec(role string, argv ...string) []string {
	return append([]string{"ip", "netns", "exec", l.ns(role)}, argv...)
}

func newTurnLab(ctx context.Context) (turnLab, error) {
	l := turnLab{prefix: fmt.Sprintf("dbench%d-", os.Getpid())}
	run := func(argv ...string) error {
		if out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, out)
		}
		return nil
	}
	steps := [][]string{{"ip", "netns", "add", l.ns("net")}}
	steps = append(steps, l.exec("net", "ip", "link", "add", "br0", "type", "bridge"), l.exec("net", "ip", "link", "set", "br0", "up"))
	for _, h := range []struct{ role, ip string }{{"srv", labServerIP}, {"cli", labClientIP}, {"peer", labPeerIP}} {
		steps = append(steps,
			[]string{"ip", "netns", "add", l.ns(h.role)},
			[]string{"ip", "-n", l.ns(h.role), "link", "add", "eth0", "type", "veth", "peer", "name", h.role, "netns", l.ns("net")},
			l.exec("net", "ip", "link", "set", h.role, "master", "br0", "up"),
			l.exec(h.role, "ip", "addr", "add", h.ip+"/24", "dev", "eth0"),
			l.exec(h.role, "ip", "link", "set", "eth0", "up"),
			l.exec(h.role, "ip", "link", "set", "lo", "up"))
		if h.role != "srv" {
			// Checksums computed in software, as a remote host's packets arrive (see internal/turn/offload).
			steps = append(steps, l.exec(h.role, "ethtool", "-K", "eth0", "tx", "off"))
		}
	}
	for _, s := range steps {
		if err := run(s...); err != nil {
			l.close()
			return l, err
		}
	}
	return l, nil
}

func (l turnLab) close() {
	for _, role := range []string{"srv", "cli", "peer", "net"} {
		_ = exec.Command("ip", "netns", "del", l.ns(role)).Run()
	}
}

// labSide is one relay under test in the lab.
type labSide struct {
	name    string
	offload string // duet's --turn-offload; "" for coturn
}

var labSides = []labSide{{"duet, kernel offload", "auto"}, {"duet, user space", "off"}, {"coturn", ""}}

var turnListeningRE = regexp.MustCompile(`turn: listening`)

// start runs the relay of side in the server namespace and waits until it answers STUN from the client's.
func (l turnLab) start(ctx context.Context, e *env, side labSide) (*proc, error) {
	var p *proc
	var err error
	if side.offload != "" {
		p, err = startProc("duet", turnListeningRE, 20*time.Second, e.root, l.exec("srv", e.duet,
			"--listen", labServerIP+":8443", "--tls-cert", e.cert, "--tls-key", e.key, "--metrics-listen", labServerIP+":9100",
			"--turn-listen", labServerIP+":3478", "--turn-secret", turnSecret, "--turn-allow-peer", labPeerIP+"/32",
			"--turn-max-allocations", "100000", "--turn-max-allocations-per-ip", "100000", "--turn-offload", side.offload)...)
	} else {
		dir, derr := os.MkdirTemp(e.tmp, "coturn-")
		if derr != nil {
			return nil, derr
		}
		p, err = startProc("coturn", nil, 20*time.Second, dir, l.exec("srv",
			"turnserver", "-n", "--use-auth-secret", "--static-auth-secret", turnSecret, "--realm", "duet",
			"--listening-ip", labServerIP, "--listening-port", "3478", "--relay-ip", labServerIP,
			"--no-cli", "--no-tls", "--no-dtls", "--min-port", "50000", "--max-port", "59999",
			"--pidfile", filepath.Join(dir, "pid"), "--log-file", "stdout", "--simple-log", "--db", filepath.Join(dir, "turndb"))...)
	}
	if err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if l.stunAnswers(ctx) {
			return p, nil
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s: no STUN answer in the lab:\n%s", side.name, p.lastLines())
		}
	}
}

// stunAnswers reports whether the relay answers a Binding request within a second (the client
// sends one and waits forever).
func (l turnLab) stunAnswers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	argv := l.exec("cli", "turnutils_stunclient", "-p", "3478", labServerIP)
	return exec.CommandContext(ctx, argv[0], argv[1:]...).Run() == nil
}

// labResult is one uclient run in the lab with the CPU of everything that moved its packets.
type labResult struct {
	uclientResult
	clientsCPU float64 // s: uclient and the echo peer (softirq work of their sends is charged to them)
	kernel     float64 // packets duet's kernel offload relayed, both ways
	perPacket  float64 // µs of server + clients CPU per received packet
}

func (l turnLab) run(ctx context.Context, e *env, side labSide, load turnLoad, peerPID int) (labResult, error) {
	p, err := l.start(ctx, e, side)
	if err != nil {
		return labResult{}, err
	}
	defer p.stop()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	args := []string{"turnutils_uclient", "-c", "-m", strconv.Itoa(load.m), "-n", strconv.Itoa(load.n), "-l", strconv.Itoa(load.l),
		"-z", strconv.Itoa(load.z), "-e", labPeerIP, "-r", strconv.Itoa(labPeerPort), "-u", "bench", "-W", turnSecret, "-p", "3478", labServerIP}
	kernel0 := l.offloaded(ctx, side)
	srv0, peer0 := cpuSeconds(p.PID()), cpuSeconds(peerPID)
	argv := l.exec("cli", args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(t0)
	srv, peer := cpuSeconds(p.PID())-srv0, cpuSeconds(peerPID)-peer0
	if err != nil {
		return labResult{}, fmt.Errorf("turnutils_uclient against %s: %v\n%s", side.name, err, tail(string(out), 15))
	}
	r, err := parseUclient(string(out))
	if err != nil {
		return labResult{}, err
	}
	var uc float64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		uc = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	}
	res := labResult{uclientResult: r, clientsCPU: uc + peer, kernel: l.offloaded(ctx, side) - kernel0}
	res.wall, res.serverCPU = wall, srv
	res.pps = float64(r.recv) / wall.Seconds()
	if r.recv > 0 {
		res.cpuPerPacket = srv / float64(r.recv) * 1e6
		res.perPacket = (srv + res.clientsCPU) / float64(r.recv) * 1e6
	}
	return res, nil
}

var offloadPacketsRE = regexp.MustCompile(`(?m)^duet_turn_offload_packets_total\{direction="\w+"\} (\S+)$`)

// offloaded reads from duet's /metrics how many packets its kernel offload relayed; 0 for coturn.
func (l turnLab) offloaded(ctx context.Context, side labSide) float64 {
	if side.offload == "" {
		return 0
	}
	argv := l.exec("cli", "curl", "-s", "http://"+labServerIP+":9100/metrics")
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).Output()
	if err != nil {
		return 0
	}
	var n float64
	for _, m := range offloadPacketsRE.FindAllStringSubmatch(string(out), -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		n += v
	}
	return n
}

// turnLabSuite measures CPU per relayed packet on the veth path: duet with and without the kernel
// offload, and coturn. Needs root (namespaces, XDP), ethtool, curl and coturn's tools.
func turnLabSuite(ctx context.Context, e *env, c suiteConfig) (string, error) {
	for _, tool := range []string{"ip", "ethtool", "curl", "turnutils_uclient", "turnutils_peer", "turnutils_stunclient", "turnserver"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("%s missing (apt-get install iproute2 ethtool curl coturn): %w", tool, err)
		}
	}
	l, err := newTurnLab(ctx)
	if err != nil {
		return "", err
	}
	defer l.close()
	peer, err := startProc("turnutils_peer", nil, 0, e.tmp, l.exec("peer", "turnutils_peer", "-p", strconv.Itoa(labPeerPort), "-L", labPeerIP)...)
	if err != nil {
		return "", err
	}
	defer peer.stop()

	var b strings.Builder
	b.WriteString("## 2b. TURN relay on a veth path (network namespaces)\n\n")
	b.WriteString("`turnutils_uclient` in a client namespace sends ChannelData through the relay in a server namespace to `turnutils_peer` (an echo server) in a peer namespace, all three on one bridge; the echoes come back the same way. Each allocation binds one channel, so with the offload every packet after the first few of each side is relayed by the XDP program. CPU per packet = (server + uclient + peer utime+stime) / packets received: the kernel's work on a relayed packet runs in softirq context, charged to whichever task it interrupts — mostly the clients sending into the veth — so the server's own CPU alone would flatter the offload; the clients' share is the same for every server. Medians of the repetitions.\n\n")
	for _, size := range []int{1000, 160} {
		load := turnLoad{m: 40, n: 1000, l: size, z: 5} // paced: at -z 0 uclient's own socket buffers overflow once the kernel relays
		results := map[string][]labResult{}
		for r := range c.turnReps {
			for i := range labSides {
				side := labSides[(i+r)%len(labSides)] // rotate which goes first
				res, err := l.run(ctx, e, side, load, peer.PID())
				if err != nil { // uclient now and then fails a channel bind on a loaded box: once more
					fmt.Fprintf(os.Stderr, "lab %s, -l %d: %v; again\n", side.name, load.l, err)
					res, err = l.run(ctx, e, side, load, peer.PID())
				}
				if err != nil {
					return b.String(), err
				}
				fmt.Fprintf(os.Stderr, "lab %s, -l %d: %+v\n", side.name, load.l, res)
				results[side.name] = append(results[side.name], res)
			}
		}
		t := table{head: []string{"metric", labSides[0].name, labSides[1].name, labSides[2].name, "offload / coturn", "target"}}
		row := func(name, format string, get func(labResult) float64, target string) {
			var cells []string
			for _, s := range labSides {
				cells = append(cells, fmt.Sprintf(format, medianOf(results[s.name], get)))
			}
			off, co := medianOf(results[labSides[0].name], get), medianOf(results[labSides[2].name], get)
			t.add(append(append([]string{name}, cells...), ratio(off, co), target)...)
		}
		row("packets received", "%.0f", func(r labResult) float64 { return float64(r.recv) }, "")
		row("relayed by the kernel", "%.0f", func(r labResult) float64 { return r.kernel }, "")
		row("loss %", "%.3f", func(r labResult) float64 { return r.lossPct }, "")
		row("packets per second", "%.0f", func(r labResult) float64 { return r.pps }, "")
		row("round trip avg (ms)", "%.3f", func(r labResult) float64 { return r.rttAvg }, "")
		row("server CPU per packet (µs)", "%.2f", func(r labResult) float64 { return r.cpuPerPacket }, "")
		row("server + clients CPU per packet (µs)", "%.2f", func(r labResult) float64 { return r.perPacket }, "offload ≤ 0.2×")
		fmt.Fprintf(&b, "### %d-byte packets: `turnutils_uclient -c -m %d -n %d -l %d -z %d -e %s`, %d repetitions\n\n%s\n",
			size, load.m, load.n, load.l, load.z, labPeerIP, c.turnReps, t.String())
	}
	return b.String(), nil
}
