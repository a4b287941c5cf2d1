package analyze

import (
	"context"

	"github.com/imgharden/imgharden/pkg/finding"
)

// A Check is anything the engine runs. A check is a FileCheck, an ImageCheck, or both.
// Checks must be safe for concurrent use: the engine walks layers in parallel and calls a
// FileCheck from several goroutines at once. Keep per-run state out of the check value.
type Check interface {
	// Rules lists every rule the check can report. One check emits one rule, except rule
	// families (such as secret patterns) that declare several.
	Rules() []*finding.Rule
}

// FileCheck runs during the single streaming pass, on every entry of every layer, including
// entries that a later layer removes or overwrites (their findings are marked Removed).
type FileCheck interface {
	Check
	// Wants decides from metadata alone (no I/O) whether CheckFile needs this entry.
	Wants(e *Entry) bool
	// CheckFile inspects the entry. body reads the content lazily; it is read from the layer
	// at most once, capped at the engine's maximum file size, and shared by all checks.
	CheckFile(ctx context.Context, e *Entry, body Body, r Reporter) error
}

// ImageCheck runs once after the pass, on the merged root filesystem and the image config.
type ImageCheck interface {
	Check
	CheckImage(ctx context.Context, v *View, r Reporter) error
}

// Retainer is implemented by checks that need the content of some files after the pass
// (for example /etc/passwd). Retained bodies are kept in memory, capped at the engine's
// retain size, and read back with View.ReadFile. Retain sees metadata only.
type Retainer interface {
	Retain(e *Entry) bool
}

// SizedRetainer is a Retainer that needs some files above the engine's retain size (package
// databases such as dpkg's status reach a few MiB on large images). RetainSize is asked only
// for entries Retain accepted; the engine keeps such a body when it is at most the larger of
// RetainSize and the retain size, and never above the maximum file size.
type SizedRetainer interface {
	Retainer
	RetainSize(e *Entry) int64
}

// Reporter receives findings. For a finding about a file, pass its entry: the engine fills
// in the path, layer index, digests, createdBy and the removed flag. For a finding about the
// config, pass a nil entry and set the location yourself (View.ConfigLocation, View.LayerLocation).
type Reporter interface {
	Report(e *Entry, f finding.Finding)
}

// Body is the content of a regular file, read lazily.
type Body interface {
	// Bytes returns the content, at most the engine's maximum file size. The slice is only
	// valid until CheckFile returns; copy what you keep.
	Bytes() ([]byte, error)
	// Truncated says whether Bytes returned less than the whole file because of the cap.
	Truncated() bool
}
