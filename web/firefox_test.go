package web_test

// Firefox ↔ Chromium through duet: a second browser engine, driven by puppeteer-core over WebDriver
// BiDi (testdata/firefox.cjs), in a call with the tests' Chromium.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"

	"duet/internal/duettest"
)

// firefoxPath is Debian's Firefox ESR (apt-get install firefox-esr); puppeteer downloads nothing.
const firefoxPath = "/usr/bin/firefox-esr"

// foxStatsJS reads Firefox's stats: decoded frames, and the selected pair (Firefox marks it
// selected on the pair, Chromium on the transport).
const foxStatsJS = `(async () => {
	const pc = window.duet && window.duet.pc();
	if (!pc) return null;
	const r = await pc.getStats();
	const out = { conn: pc.connectionState, framesDecoded: 0, localType: '', remoteType: '' };
	let pair = null;
	r.forEach((s) => {
		if (s.type === 'inbound-rtp' && s.kind === 'video') out.framesDecoded = s.framesDecoded || 0;
		if (s.type === 'candidate-pair' && s.selected && s.state === 'succeeded') pair = s;
	});
	if (pair) {
		out.localType = r.get(pair.localCandidateId).candidateType;
		out.remoteType = r.get(pair.remoteCandidateId).candidateType;
	}
	return out;
})()`

type foxStats struct {
	Conn          string `json:"conn"`
	FramesDecoded int    `json:"framesDecoded"`
	LocalType     string `json:"localType"`
	RemoteType    string `json:"remoteType"`
}

// foxPage is the one page of a headless Firefox that testdata/firefox.cjs runs.
type foxPage struct {
	t    *testing.T
	name string
	in   io.WriteCloser
	out  *bufio.Scanner
}

// startFirefox launches Firefox with one page; it is closed when the test ends.
func startFirefox(t *testing.T, name string) *foxPage {
	t.Helper()
	if _, err := os.Stat(firefoxPath); err != nil {
		t.Fatalf("Firefox ESR is required but %s is missing: apt-get install firefox-esr (`make test` installs it through scripts/test-deps.sh)", firefoxPath)
	}
	cmd := exec.Command("node", "testdata/firefox.cjs", firefoxPath)
	logs := &duettest.LogBuffer{}
	cmd.Stderr = logs
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close() // the script closes the browser and exits
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: firefox.cjs: %v\n%s", name, err, logs)
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("%s: Firefox did not close within 20 s", name)
		}
	})
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	return &foxPage{t: t, name: name, in: in, out: sc}
}

