package check

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"duet/internal/duettest"
)

// duetBinary is built once by TestMain; every scenario starts its own server from it.
var duetBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "duet-check-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if duetBinary, err = duettest.Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// startDuet runs the binary on loopback with args and returns its https:// URL.
func startDuet(t *testing.T, args ...string) string {
	t.Helper()
	return duettest.Start(t, duetBinary, append([]string{"--listen", "127.0.0.1:0", "--conn-rate", "100"}, args...)...).URL
}

// freePort returns a loopback port free for both UDP and TCP.
func freePort(t *testing.T) string { return strconv.Itoa(duettest.FreeTURNPort(t)) }

// relayArgs starts the embedded relay on a free loopback port, allowed to relay to loopback peers.
func relayArgs(t *testing.T) (port string, args []string) {
	port = freePort(t)
	return port, []string{"--turn-listen", "127.0.0.1:" + port, "--turn-allow-peer", "127.0.0.0/8", "--turn-secret", "s"}
}

func check(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func checkJSON(t *testing.T, args ...string) (int, Report) {
	t.Helper()
	code, out, errOut := check(t, append(args, "--json")...)
	var rep Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s\nstderr: %s", err, out, errOut)
	}
	t.Logf("exit %d\n%s", code, human(rep))
	return code, rep
}

func human(rep Report) string {
	var b strings.Builder
	for _, s := range rep.Steps {
		b.WriteString(line(s) + "\n")
	}
	return b.String()
}

type outcome string

const (
	pass    outcome = "pass"
	failed  outcome = "fail"
	skipped outcome = "skip"
)

func outcomeOf(s Step) outcome {
	switch {
	case s.Skipped:
		return skipped
	case s.OK:
		return pass
	}
	return failed
}

