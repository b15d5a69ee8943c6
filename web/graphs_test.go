package web_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"
)

// chart is what one of the page's uPlot graphs holds: its title key and its columns (times, then series).
type chart struct {
	Title string       `json:"title"`
	Data  [][]*float64 `json:"data"`
}

func (p *tab) charts() []chart {
	p.t.Helper()
	return evalJS[[]chart](p, `window.duet.graphs()`)
}

func TestConnectionGraphs(t *testing.T) {
	s := startServer(t)
	for _, tc := range []struct {
		name  string
		extra url.Values
		path  string
	}{{"direct", nil, "Direct"}, {"relay", url.Values{"relay": {"1"}}, "Relay over UDP"}} {
		t.Run(tc.name, func(t *testing.T) {
			alice, _ := callOf(t, s, newRoom(t), tc.extra)
			alice.resize(viewport{"1280x720", 1280, 720})
			alice.click("more")
			evalJS[bool](alice, `document.getElementById('details').open = true`)
			alice.waitFor("four charts", `window.duet.graphs().length === 4`)
			alice.waitFor("the path named", fmt.Sprintf(`document.getElementById('stat-path').textContent === %q`, tc.path))
			alice.waitFor("a codec named", `/^(VP8|VP9|H264|AV1)$/i.test(document.getElementById('stat-codec').textContent)`)

			first := alice.charts()
			time.Sleep(3 * time.Second)
			later := alice.charts()
			for i, c := range later {
				n0, n := len(first[i].Data[0]), len(c.Data[0])
				// One point a second: three seconds add about three (the ring holds sixty).
				if n < 60 && (n-n0 < 2 || n-n0 > 4) {
					t.Errorf("%s: %d points, then %d three seconds later", c.Title, n0, n)
				}
				times := c.Data[0]
				for j := 1; j < len(times); j++ {
					// A tick a second; a loaded box may delay one (2.06 s seen under load 30), never skip two.
					if d := *times[j] - *times[j-1]; d < 0.5 || d > 3 {
						t.Errorf("%s: points %.2f s apart", c.Title, d)
						break
					}
				}
			}
			last := func(c chart, series int) float64 {
				col := c.Data[series]
				if v := col[len(col)-1]; v != nil {
					return *v
				}
				return -1
			}
			if v := last(later[0], 2); v <= 0 {
				t.Errorf("received bitrate's last point is %v, want > 0", v)
			}
			if v := last(later[3], 1); v <= 0 {
				t.Errorf("frames per second's last point is %v, want > 0", v)
			}
			if v := last(later[2], 1); v < 0 {
				t.Errorf("round trip's last point is %v", v)
			}
			evalJS[bool](alice, `document.getElementById('graphs').scrollIntoView(), true`)
			alice.fits("graphs-1280")
			alice.resize(viewport{"390x844", 390, 844})
			alice.waitFor("the charts as wide as the phone's panel", `document.querySelector('#graphs .uplot').clientWidth === document.getElementById('graphs').clientWidth`)
			evalJS[bool](alice, `document.getElementById('graphs').scrollIntoView(), true`)
			alice.fits("graphs-390")
			if v := evalJS[[]string](alice, `window.__cspViolations`); len(v) > 0 {
				t.Errorf("CSP violations %q", v)
			}
		})
	}
}
