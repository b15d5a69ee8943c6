package web_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"testing"
)

type probe struct {
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
	Streams []struct {
		Type string `json:"codec_type"`
	} `json:"streams"`
}

// ffprobe reads a media file with FFmpeg's own prober.
func ffprobe(t *testing.T, path string) probe {
	t.Helper()
	bin, err := exec.LookPath("ffprobe")
	if err != nil {
		t.Fatal("ffprobe is required (apt-get install ffmpeg; make test does)")
	}
	out, err := exec.Command(bin, "-v", "error", "-show_format", "-show_streams", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe output %s: %v", out, err)
	}
	return p
}

func TestRecordingIsAPlayableWebM(t *testing.T) {
	s := startServer(t)
	alice, bob := callOf(t, s, newRoom(t), nil)
	dir := alice.downloads()
	// Clicked from the page's own script, so the 3 s are not stretched by the tool's round trips.
	const clickRecord = `document.getElementById('record').click(), performance.now()`
	t0 := evalJS[float64](alice, clickRecord)
	bob.waitFor("the other side's recording indicator", `!document.getElementById('recpeer').hidden`)
	alice.waitFor("our own indicator", `!document.getElementById('recmine').hidden`)
	alice.waitFor("3 s of recording", fmt.Sprintf(`performance.now() - %f >= 3000`, t0))
	wall := (evalJS[float64](alice, clickRecord) - t0) / 1000
	bob.waitFor("the indicator gone", `document.getElementById('recpeer').hidden`)
	path := waitDownload(t, dir, ".webm")

	p := ffprobe(t, path)
	d, err := strconv.ParseFloat(p.Format.Duration, 64)
	// The page clicked stop a little after 3 s on a busy machine: the file lasts as long as the page recorded.
	if err != nil || d < 2.7 || d > wall+0.3 || d < wall-0.5 {
		t.Errorf("duration %q, want about %.2f s (the page's time between the clicks)", p.Format.Duration, wall)
	}
	kinds := map[string]int{}
	for _, st := range p.Streams {
		kinds[st.Type]++
	}
	if kinds["video"] != 1 || kinds["audio"] != 1 {
		t.Errorf("streams %v, want one video and one audio", kinds)
	}
	t.Logf("recording: %.2f s between the clicks, %.2f s in the file, streams %v", wall, d, kinds)

	// The indicators as people see them.
	alice.click("record")
	bob.waitFor("the indicator again", `!document.getElementById('recpeer').hidden`)
	for _, v := range []viewport{{"1280x720", 1280, 720}, {"390x844", 390, 844}} {
		alice.resize(v)
		bob.resize(v)
		alice.fits("recording-self-" + v.name)
		bob.fits("recording-peer-" + v.name)
	}
	alice.click("record")
	bob.waitFor("the indicator gone again", `document.getElementById('recpeer').hidden`)
}
