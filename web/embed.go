// Package web holds the browser client; the files are embedded so the binary alone is a complete server.
package web

import "embed"

// Files is the client: pages, scripts, styles, catalogues, icons, the manifest and the npm libraries
// `make build` copies into vendor/ (all: because @noble/hashes names some modules _md.js, _u64.js).
//
//go:embed *.html manifest.json css js i18n icons all:vendor
var Files embed.FS
