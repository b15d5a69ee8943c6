// Package web holds the browser client; the files are embedded so the binary alone is a complete server.
package web

import "embed"

// Files is the client: pages, scripts, styles and the npm libraries `make build` copies into vendor/.
//
//go:embed *.html css js vendor
var Files embed.FS
