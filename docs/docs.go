// Package docs embeds the rule pages (docs/rules/<ID>.md) so that `imgharden rules ID` can
// print them without a network connection.
package docs

import "embed"

// Rules holds rules/<ID>.md for every rule that has a page.
//
//go:embed rules/*.md
var Rules embed.FS
