// Package check proves a duet deployment works from the outside: it walks the path a browser takes
// (DNS, HTTPS, Socket.IO signaling, ICE servers, STUN, TURN, a relayed WebRTC call) and explains
// each failure with its likely cause and fix in one sentence.
package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"
)

// Report is the whole result; --json prints it as is.
type Report struct {
	URL   string `json:"url"`
	OK    bool   `json:"ok"`
	Steps []Step `json:"steps"`
}

// Step is one check: passed (OK), failed (neither OK nor Skipped) or skipped because a step it needs failed.
type Step struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Skipped bool   `json:"skipped"`
	MS      int64  `json:"ms"`
	Detail  string `json:"detail"` // what was seen; on a skip, why
	Cause   string `json:"cause"`  // on a failure: the likely reason
	Fix     string `json:"fix"`    // on a failure: what to change
}

// problem is a step's failure explained: what was seen, the likely cause and the fix.
type problem struct {
	detail, cause, fix string
}

func (p *problem) Error() string { return p.detail + " — " + p.cause + ": " + p.fix }

// fail builds a problem; detail is what happened, cause and fix read as "cause: fix".
func fail(detail, cause, fix string) error { return &problem{detail: detail, cause: cause, fix: fix} }

// Main runs `duet check ARGS…` and returns the exit code: 0 when every step passed, 1 when one
// failed, 2 for a usage error.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, stderr)
	if err != nil {
		return usageExit(err)
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelDebug
	}
	r := &run{o: o, log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))}
	if !o.json {
		r.out = stdout
		fmt.Fprintf(stdout, "duet check %s (room %s)\n", o.base, o.room)
	}
	rep := r.all(ctx)
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		_ = enc.Encode(rep)
	} else {
		fmt.Fprintln(stdout, summary(rep))
	}
	if !rep.OK {
		return 1
	}
	return 0
}

// run is one check: its options, the report so far and what earlier steps learned for later ones.
type run struct {
	o     options
	log   *slog.Logger
	out   io.Writer // human output as steps finish; nil with --json
	steps []Step

	addrs   []netip.Addr    // the server's addresses (DNS step)
	trusted bool            // the certificate verified against the system roots
	health  map[string]any  // /healthz body
	ice     *iceServers     // /api/ice-servers body
	relays  map[string]bool // TURN URLs whose allocation succeeded, for the call
}

// all runs every step in the order a browser needs them, skipping those whose prerequisite failed.
func (r *run) all(ctx context.Context) Report {
	r.relays = map[string]bool{}
	var blocked string // why the steps after a failed base step are skipped
	if !r.step(ctx, "DNS", "", r.resolve) {
		blocked = "the name does not resolve"
	}
	if !r.step(ctx, "HTTPS", blocked, r.https) && blocked == "" {
		blocked = "the HTTPS step failed"
	}
	r.step(ctx, "Health", blocked, r.healthz)
	signalOK := r.step(ctx, "Signaling", blocked, r.signaling)
	iceBlocked := blocked
	if !r.step(ctx, "ICE servers", blocked, r.iceServers) && iceBlocked == "" {
		iceBlocked = "GET /api/ice-servers failed"
	}
	r.stun(ctx, iceBlocked)
	r.turn(ctx, iceBlocked)

	callBlocked := iceBlocked
	switch {
	case callBlocked != "":
	case !signalOK:
		callBlocked = "signaling failed"
	case len(r.relays) == 0:
		callBlocked = "no TURN relay worked"
	}
	// The call connects within --timeout, then sends media for --call-seconds.
	r.stepWithin(ctx, "Call", callBlocked, 2*r.o.timeout+r.o.callTime, r.call)

	rep := Report{URL: r.o.base, OK: true, Steps: r.steps}
	for _, s := range r.steps {
		if !s.OK && !s.Skipped {
			rep.OK = false
		}
	}
	return rep
}

// step runs f under the per-step timeout and records it; with blocked set it records a skip instead.
func (r *run) step(ctx context.Context, name, blocked string, f func(context.Context) (string, error)) bool {
	return r.stepWithin(ctx, name, blocked, r.o.timeout, f)
}

func (r *run) stepWithin(ctx context.Context, name, blocked string, limit time.Duration, f func(context.Context) (string, error)) bool {
	if blocked != "" {
		r.record(Step{Name: name, Skipped: true, Detail: "skipped: " + blocked})
		return false
	}
	sctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	start := time.Now()
	detail, err := f(sctx)
	s := Step{Name: name, OK: err == nil, MS: time.Since(start).Milliseconds(), Detail: detail}
	if err != nil {
		var p *problem
		if !errors.As(err, &p) {
			p = &problem{detail: err.Error(), cause: "unexpected error", fix: "run again with --verbose and report it"}
		}
		s.Detail, s.Cause, s.Fix = p.detail, p.cause, p.fix
	}
	r.record(s)
	return s.OK
}

func (r *run) record(s Step) {
	r.steps = append(r.steps, s)
	if r.out != nil {
		fmt.Fprintln(r.out, line(s))
	}
}

// line renders one step for people: mark, name, time, then detail (and on a cross, cause: fix).
func line(s Step) string {
	switch {
	case s.Skipped:
		return fmt.Sprintf("– %-14s %8s  %s", s.Name, "", s.Detail)
	case s.OK:
		return fmt.Sprintf("✓ %-14s %8s  %s", s.Name, ms(s.MS), s.Detail)
	default:
		return fmt.Sprintf("✗ %-14s %8s  %s — %s: %s", s.Name, ms(s.MS), s.Detail, s.Cause, s.Fix)
	}
}

func ms(n int64) string {
	if n >= 1000 {
		return fmt.Sprintf("%.1f s", float64(n)/1000)
	}
	return fmt.Sprintf("%d ms", n)
}

func summary(rep Report) string {
	var failed, skipped int
	for _, s := range rep.Steps {
		switch {
		case s.Skipped:
			skipped++
		case !s.OK:
			failed++
		}
	}
	if rep.OK {
		return fmt.Sprintf("all %d steps passed", len(rep.Steps))
	}
	return fmt.Sprintf("%d of %d steps failed, %d skipped", failed, len(rep.Steps), skipped)
}
