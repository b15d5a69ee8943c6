package web_test

// Embedding: the call page inside an iframe of another site, allowed with --embed-origin.

import (
	"context"
	"fmt"
	"html"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// embedder serves, on a loopback address of its own (another origin than duet's), a page that
// shows src in an iframe with the permissions a call needs.
func embedder(t *testing.T, ip string) (origin string, page func(src string) string) {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>an application</title><h1>Your appointment</h1>
<iframe id="call" src="%s" allow="camera; microphone; display-capture; autoplay; fullscreen" width="800" height="600"></iframe>`,
			html.EscapeString(r.URL.Query().Get("src")))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	origin = "http://" + ln.Addr().String() // loopback http is a secure context: the camera may be granted
	return origin, func(src string) string { return origin + "/?src=" + urlQueryEscape(src) }
}

func urlQueryEscape(s string) string {
	return strings.NewReplacer("%", "%25", "&", "%26", "#", "%23", "?", "%3F", "=", "%3D", "+", "%2B").Replace(s)
}

// frameOf waits for an iframe target showing duetURL, and returns it as a tab of its own (a
// cross-origin iframe runs apart from its parent: Chromium's site isolation). Targets are the whole
// browser's: give each frame a URL of its own.
func (p *tab) frameOf(name, duetURL string, timeout time.Duration) (*tab, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		targets, err := chromedp.Targets(p.ctx)
		if err != nil {
			return nil, err
		}
		for _, tg := range targets {
			if tg.Type == "iframe" && tg.URL == duetURL {
				ctx, cancel := chromedp.NewContext(p.ctx, chromedp.WithTargetID(tg.TargetID))
				p.t.Cleanup(cancel)
				// The first Run attaches, and a context it is given that ends would detach again.
				if err := chromedp.Do(ctx); err != nil {
					return nil, err
				}
				return &tab{t: p.t, name: name, ctx: ctx, cancel: cancel}, nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil, fmt.Errorf("no iframe showing %s", duetURL)
}

// TestEmbeddedCall: a page of an origin named with --embed-origin shows the call in an iframe, and
// the call connects with camera and microphone; a page of another origin gets a blocked frame.
func TestEmbeddedCall(t *testing.T) {
	allowed, allowedPage := embedder(t, "127.0.0.2")
	_, otherPage := embedder(t, "127.0.0.3")
	s := startServer(t, "--embed-origin", allowed)
	room := newRoom(t)
	b := newBrowser(t)
	alice := newPage(t, b, "alice")
	alice.join(s.roomURL(room, nil))
	alice.waitState("joined")

	host := newPage(t, b, "application")
	host.do("open the application's page", chromedp.Navigate(allowedPage(s.roomURL(room, nil))))
	bob, err := host.frameOf("bob in the iframe", s.roomURL(room, nil), waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	bob.waitFor("page script loaded", `!!window.duet`)
	bob.click("connserver")
	bob.waitState("joined_conn")
	alice.waitState("joined_conn")
	alice.waitMediaFlowing()
	bob.waitMediaFlowing()

	// Another site: the browser refuses to render duet in its frame.
	stranger := newPage(t, b, "another site")
	elsewhere := s.roomURL(room+"-elsewhere", nil)
	stranger.do("open another site's page", chromedp.Navigate(otherPage(elsewhere)))
	stranger.waitFor("the page with its iframe", `document.getElementById('call') !== null`)
	if f, err := stranger.frameOf("blocked frame", elsewhere, 3*time.Second); err == nil {
		ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
		defer cancel()
		loaded, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!window.duet || !!document.getElementById('connserver')`))
		if loaded {
			t.Fatal("duet's page rendered inside a site that --embed-origin does not name")
		}
	}
}
