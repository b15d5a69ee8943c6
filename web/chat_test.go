package web_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// chatTextsJS lists the chat entries a page shows, as "mine|theirs:text".
const chatTextsJS = `Array.from(document.querySelectorAll('#chatlog li')).map((li) => li.className.split(' ')[0] + ':' + li.querySelector('p').textContent)`

// say types text into the chat box and presses Enter, as a user would.
func (p *tab) say(text string) {
	p.t.Helper()
	p.do("type a chat message", chromedp.WaitVisible(chromedp.ID("chatinput")),
		chromedp.SendKeys(chromedp.ID("chatinput"), text+kb.Enter))
}

// waitChat waits until the page's chat shows an entry "who:text" (who is mine or theirs).
func (p *tab) waitChat(entry string) {
	p.t.Helper()
	p.waitFor("chat entry "+entry, fmt.Sprintf(`(%s).includes(%q)`, chatTextsJS, entry))
}

func TestChat(t *testing.T) {
	s := startServer(t)
	for _, tc := range []struct {
		name  string
		extra url.Values
	}{{"direct", nil}, {"relay", url.Values{"relay": {"1"}}}} {
		t.Run(tc.name, func(t *testing.T) {
			u := s.roomURL(newRoom(t), tc.extra)
			b := newBrowser(t)
			alice := newPage(t, b, "alice")
			alice.join(u)
			alice.waitState("joined")
			// Typed while alone: there is no channel yet, so it waits and goes out once one opens.
			alice.click("chatbtn")
			alice.say("early bird")
			alice.waitChat("mine:early bird")
			if !evalJS[bool](alice, `document.querySelector('#chatlog li.mine').classList.contains('pending')`) {
				t.Error("alice: a message typed before the call is not shown as waiting")
			}
			bob := alice.joinedBy(b, "bob", u)
			if tc.name == "relay" {
				if st := bob.stats(); st.LocalType != "relay" {
					t.Fatalf("bob: the call is not relayed (%s → %s)", st.LocalType, st.RemoteType)
				}
			}
			bob.waitChat("theirs:early bird")
			alice.waitFor("the early message marked sent", `!document.querySelector('#chatlog li.pending')`)
			bob.waitFor("the unread badge at 1", `!document.getElementById('chatunread').hidden && document.getElementById('chatunread').textContent === '1'`)
			if who := evalJS[string](bob, `document.querySelector('#chatlog li.theirs .who').textContent`); who != "alice" && who != "The other person" {
				t.Errorf("bob: sender shown as %q", who)
			}

			bob.click("chatbtn")
			bob.waitFor("the badge cleared on opening", `document.getElementById('chatunread').hidden`)
			const html = `<img src=x onerror="window.__xss=1"><b>bold</b>`
			bob.say(html)
			alice.waitChat("theirs:" + html)
			bob.say("see https://example.com/a?b=1. and javascript:alert(1)")
			alice.waitChat("theirs:see https://example.com/a?b=1. and javascript:alert(1)")
			got := evalJS[[]string](alice, `Array.from(document.querySelectorAll('#chatlog a')).map((a) => a.href + ' ' + a.rel + ' ' + a.target)`)
			if want := []string{"https://example.com/a?b=1 noopener noreferrer _blank"}; strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("alice: links %q, want %q", got, want)
			}
			if n := evalJS[int](alice, `document.querySelectorAll('#chatlog img, #chatlog b').length + (window.__xss ? 100 : 0)`); n != 0 {
				t.Errorf("alice: the HTML message was inserted as HTML (%d elements)", n)
			}
			alice.resize(viewport{"1280x720", 1280, 720})
			alice.fits("chat-1280")
			alice.resize(viewport{"390x844", 390, 844})
			alice.fits("chat-390")

			// A re-join within the page keeps the history and gets a new channel.
			bob.click("leave")
			bob.waitFor("the lobby", `!document.getElementById('lobby').hidden`)
			bob.click("connserver")
			bob.waitState("joined_conn")
			alice.waitState("joined_conn")
			alice.say("after rejoin")
			bob.waitChat("theirs:after rejoin")
			bob.waitChat("theirs:early bird")
			bob.waitChat("mine:" + html)
			if v := evalJS[[]string](bob, `window.__cspViolations`); len(v) > 0 {
				t.Errorf("bob: CSP violations %q", v)
			}
		})
	}
}
