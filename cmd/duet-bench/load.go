package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"duet/internal/sio"
)

// LoadConfig is one signaling load run: N clients in N/2 rooms, each client sending M messages.
type LoadConfig struct {
	Addr    string        // host:port of the HTTPS server
	N, M    int           // clients (even), messages each client sends
	PID     int           // the server's pid, for /proc readings (0: none)
	Sources int           // loopback source addresses 127.0.0.1 … 127.0.0.<Sources> the clients spread over
	Dials   int           // connections opened at once
	Timeout time.Duration // the longest wait for any one answer
	Room    string        // room name prefix (runs against one server must not collide)
	// Addrs, when set, are several servers sharing rooms (duet nodes on one Redis): the two members
	// of room p connect to Addrs[p%k] and Addrs[(p+1)%k], so with k >= 2 every room spans two nodes.
	Addrs []string
	Watch []int // more pids (the other nodes, redis-server) whose CPU and peak RSS are read
}

// ProcUse is what one watched process spent over a run.
type ProcUse struct {
	PID        int
	CPUTotal   float64 // utime+stime over the whole run (connect to disconnect), seconds
	CPURelay   float64 // over the message phase only
	PeakRSSKiB int64   // VmHWM at the end (since the process started)
	RSSIdleKiB int64   // VmRSS before connecting
	RSSConnKiB int64   // VmRSS with all N joined
}

// LoadResult is what one run measured.
type LoadResult struct {
	N, M                    int
	Connect, Join, Relay    time.Duration // wall time of each phase
	JoinsPerSec, MsgsPerSec float64
	JoinP50, JoinP99        time.Duration
	RelayP50, RelayP99      time.Duration
	Relayed, Expected       int
	Errors                  int
	FirstErrors             []string
	RSSIdleKiB, RSSConnKiB  int64   // server VmRSS before connecting and with all N joined
	PeakRSSKiB              int64   // server VmHWM at the end
	CPUTotal, CPURelay      float64 // server CPU seconds: whole run, message phase only
	CPUPerMsgUS             float64 // CPURelay per relayed message, microseconds
	RSSPer1000KiB           float64 // (RSSConn-RSSIdle) per 1 000 connected clients
	RSSPerClientKiB         float64
	GenCPURelay             float64 // the generator's own CPU seconds over the message phase
	// From duet's /metrics with all N joined (Go runtime gauges); zero for servers without it.
	Goroutines, HeapInuseKiB, StackInuseKiB float64
	Watched                                 []ProcUse // one per LoadConfig.Watch, same order
}

// addrOf is the server client i connects to: clients 2p and 2p+1 are the two members of room p.
func (cfg *LoadConfig) addrOf(i int) string {
	k := len(cfg.Addrs)
	if k == 0 {
		return cfg.Addr
	}
	p := i / 2
	return cfg.Addrs[(p+i%2)%k]
}

// Shapes of the classic payloads (docs/protocol.md); "seq" and "ts" are added for checking and latency.
var (
	sdpBody = func() string {
		s := `v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS stream\r\n`
		for _, m := range []string{"audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126", "video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107 108 109 127 125 39 40 45 46 98 99 100 101 112 113 116 117 118"} {
			s += `m=` + m + `\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:Qz7b\r\na=ice-pwd:7k8dPBd0m8J1nQ3yXxI1nDTK\r\na=ice-options:trickle\r\na=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:9E:2A:1F:7D:3D:7E:2B:6C:8A:1F:4B:8F\r\na=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtcp-rsize\r\n`
			for i := 0; i < 12; i++ {
				s += `a=rtpmap:` + strconv.Itoa(96+i) + ` VP8/90000\r\na=rtcp-fb:` + strconv.Itoa(96+i) + ` goog-remb\r\na=rtcp-fb:` + strconv.Itoa(96+i) + ` transport-cc\r\na=rtcp-fb:` + strconv.Itoa(96+i) + ` nack pli\r\n`
			}
		}
		return s
	}()
	candidateBody = `"candidate:842163049 1 udp 1677729535 192.0.2.10 54321 typ srflx raddr 10.0.0.2 rport 54321 generation 0 ufrag Qz7b network-id 1 network-cost 10"`
)

func payload(kind string, seq int) json.RawMessage {
	var b []byte
	switch kind {
	case "offer", "answer":
		b = append(b, `{"type":"`+kind+`","sdp":"`+sdpBody+`"`...)
	default:
		b = append(b, `{"type":"candidate","label":0,"id":"0","candidate":`+candidateBody...)
	}
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, int64(seq), 10)
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, time.Now().UnixNano(), 10)
	return append(b, '}')
}

