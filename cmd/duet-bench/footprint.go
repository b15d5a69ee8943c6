package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"duet/internal/duettest"
)

// footprintSuite: binary size, start-up to the first /healthz 200, idle RSS; RSS per 1 000 clients
// comes from the signaling section.
func footprintSuite(ctx context.Context, e *env, c suiteConfig) (string, error) {
	st, err := os.Stat(e.duet)
	if err != nil {
		return "", err
	}
	const reps = 5
	type sample struct{ startup, rss float64 }
	run := func(side string, start func() (*proc, error)) ([]sample, error) {
		var out []sample
		for range reps {
			p, err := start()
			if err != nil {
				return nil, err
			}
			time.Sleep(time.Second)
			out = append(out, sample{p.startup.Seconds(), float64(procKiB(p.PID(), "VmRSS"))})
			p.stop()
		}
		return out, nil
	}
	turnPort, err := duettest.FreeUDPTCPPort()
	if err != nil {
		return "", err
	}
	duetFull, err := run("duet", func() (*proc, error) {
		return e.startDuet("--turn-listen", fmt.Sprintf("127.0.0.1:%d", turnPort), "--turn-secret", turnSecret)
	})
	if err != nil {
		return "", err
	}
	duetSig, err := run("duet", func() (*proc, error) { return e.startDuet("--turn-listen", "") })
	if err != nil {
		return "", err
	}
	node, err := run("node", e.startNode)
	if err != nil {
		return "", err
	}
	// The default start-up: duet makes its self-signed certificate itself (no --tls-cert).
	var selfSigned []sample
	for range reps {
		p, err := startProc("duet", listeningRE, 20*time.Second, e.root, e.duet, "--listen", "127.0.0.1:0", "--turn-listen", "")
		if err != nil {
			return "", err
		}
		selfSigned = append(selfSigned, sample{p.startup.Seconds(), 0})
		p.stop()
	}
	su := func(s sample) float64 { return s.startup }
	rss := func(s sample) float64 { return s.rss / 1024 }
	var b strings.Builder
	b.WriteString("## 4. Footprint\n\n")
	fmt.Fprintf(&b, "Start-up is from exec to the first `200` from `GET /healthz` over HTTPS (polled every 2 ms); idle RSS is VmRSS 1 s after that. Medians of %d starts. RSS per connected client is in the signaling tables above.\n\n", reps)
	t := table{head: []string{"", "duet (signaling + TURN)", "duet (signaling only)", "Node socket.io peer", "duet / Node"}}
	t.add("binary size", fmt.Sprintf("%.1f MiB", float64(st.Size())/(1<<20)), "same binary", "node "+strings.TrimSpace(nodeVersion(ctx))+" + 24 npm packages", "")
	t.add("start-up to first /healthz", ms(medianOf(duetFull, su)), ms(medianOf(duetSig, su)), ms(medianOf(node, su)), ratio(medianOf(duetSig, su), medianOf(node, su)))
	t.add("start-up, self-signed certificate made at start", "", ms(medianOf(selfSigned, su)), "", "")
	t.add("RSS idle", fmt.Sprintf("%.1f MiB", medianOf(duetFull, rss)), fmt.Sprintf("%.1f MiB", medianOf(duetSig, rss)), fmt.Sprintf("%.1f MiB", medianOf(node, rss)), ratio(medianOf(duetSig, rss), medianOf(node, rss)))
	b.WriteString(t.String())
	return b.String(), nil
}

func nodeVersion(ctx context.Context) string {
	out, _ := execOutput(ctx, "node", "--version")
	return out
}