func TestScenarios(t *testing.T) {
	tests := []struct {
		name  string
		start func(t *testing.T) string // the URL to check
		args  []string
		want  map[string]outcome  // steps by name; every other step must pass
		says  map[string][]string // words in a step's detail, cause and fix
	}{
		{
			name: "everything works on loopback",
			start: func(t *testing.T) string {
				_, relay := relayArgs(t)
				return startDuet(t, append(relay, "--public-ip", "127.0.0.1", "--turns-listen", "127.0.0.1:"+freePort(t))...)
			},
			want: map[string]outcome{"TURN over UDP": pass, "TURN over TCP": pass, "TURN over TLS": pass, "STUN": pass, "Call": pass},
			says: map[string][]string{
				"HTTPS":         {"self-signed", "--insecure"},
				"Health":        {"status=ok", "turn=ok"},
				"Signaling":     {"byte for byte"},
				"TURN over UDP": {"relays from 127.0.0.1:"},
				"Call":          {"relay/udp", "RTT"},
			},
		},
		{
			name:  "relay disabled",
			start: func(t *testing.T) string { return startDuet(t, "--turn-listen", "") },
			want:  map[string]outcome{"TURN": failed, "Call": skipped},
			says:  map[string][]string{"TURN": {"turn=disabled", `--turn-listen ""`}, "Call": {"no TURN relay worked"}},
		},
		{
			name: "public IP another loopback address",
			start: func(t *testing.T) string {
				port, relay := relayArgs(t)
				return startDuet(t, append(relay, "--public-ip", "127.0.0.2", "--turn-urls", "turn:127.0.0.1:"+port+"?transport=udp")...)
			},
			want: map[string]outcome{"TURN over UDP": failed, "Call": skipped},
			says: map[string][]string{"TURN over UDP": {"127.0.0.2", "--public-ip is probably wrong", "start duet with --public-ip 127.0.0.1"}},
		},
		{
			name: "public IP a private address",
			start: func(t *testing.T) string {
				port, relay := relayArgs(t)
				return startDuet(t, append(relay, "--public-ip", "10.20.30.40",
					"--turn-urls", "turn:127.0.0.1:"+port+"?transport=udp", "--turn-urls", "turn:127.0.0.1:"+port+"?transport=tcp")...)
			},
			want: map[string]outcome{"TURN over UDP": failed, "TURN over TCP": failed, "Call": skipped},
			says: map[string][]string{"TURN over TCP": {"10.20.30.40", "--public-ip 127.0.0.1"}},
		},
		{
			name: "TURN port firewalled",
			start: func(t *testing.T) string {
				return startDuet(t, "--turn-listen", "", "--turn-secret", "s", "--turn-urls", "turn:127.0.0.1:"+freePort(t)+"?transport=udp")
			},
			args: []string{"--timeout", "2s"},
			want: map[string]outcome{"TURN over UDP": failed, "Call": skipped},
			says: map[string][]string{"TURN over UDP": {"no answer from 127.0.0.1:", "firewall", "open UDP"}},
		},
		{
			name: "TURN over TLS on the HTTPS port",
			start: func(t *testing.T) string {
				_, relay := relayArgs(t)
				return startDuet(t, append(relay, "--public-ip", "127.0.0.1", "--turns-on-https", "on")...)
			},
			want: map[string]outcome{"TURN over UDP": pass, "TURN over TCP": pass, "TURN over TLS": pass, "Call": pass},
			says: map[string][]string{"TURN over TLS": {"on the HTTPS port", "relays from 127.0.0.1:"}},
		},
		{
			name: "turns: on the HTTPS port, not served there",
			start: func(t *testing.T) string {
				port, relay := relayArgs(t)
				https := freePort(t)
				return startDuet(t, append(relay, "--listen", "127.0.0.1:"+https, "--public-ip", "127.0.0.1", "--turns-on-https", "off",
					"--turn-urls", "turn:127.0.0.1:"+port+"?transport=udp", "--turn-urls", "turns:127.0.0.1:"+https+"?transport=tcp")...)
			},
			args: []string{"--timeout", "2s"},
			want: map[string]outcome{"TURN over TLS": failed},
			says: map[string][]string{"TURN over TLS": {"on the HTTPS port", "--turns-on-https on"}},
		},
		{
			name:  "server stopped",
			start: func(t *testing.T) string { return "https://127.0.0.1:" + freePort(t) },
			want: map[string]outcome{"HTTPS": failed, "Health": skipped, "Signaling": skipped, "ICE servers": skipped,
				"STUN": skipped, "TURN": skipped, "Call": skipped},
			says: map[string][]string{"HTTPS": {"nothing answers on 127.0.0.1:", "is not running", "open TCP"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := tt.start(t)
			code, rep := checkJSON(t, append([]string{url, "--insecure", "--call-seconds", "1"}, tt.args...)...)
			allPass := true
			for _, o := range tt.want {
				allPass = allPass && o == pass
			}
			if wantCode := map[bool]int{true: 0, false: 1}[allPass]; code != wantCode || rep.OK != allPass {
				t.Errorf("exit %d, ok %v; want %d, %v", code, rep.OK, wantCode, allPass)
			}
			if rep.URL != url {
				t.Errorf("report url %q, want %q", rep.URL, url)
			}
			seen := map[string]bool{}
			for _, s := range rep.Steps {
				seen[s.Name] = true
				want, listed := tt.want[s.Name]
				if !listed {
					want = pass
				}
				if got := outcomeOf(s); got != want {
					t.Errorf("%s: %s, want %s: %s", s.Name, got, want, line(s))
				}
				if got := outcomeOf(s); got == failed && (s.Cause == "" || s.Fix == "") {
					t.Errorf("%s failed without cause and fix: %s", s.Name, line(s))
				}
				text := s.Detail + " — " + s.Cause + ": " + s.Fix
				for _, w := range tt.says[s.Name] {
					if !strings.Contains(text, w) {
						t.Errorf("%s does not say %q: %s", s.Name, w, text)
					}
				}
			}
			for name := range tt.want {
				if !seen[name] {
					t.Errorf("no %s step in the report", name)
				}
			}
		})
	}
}

// TestHumanOutput runs a passing and a failing check the way a person does, without --json.
func TestHumanOutput(t *testing.T) {
	_, relay := relayArgs(t)
	// By name, so the DNS step resolves and the relay is compared with what it found.
	url := strings.Replace(startDuet(t, append(relay, "--public-ip", "127.0.0.1")...), "127.0.0.1", "localhost", 1)
	stopped := "https://127.0.0.1:" + freePort(t)
	tests := []struct {
		url   string
		code  int
		lines []string // regexps, in order
	}{
		{url, 0, []string{`^duet check https://localhost:\d+ \(room duet-check-`, `^✓ DNS .*localhost → 127\.0\.0\.1`, `^✓ HTTPS .*self-signed`,
			`^✓ Health`, `^✓ Signaling`, `^✓ ICE servers`, `^✓ STUN .*this machine is 127\.0\.0\.1:`, `^✓ TURN over UDP`,
			`^✓ TURN over TCP`, `^✓ Call .*connected in`, `^all 9 steps passed$`}},
		{stopped, 1, []string{`^✓ DNS`, `^✗ HTTPS .* nothing answers on 127\.0\.0\.1:\d+ \(connection refused\) — `,
			`^– Health +skipped: the HTTPS step failed`, `^– Call`, `^1 of 8 steps failed, 6 skipped$`}},
	}
	for _, tt := range tests {
		code, out, errOut := check(t, tt.url, "--insecure", "--call-seconds", "1")
		t.Logf("exit %d\n%s", code, out)
		if code != tt.code {
			t.Errorf("exit %d, want %d; stderr: %s", code, tt.code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		i := 0
		for _, want := range tt.lines {
			re := regexp.MustCompile(want)
			for i < len(lines) && !re.MatchString(lines[i]) {
				i++
			}
			if i == len(lines) {
				t.Errorf("no line matching %q in order in\n%s", want, out)
				break
			}
		}
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		says string
	}{
		{nil, 2, "want exactly one URL"},
		{[]string{"a.example", "b.example"}, 2, "want exactly one URL"},
		{[]string{"http://a.example"}, 2, "HTTPS only"},
		{[]string{"--room", "no spaces", "a.example"}, 2, "--room"},
		{[]string{"--timeout", "0s", "a.example"}, 2, "positive"},
		{[]string{"--nope", "a.example"}, 2, "not defined"},
		{[]string{"-h"}, 0, "usage: duet check"},
	}
	for _, tt := range tests {
		code, _, errOut := check(t, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.says) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tt.args, code, errOut, tt.code, tt.says)
		}
	}
}