type failures struct {
	n     atomic.Int64
	mu    sync.Mutex
	first []string
}

func (f *failures) add(err error) {
	f.n.Add(1)
	f.mu.Lock()
	if len(f.first) < 5 {
		f.first = append(f.first, err.Error())
	}
	f.mu.Unlock()
}

// latencies gathers durations from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d ...time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d...)
	l.mu.Unlock()
}

func (l *latencies) pct(p float64) time.Duration {
	if len(l.d) == 0 {
		return 0
	}
	slices.Sort(l.d)
	return l.d[min(len(l.d)-1, int(p*float64(len(l.d))))]
}

// RunLoad connects N clients, pairs them into N/2 rooms, has each pair exchange M messages each way
// (offer, answer, then candidates, ping-pong), leaves, and disconnects.
func RunLoad(ctx context.Context, cfg LoadConfig) (LoadResult, error) {
	if cfg.N < 2 || cfg.N%2 != 0 || cfg.M < 1 {
		return LoadResult{}, fmt.Errorf("want an even N >= 2 and M >= 1, got N=%d M=%d", cfg.N, cfg.M)
	}
	cfg.Sources = max(1, min(cfg.Sources, 250))
	cfg.Dials = max(1, cfg.Dials)
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Room == "" {
		cfg.Room = "bench"
	}
	res := LoadResult{N: cfg.N, M: cfg.M, Expected: cfg.N * cfg.M}
	var fails failures
	cpu0 := cpuSeconds(cfg.PID)
	res.RSSIdleKiB = procKiB(cfg.PID, "VmRSS")
	res.Watched = make([]ProcUse, len(cfg.Watch))
	watchCPU := func() []float64 {
		v := make([]float64, len(cfg.Watch))
		for j, pid := range cfg.Watch {
			v[j] = cpuSeconds(pid)
		}
		return v
	}
	wcpu0 := watchCPU()
	for j, pid := range cfg.Watch {
		res.Watched[j].PID, res.Watched[j].RSSIdleKiB = pid, procKiB(pid, "VmRSS")
	}
	if cfg.Addr == "" && len(cfg.Addrs) > 0 {
		cfg.Addr = cfg.Addrs[0]
	}

	// Connect, a bounded number at a time, spread over the loopback source addresses.
	clients := make([]*sio.Client, cfg.N)
	start := time.Now()
	sem := make(chan struct{}, cfg.Dials)
	var wg sync.WaitGroup
	for i := range clients {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			src := net.IPv4(127, 0, 0, byte(1+i%cfg.Sources))
			c, err := dialSIO(ctx, cfg.addrOf(i), src, cfg.Timeout)
			if err != nil {
				fails.add(fmt.Errorf("client %d: connect: %w", i, err))
				return
			}
			clients[i] = c
		}()
	}
	wg.Wait()
	res.Connect = time.Since(start)
	defer func() {
		for _, c := range clients {
			if c != nil {
				wg.Add(1)
				go func() { defer wg.Done(); c.Close() }()
			}
		}
		wg.Wait()
	}()
	if fails.n.Load() > 0 {
		res.Errors, res.FirstErrors = int(fails.n.Load()), fails.first
		return res, nil
	}

	pairs := cfg.N / 2
	pairOK := make([]bool, pairs)
	phase := func(fn func(p int, a, b *sio.Client, room string) error) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for p := range pairs {
			if !pairOK[p] {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				room := cfg.Room + "-" + strconv.Itoa(p)
				if err := fn(p, clients[2*p], clients[2*p+1], room); err != nil {
					pairOK[p] = false
					fails.add(fmt.Errorf("room %d: %w", p, err))
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	for p := range pairOK {
		pairOK[p] = true
	}

	// Join: a first, then b; a hears other_joined.
	var joinLat latencies
	res.Join = phase(func(_ int, a, b *sio.Client, room string) error {
		t := time.Now()
		if err := a.Emit("join", room); err != nil {
			return err
		}
		if _, err := expect(a, "joined", cfg.Timeout); err != nil {
			return fmt.Errorf("first: %w", err)
		}
		t1 := time.Now()
		if err := b.Emit("join", room); err != nil {
			return err
		}
		if _, err := expect(b, "joined", cfg.Timeout); err != nil {
			return fmt.Errorf("second: %w", err)
		}
		joinLat.add(t1.Sub(t), time.Since(t1))
		if _, err := expect(a, "other_joined", cfg.Timeout); err != nil {
			return fmt.Errorf("first: %w", err)
		}
		return nil
	})
	res.RSSConnKiB = procKiB(cfg.PID, "VmRSS")
	for j, pid := range cfg.Watch {
		res.Watched[j].RSSConnKiB = procKiB(pid, "VmRSS")
	}
	if m := goMetrics(cfg.Addr); m != nil {
		res.Goroutines, res.HeapInuseKiB, res.StackInuseKiB = m["go_goroutines"], m["go_memstats_heap_inuse_bytes"]/1024, m["go_memstats_stack_inuse_bytes"]/1024
	}

	// Messages: a offers, b answers, then candidates alternate until each sent M.
	var relayLat latencies
	var relayed atomic.Int64
	cpuR0, gen0, wcpuR0 := cpuSeconds(cfg.PID), cpuSeconds(os.Getpid()), watchCPU()
	res.Relay = phase(func(_ int, a, b *sio.Client, room string) error {
		lat := make([]time.Duration, 0, 2*cfg.M)
		defer func() { relayLat.add(lat...) }()
		ends := [2]*sio.Client{a, b}
		for k := 0; k < 2*cfg.M; k++ {
			from, to := ends[k%2], ends[(k+1)%2]
			kind := "candidate"
			switch k {
			case 0:
				kind = "offer"
			case 1:
				kind = "answer"
			}
			if err := from.Emit("message", room, payload(kind, k)); err != nil {
				return err
			}
			ev, err := expect(to, "message", cfg.Timeout)
			if err != nil {
				return fmt.Errorf("message %d: %w", k, err)
			}
			st, err := stampOf(ev)
			if err != nil {
				return fmt.Errorf("message %d: %w", k, err)
			}
			if st.seq != int64(k) {
				return fmt.Errorf("message %d: got seq %d", k, st.seq)
			}
			lat = append(lat, time.Duration(time.Now().UnixNano()-st.ts))
			relayed.Add(1)
		}
		return nil
	})
	cpuR1, wcpuR1 := cpuSeconds(cfg.PID), watchCPU()
	res.GenCPURelay = cpuSeconds(os.Getpid()) - gen0

	// Leave: a leaves (leaved; b gets bye), then b.
	phase(func(_ int, a, b *sio.Client, room string) error {
		if err := a.Emit("leave", room); err != nil {
			return err
		}
		if _, err := expect(a, "leaved", cfg.Timeout); err != nil {
			return err
		}
		if _, err := expect(b, "bye", cfg.Timeout); err != nil {
			return err
		}
		if err := b.Emit("leave", room); err != nil {
			return err
		}
		_, err := expect(b, "leaved", cfg.Timeout)
		return err
	})

	wcpu1 := watchCPU()
	for j, pid := range cfg.Watch {
		w := &res.Watched[j]
		w.CPUTotal, w.CPURelay, w.PeakRSSKiB = wcpu1[j]-wcpu0[j], wcpuR1[j]-wcpuR0[j], procKiB(pid, "VmHWM")
	}
	res.Relayed = int(relayed.Load())
	res.Errors, res.FirstErrors = int(fails.n.Load()), fails.first
	res.JoinsPerSec = float64(len(joinLat.d)) / res.Join.Seconds()
	res.MsgsPerSec = float64(res.Relayed) / res.Relay.Seconds()
	res.JoinP50, res.JoinP99 = joinLat.pct(0.50), joinLat.pct(0.99)
	res.RelayP50, res.RelayP99 = relayLat.pct(0.50), relayLat.pct(0.99)
	if cfg.PID > 0 {
		res.PeakRSSKiB = procKiB(cfg.PID, "VmHWM")
		res.CPUTotal = cpuSeconds(cfg.PID) - cpu0
		res.CPURelay = cpuR1 - cpuR0
		if res.Relayed > 0 {
			res.CPUPerMsgUS = res.CPURelay / float64(res.Relayed) * 1e6
		}
		res.RSSPer1000KiB = float64(res.RSSConnKiB-res.RSSIdleKiB) / (float64(cfg.N) / 1000)
		res.RSSPerClientKiB = float64(res.RSSConnKiB-res.RSSIdleKiB) / float64(cfg.N)
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if res.Errors == 0 && res.Relayed != res.Expected {
		return res, errors.New("relayed count mismatch without errors")
	}
	return res, nil
}

// goMetrics reads the Go runtime gauges from duet's /metrics; nil when the server has none.
func goMetrics(addr string) map[string]float64 {
	resp, err := insecure.Get("https://" + addr + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil
	}
	out := map[string]float64{}
	for _, l := range strings.Split(string(body), "\n") {
		for _, k := range []string{"go_goroutines", "go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes"} {
			if v, ok := strings.CutPrefix(l, k+" "); ok {
				out[k], _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
