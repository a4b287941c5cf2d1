package checks

import (
	"fmt"
	"strings"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// A leftover is a directory tree left behind by a build (a .git directory, a package
// cache). Leftover rules report one finding per tree, not one per file in it.
type leftover struct {
	root   string
	kind   string // "Git repository metadata", "apt package lists"
	files  int
	bytes  int64
	latest *analyze.Entry // the file from the highest layer: where the tree was last added to
}

// leftovers collects trees in the order they are first seen (the walk's path order).
type leftovers struct {
	order []*leftover
	byKey map[string]*leftover
}

func (l *leftovers) add(root, kind string, e *analyze.Entry) {
	if l.byKey == nil {
		l.byKey = map[string]*leftover{}
	}
	t := l.byKey[root]
	if t == nil {
		t = &leftover{root: root, kind: kind}
		l.byKey[root] = t
		l.order = append(l.order, t)
	}
	t.files++
	if !e.Hardlink {
		t.bytes += e.Size
	}
	if t.latest == nil || e.Layer > t.latest.Layer {
		t.latest = e
	}
}

// report emits one finding per tree, located at the tree's root and stamped with the layer
// of its most recently added file.
func (l *leftovers) report(r analyze.Reporter, rule *finding.Rule, message func(t *leftover) string) {
	for _, t := range l.order {
		f := finding.New(rule, finding.Location{Path: t.root}, message(t),
			fmt.Sprintf("%s, %d bytes", plural(t.files, "file"), t.bytes))
		f.Details = map[string]string{"kind": t.kind, "files": fmt.Sprint(t.files), "bytes": fmt.Sprint(t.bytes)}
		r.Report(t.latest, f)
	}
}

// size is a human-readable byte count: "4.5 MB".
func size(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// vendoredTree reports paths inside trees that package managers and toolchains own (the Go
// toolchain in /usr/local/go included), where upstream projects ship their own Dockerfiles
// and .env files as examples or tests.
func vendoredTree(p string) bool {
	for _, prefix := range []string{"/usr/share/", "/usr/lib/", "/usr/local/lib/", "/usr/include/", "/usr/local/go/"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	for _, part := range []string{"/node_modules/", "/site-packages/", "/dist-packages/", "/vendor/",
		"/pkg/mod/", "/gems/", "/testdata/", "/.cargo/registry/"} {
		if strings.Contains(p, part) {
			return true
		}
	}
	return false
}