// do sends one command and returns the JSON value of its answer.
func (f *foxPage) do(cmd map[string]string) json.RawMessage {
	f.t.Helper()
	b, _ := json.Marshal(cmd)
	if _, err := f.in.Write(append(b, '\n')); err != nil {
		f.t.Fatalf("%s: %s: %v", f.name, b, err)
	}
	if !f.out.Scan() {
		f.t.Fatalf("%s: %s: firefox.cjs ended: %v", f.name, b, f.out.Err())
	}
	var answer struct {
		OK    bool   `json:"ok"`
		Value string `json:"value"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(f.out.Bytes(), &answer); err != nil || !answer.OK {
		f.t.Fatalf("%s: %s: %s %v", f.name, b, answer.Error, err)
	}
	return json.RawMessage(answer.Value)
}

func foxEval[T any](f *foxPage, expr string) T {
	f.t.Helper()
	var v T
	if raw := f.do(map[string]string{"eval": expr}); len(raw) > 0 {
		if err := json.Unmarshal(raw, &v); err != nil {
			f.t.Fatalf("%s: %s gave %s: %v", f.name, expr, raw, err)
		}
	}
	return v
}

// waitFor polls a JavaScript predicate (promises awaited) until it is truthy.
func (f *foxPage) waitFor(what, predicate string) {
	f.t.Helper()
	expr := fmt.Sprintf(`(async () => { try { return !!(await (%s)); } catch (e) { return false; } })()`, predicate)
	for deadline := time.Now().Add(waitTimeout); !foxEval[bool](f, expr); time.Sleep(250 * time.Millisecond) {
		if time.Now().After(deadline) {
			f.t.Fatalf("%s: waiting for %s: timed out [state=%s]", f.name, what,
				foxEval[string](f, `document.getElementById('state').textContent`))
		}
	}
}

func (f *foxPage) waitState(want string) {
	f.t.Helper()
	f.waitFor("#state "+want, fmt.Sprintf(`document.getElementById('state').textContent === %q`, want))
}

// join opens the room page and presses Join, as tab.join does in Chromium.
func (f *foxPage) join(u string) {
	f.t.Helper()
	f.do(map[string]string{"open": u})
	f.waitFor("page script loaded", `!!window.duet`)
	f.click("connserver")
}

func (f *foxPage) click(id string) {
	f.t.Helper()
	f.do(map[string]string{"click": id})
}

func (f *foxPage) stats() foxStats {
	f.t.Helper()
	s := foxEval[*foxStats](f, foxStatsJS)
	if s == nil {
		f.t.Fatalf("%s: no RTCPeerConnection to read stats from", f.name)
	}
	return *s
}

// waitMediaFlowing proves Firefox shows the other side: the remote video has a size and decoded
// frames grow from one stats read to a later one.
func (f *foxPage) waitMediaFlowing() {
	f.t.Helper()
	f.waitFor("remote video with a size", `document.getElementById('remotevideo').videoWidth > 0`)
	f.waitFor("a connected peer connection", `window.duet.pc() && window.duet.pc().connectionState === 'connected'`)
	first := f.stats()
	f.waitFor("decoded frames increasing", fmt.Sprintf(`(%s).then((s) => s && s.framesDecoded > %d)`, foxStatsJS, first.FramesDecoded+5))
}

func TestFirefoxCallsChromium(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra url.Values
	}{
		{"direct", nil},
		{"relay only", url.Values{"relay": {"1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t)
			room := newRoom(t)
			roomURL := s.roomURL(room, tc.extra)
			relay := tc.extra.Get("relay") == "1"

			// Firefox waits in the room; Chromium joins, so Firefox makes the offer.
			fox := startFirefox(t, "firefox")
			fox.join(roomURL)
			fox.waitState("joined")
			b := newBrowser(t)
			chrome := newPage(t, b, "chromium")
			chrome.join(roomURL)
			chrome.waitState("joined_conn")
			fox.waitState("joined_conn")
			chrome.waitMediaFlowing()
			fox.waitMediaFlowing()
			fs, cs := fox.stats(), chrome.stats()
			t.Logf("firefox offers: firefox %s → %s, chromium %s → %s", fs.LocalType, fs.RemoteType, cs.LocalType, cs.RemoteType)
			checkPath(t, relay, fs, cs)

			// Chromium hangs up: Firefox waits for the next peer.
			chrome.click("leave")
			chrome.waitState("leaved")
			fox.waitState("joined_unbind")

			// A new Chromium page joins the waiting Firefox, which offers again.
			chrome = newPage(t, b, "chromium again")
			chrome.join(roomURL)
			chrome.waitState("joined_conn")
			fox.waitState("joined_conn")
			chrome.waitMediaFlowing()
			fox.waitMediaFlowing()

			// Firefox hangs up: Chromium waits for the next peer.
			fox.click("leave")
			fox.waitState("leaved")
			waitUnbound(chrome)

			// Chromium waits, Firefox joins and Chromium offers to it.
			fox.join(roomURL)
			fox.waitState("joined_conn")
			chrome.waitState("joined_conn")
			fox.waitMediaFlowing()
			chrome.waitMediaFlowing()
			fs, cs = fox.stats(), chrome.stats()
			t.Logf("chromium offers: firefox %s → %s, chromium %s → %s", fs.LocalType, fs.RemoteType, cs.LocalType, cs.RemoteType)
			checkPath(t, relay, fs, cs)
		})
	}
}

// checkPath checks both browsers' selected pairs go through the relay exactly when the pages asked
// for relay only.
func checkPath(t *testing.T, relay bool, fox foxStats, chrome rtcStats) {
	t.Helper()
	if relayed := fox.LocalType == "relay" && chrome.LocalType == "relay"; relayed != relay {
		t.Errorf("relay only: %v, but firefox's local candidate is %s and chromium's %s", relay, fox.LocalType, chrome.LocalType)
	}
	if !relay && (fox.LocalType == "relay" || chrome.LocalType == "relay") {
		t.Errorf("a direct call went through the relay: firefox %s, chromium %s", fox.LocalType, chrome.LocalType)
	}
}
