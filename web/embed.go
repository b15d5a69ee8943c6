// Package web holds the browser client; the files are embedded so the binary alone is a complete server.
package web

import "embed"

// Files is the client: pages, scripts, styles, catalogues, icons, the manifest and the npm libraries
// `make build` copies into vendor/.
//
//go:embed *.html manifest.json css js i18n icons vendor
var Files embed.FS
