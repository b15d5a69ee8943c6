package web_test

// The call page fits the window: at desktop, phone upright and phone on its side, every state of the page
// (lobby, waiting, in a call, refused from a full room) shows without scrolling, notices inside the window.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

type viewport struct {
	name string
	w, h int64
}

var viewports = []viewport{{"1280x720", 1280, 720}, {"1920x1080", 1920, 1080}, {"390x844", 390, 844}, {"844x390", 844, 390}}

// fitsJS is true when the page scrolls in neither direction.
const fitsJS = `document.scrollingElement.scrollHeight <= innerHeight && document.scrollingElement.scrollWidth <= innerWidth`

// noticeInViewJS is true when the current notice is shown and entirely inside the window.
const noticeInViewJS = `(() => {
	const n = document.getElementById('notice');
	const r = n.getBoundingClientRect();
	return !n.hidden && r.width > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;
})()`

func (p *tab) resize(v viewport) {
	p.t.Helper()
	p.do("viewport "+v.name, chromedp.EmulateViewport(v.w, v.h))
}

// fits waits until the page fits the window, and saves a screenshot when DUET_SHOTS names a folder.
func (p *tab) fits(state string) {
	p.t.Helper()
	p.waitFor(state+": no scrolling", fitsJS)
	p.shot(state)
}

// shot saves what the tab shows as DUET_SHOTS/<test>-<state>.png, for people to look at.
func (p *tab) shot(state string) {
	p.t.Helper()
	dir := os.Getenv("DUET_SHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("%s: screenshot: %v", p.name, err)
	}
	name := strings.NewReplacer("/", "-", " ", "-").Replace(p.t.Name() + "-" + state)
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func TestCallPageFitsTheWindow(t *testing.T) {
	s := startServer(t)
	for _, v := range viewports {
		t.Run(v.name, func(t *testing.T) {
			u := s.roomURL(newRoom(t), nil)
			alice := newPage(t, browser, "alice at "+v.name)
			alice.resize(v)
			alice.open(u)
			alice.waitFor("the camera preview", `document.getElementById('previewvideo').videoWidth > 0`)
			alice.fits("lobby")
			alice.click("connserver")
			alice.waitState("joined")
			alice.fits("waiting")
			// Alone, the invite link is offered in the middle of the stage; it copies the room's link.
			alice.waitFor("the invite button", `!document.getElementById('invite').hidden && document.getElementById('invite').getBoundingClientRect().width > 0`)
			alice.click("invite")
			alice.waitFor("the link copied or shown", `['notice.copied', 'notice.copyManual'].includes(window.duet.notice()) && document.getElementById('notice').textContent.includes(location.origin + '/room.html?room=')`)
			alice.joinedBy(browser, "bob", u)
			alice.fits("call")
			if !evalJS[bool](alice, `document.getElementById('invite').hidden`) {
				t.Error("alice: the invite button is still shown in a call")
			}

			carol := newPage(t, browser, "carol at "+v.name)
			carol.resize(v)
			carol.join(u)
			carol.waitFor("the 'room is full' notice", `/room is full/i.test(document.getElementById('notice').textContent)`)
			carol.fits("full")
			if !evalJS[bool](carol, noticeInViewJS) {
				r := evalJS[string](carol, `JSON.stringify(document.getElementById('notice').getBoundingClientRect())`)
				t.Errorf("carol: the notice is not inside the %s window: %s", v.name, r)
			}
			if got := evalJS[bool](carol, `document.getElementById('lobby').hidden`); got {
				t.Errorf("carol: refused from a full room but the lobby is not shown")
			}
		})
	}
}
