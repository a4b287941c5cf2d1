package checks

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// standardBinDirs are searched in every image, in addition to the directories of its PATH.
var standardBinDirs = []string{"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"}

// multiCallBinaries pick the program to run from the name they are called by (applet links).
var multiCallBinaries = toolSet{"busybox": true, "toybox": true}

// A tool is an executable in a bin directory of the final root filesystem.
type tool struct {
	entry      *analyze.Entry // the entry at the path: a file, a symlink or a hardlink
	target     *analyze.Entry // the regular executable it resolves to
	targetPath string
	multiCall  bool // the target is busybox or toybox: the entry's name selects the applet
}

func (t tool) name() string { return path.Base(t.entry.Path) }

// resolution describes what the tool is, for evidence: "-> /bin/busybox (multi-call binary)".
func (t tool) resolution() string {
	var s string
	switch {
	case t.entry.IsSymlink():
		s = "symlink -> " + t.targetPath
	case t.entry.Hardlink:
		s = "hardlink to " + t.targetPath
	default:
		return fmt.Sprintf("executable, mode %04o", t.target.UnixMode())
	}
	if t.multiCall {
		s += " (multi-call binary)"
	}
	return s
}

// describe is the message part after the kind: ": a link to the multi-call binary
// /bin/busybox, which runs its sh applet", ": resolves to /usr/bin/bash", or nothing.
func (t tool) describe(matched string) string {
	switch {
	case t.multiCall && !multiCallBinaries.has(t.name()):
		return fmt.Sprintf(": a link to the multi-call binary %s, which runs its %s applet", t.targetPath, matched)
	case t.entry.IsSymlink() || t.entry.Hardlink:
		return ": resolves to " + t.targetPath
	default:
		return ""
	}
}

// binDirs returns the canonical paths of the directories to search: the standard ones and
// those in the image's PATH, with symlinked directories (/bin -> usr/bin) resolved inside
// the image.
func binDirs(v *analyze.View) map[string]bool {
	dirs := append([]string(nil), standardBinDirs...)
	if p, ok := configEnv(v, "PATH"); ok {
		for _, d := range strings.Split(p, ":") {
			if strings.HasPrefix(d, "/") {
				dirs = append(dirs, d)
			}
		}
	}
	out := map[string]bool{}
	for _, d := range dirs {
		e, final, err := v.ResolvePath(d)
		if err != nil || !e.IsDir() {
			continue
		}
		out[final] = true
	}
	return out
}

// configEnv returns the value of the last name=value entry of the config's Env.
func configEnv(v *analyze.View, name string) (string, bool) {
	cfg := v.Config()
	if cfg == nil {
		return "", false
	}
	val, found := "", false
	for _, kv := range cfg.Config.Env {
		if k, rest, ok := strings.Cut(kv, "="); ok && k == name {
			val, found = rest, true
		}
	}
	return val, found
}

// parentDir is path.Dir for clean absolute paths, without allocating.
func parentDir(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// tools lists the executables in the bin directories, in path order. Entries that do not
// resolve (dangling links, loops, links leaving the root) are skipped: they run nothing,
// and the unsafe-symlink rule reports loops and escapes. The list is computed once per View.
func tools(v *analyze.View) []tool {
	ix := indexOf(v)
	ix.toolsOnce.Do(func() {
		dirs := binDirs(v)
		for _, e := range entries(v) {
			if e.IsDir() || !dirs[parentDir(e.Path)] {
				continue
			}
			t, err := v.Resolve(e.Path)
			if err != nil || !t.Mode.IsRegular() || t.Mode.Perm()&0o111 == 0 {
				continue
			}
			ix.tools = append(ix.tools, tool{entry: e, target: t, targetPath: t.Path,
				multiCall: multiCallBinaries.has(path.Base(t.Path))})
		}
	})
	return ix.tools
}

// A toolSet is a set of program names. Names match with or without a version or variant
// suffix and a target-triplet prefix: gcc-12, pip3.11, ksh93, nc.openbsd and
// x86_64-linux-gnu-gcc all match.
type toolSet map[string]bool

var tripletPrefix = regexp.MustCompile(`^[a-z0-9_]+(?:-[a-z0-9_]+)?-linux(?:-[a-z0-9_]+)?-(.+)$`)

var variantSuffixes = []string{".openbsd", ".traditional", ".static", ".real"}

// nameCandidates returns name and its forms without variant suffix, version and triplet.
func nameCandidates(name string) []string {
	out := []string{name}
	n := name
	for _, s := range variantSuffixes {
		if t, ok := strings.CutSuffix(n, s); ok && t != "" {
			n = t
			break
		}
	}
	n = stripVersion(n)
	if m := tripletPrefix.FindStringSubmatch(n); m != nil {
		out = append(out, n, stripVersion(m[1]))
	} else if n != name {
		out = append(out, n)
	}
	return out
}

// stripVersion removes a trailing version: "gcc-12" → "gcc", "pip3.11" → "pip".
func stripVersion(n string) string {
	i := len(n)
	for i > 0 && (n[i-1] == '.' || (n[i-1] >= '0' && n[i-1] <= '9')) {
		i--
	}
	for i < len(n) && n[i] == '.' { // a version starts with a digit
		i++
	}
	if i == len(n) || i == 0 {
		return n
	}
	if n[i-1] == '-' && i > 1 {
		i--
	}
	return n[:i]
}

func (s toolSet) has(name string) bool {
	_, ok := s.match(name)
	return ok
}

// match returns the set member name stands for.
func (s toolSet) match(name string) (string, bool) {
	for _, c := range nameCandidates(name) {
		if s[c] {
			return c, true
		}
	}
	return "", false
}

// classify decides whether t is a program of the set: by the name it is called by, or, for
// a symlink to an ordinary (not multi-call) binary, by its target's name (rbash -> bash).
// Hardlinks are peers of their target, so only their own name counts: the name a tar
// writer happened to store first says nothing about the program.
func (s toolSet) classify(t tool) (string, bool) {
	if m, ok := s.match(t.name()); ok {
		return m, true
	}
	if t.entry.IsSymlink() && !t.multiCall {
		return s.match(path.Base(t.targetPath))
	}
	return "", false
}

// reportTools reports every tool of set with rule; kind names the set in messages ("a shell").
// Each finding names the package that owns the tool and the command that removes it.
func reportTools(v *analyze.View, r analyze.Reporter, rule *finding.Rule, set toolSet, kind string) []tool {
	var hits []tool
	for _, t := range tools(v) {
		m, ok := set.classify(t)
		if !ok {
			continue
		}
		hits = append(hits, t)
		msg := fmt.Sprintf("%s is %s (%s)%s", t.entry.Path, kind, m, t.describe(m))
		db, o := ownerOf(v, t.entry.Path, t.targetPath)
		if s := db.Describe(o); s != "" {
			msg += ", " + s
		}
		f := finding.New(rule, finding.Location{}, msg, t.resolution())
		f.Details = map[string]string{"program": m, "resolvesTo": t.targetPath}
		ownerDetails(f.Details, db, o)
		r.Report(t.entry, f)
	}
	return hits
}
