package status

import (
	"bytes"
	"html"
	"strconv"
)

// render writes the page out rather than through html/template: executing a template looks methods
// up by name, which keeps every exported method of every linked type in the binary (12 MB of
// bin/duet). Every text is escaped; numbers need not be.
func render(v view) []byte {
	var b bytes.Buffer
	text := func(s string) { b.WriteString(html.EscapeString(s)) }
	num := func(n int64) { b.WriteString(strconv.FormatInt(n, 10)) }
	// row writes a table row; id, when set, names the cell for the tests and scrapers.
	row := func(th, id string, cell func()) {
		b.WriteString("<tr><th>")
		text(th)
		b.WriteString("</th><td")
		if id != "" {
			b.WriteString(` id="` + id + `"`)
		}
		b.WriteString(">")
		cell()
		b.WriteString("</td></tr>\n")
	}

	b.WriteString("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"refresh\" content=\"")
	num(int64(v.Refresh))
	b.WriteString("\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>duet status</title>\n" +
		"<link rel=\"stylesheet\" href=\"/status.css\">\n</head>\n<body>\n<main>\n<h1>duet status</h1>\n<table>\n")
	row("Calls in progress", "calls", func() { num(v.Calls) })
	row("People waiting alone", "waiting", func() { num(v.Waiting) })
	row("Connections", "connections", func() { num(v.Conns) })
	row("Rooms kept in", "", func() { text(v.Rooms) })
	if v.TURN {
		row("TURN allocations", "allocations", func() { num(v.Allocations) })
		row("Relayed bandwidth", "bandwidth", func() { text(v.BitsPerSecond) })
		row("Relayed since start", "", func() { text(v.Relayed) })
	} else {
		row("TURN", "", func() { text("embedded relay off") })
	}
	row("Uptime", "", func() { text(v.Uptime) })
	row("Version", "", func() { text(v.Version) })
	b.WriteString("</table>\n<h2>Refusals by code</h2>\n")
	if len(v.Refusals) == 0 {
		b.WriteString("<p>None since start.</p>\n")
	} else {
		b.WriteString("<table id=\"refusals\">\n")
		for _, r := range v.Refusals {
			row(r.Code, "", func() { b.WriteString(strconv.FormatUint(r.Count, 10)) })
		}
		b.WriteString("</table>\n")
	}
	b.WriteString("<p class=\"note\">Reloads every ")
	num(int64(v.Refresh))
	b.WriteString(" s. The same counters are at /metrics.</p>\n</main>\n</body>\n</html>\n")
	return b.Bytes()
}
