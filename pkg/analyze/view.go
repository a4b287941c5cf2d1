package analyze

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/pkg/finding"
)

// Errors returned by View lookups.
var (
	ErrNotExist    = fs.ErrNotExist
	ErrLinkLoop    = errors.New("too many levels of symbolic links")
	ErrLinkEscape  = errors.New("link leaves the image root")
	ErrNotRetained = errors.New("file content was not retained during the pass")
)

// Bounds for link resolution: the kernel's MAXSYMLINKS and PATH_MAX, and a cap on the path
// components one resolution may walk, so hostile link targets cannot make it quadratic.
const (
	maxLinkHops     = 40
	maxPathLen      = 4096
	maxResolveSteps = 40 * maxPathLen / 2
)

// LayerInfo describes one layer of the image.
type LayerInfo struct {
	Index     int    `json:"index"`
	Digest    string `json:"digest"`
	DiffID    string `json:"diffID"`
	MediaType string `json:"mediaType,omitempty"`
	CreatedBy string `json:"createdBy,omitempty"`
	Entries   int    `json:"entries"`
}

// HistoryEntry is one image history entry with the layer it produced (-1 for empty layers).
type HistoryEntry struct {
	v1.History
	Layer int
}

// View is the merged root filesystem of an image (whiteouts applied) plus its config and
// layers. Only metadata is kept, and the bodies that Retainers asked for.
type View struct {
	config  *v1.ConfigFile
	layers  []LayerInfo
	history []HistoryEntry
	root    *node
}

type node struct {
	entry    *Entry // nil for a directory implied by its children
	children map[string]*node
	names    []string // sorted child names, computed once when the merge is done
}

func newView(cfg *v1.ConfigFile, layers []LayerInfo, history []HistoryEntry) *View {
	return &View{config: cfg, layers: layers, history: history, root: &node{}}
}

// Config is the image config file.
func (v *View) Config() *v1.ConfigFile { return v.config }

// Layers describes the layers, base first.
func (v *View) Layers() []LayerInfo { return v.layers }

// History is the image history, each entry mapped to its layer.
func (v *View) History() []HistoryEntry { return v.history }

// ConfigLocation is the location for findings about the image config.
func (v *View) ConfigLocation() finding.Location { return finding.ConfigLocation() }

// LayerLocation is the location of layer i, with its digests and createdBy.
func (v *View) LayerLocation(i int) finding.Location {
	if i < 0 || i >= len(v.layers) {
		return finding.ConfigLocation()
	}
	l := v.layers[i]
	return finding.Location{LayerIndex: i, LayerDigest: l.Digest, DiffID: l.DiffID, CreatedBy: l.CreatedBy}
}

func splitPath(p string) []string {
	p = path.Clean("/" + p)
	if p == "/" {
		return nil
	}
	return strings.Split(p[1:], "/")
}

func (v *View) find(p string) *node {
	n := v.root
	for _, part := range splitPath(p) {
		if n.children == nil {
			return nil
		}
		if n = n.children[part]; n == nil {
			return nil
		}
	}
	return n
}

// Lookup returns the entry at p in the final root filesystem without following links.
func (v *View) Lookup(p string) (*Entry, bool) {
	n := v.find(p)
	if n == nil || n.entry == nil {
		return nil, false
	}
	return n.entry, true
}

// Exists reports whether p exists (as an entry or as a directory implied by its children).
func (v *View) Exists(p string) bool { return v.find(p) != nil }

// Resolve follows symlinks in every component of p, and a final hardlink, inside the image
// root only. It returns ErrLinkLoop for a loop, ErrLinkEscape for a link that climbs above
// the root and ErrNotExist when a component is missing. The host filesystem is never touched.
func (v *View) Resolve(p string) (*Entry, error) {
	e, _, err := v.resolve(p, true)
	return e, err
}

// ResolvePath is Resolve returning the final path as well.
func (v *View) ResolvePath(p string) (*Entry, string, error) {
	return v.resolve(p, true)
}

func (v *View) resolve(p string, followLast bool) (*Entry, string, error) {
	hops, steps := 0, 0
	pending := splitPath(p)
	var cur []string         // resolved components so far
	stack := []*node{v.root} // stack[i] is the node of cur[:i]
	for len(pending) > 0 {
		if steps++; steps > maxResolveSteps {
			return nil, "", fmt.Errorf("%s: %w", p, ErrLinkLoop)
		}
		part := pending[0]
		pending = pending[1:]
		n := stack[len(stack)-1]
		switch part {
		case ".", "":
			continue
		case "..":
			if len(cur) == 0 {
				return nil, "", fmt.Errorf("%s: %w", p, ErrLinkEscape)
			}
			cur, stack = cur[:len(cur)-1], stack[:len(stack)-1]
			continue
		}
		if n.children == nil || n.children[part] == nil {
			return nil, "", fmt.Errorf("%s: %w", p, ErrNotExist)
		}
		child := n.children[part]
		if child.entry != nil && child.entry.IsSymlink() && (len(pending) > 0 || followLast) {
			hops++
			if hops > maxLinkHops {
				return nil, "", fmt.Errorf("%s: %w", p, ErrLinkLoop)
			}
			target := child.entry.Linkname
			if len(target) > maxPathLen {
				return nil, "", fmt.Errorf("%s: symlink target is %d bytes long: %w", p, len(target), ErrLinkLoop)
			}
			if strings.HasPrefix(target, "/") {
				cur, stack = nil, stack[:1]
			}
			pending = append(strings.Split(strings.TrimPrefix(target, "/"), "/"), pending...)
			continue
		}
		cur = append(cur, part)
		stack = append(stack, child)
	}
	final := "/" + strings.Join(cur, "/")
	n := stack[len(stack)-1]
	if n.entry == nil { // the root, or a directory implied by its children
		return &Entry{Path: final, Mode: fs.ModeDir | 0o755, Layer: -1}, final, nil
	}
	e := n.entry
	if e.Hardlink {
		t, ok := v.Lookup(e.Linkname)
		if !ok {
			return nil, "", fmt.Errorf("%s: hardlink to %s: %w", p, e.Linkname, ErrNotExist)
		}
		return t, final, nil
	}
	return e, final, nil
}

// Walk calls fn for every entry of the final root filesystem in lexical path order.
func (v *View) Walk(fn func(e *Entry) error) error {
	return walkNode(v.root, fn)
}

func walkNode(n *node, fn func(e *Entry) error) error {
	if n.entry != nil {
		if err := fn(n.entry); err != nil {
			return err
		}
	}
	for _, k := range n.names {
		if err := walkNode(n.children[k], fn); err != nil {
			return err
		}
	}
	return nil
}

// ReadFile returns the retained content of p, following links inside the image. Only files
// that a Retainer asked for during the pass have content; others return ErrNotRetained.
func (v *View) ReadFile(p string) ([]byte, error) {
	e, err := v.Resolve(p)
	if err != nil {
		return nil, err
	}
	if !e.kept {
		return nil, fmt.Errorf("%s: %w", p, ErrNotRetained)
	}
	return e.retained, nil
}

// seal sorts every directory's children once, after the merge, so walks do not re-sort.
func (n *node) seal() {
	if len(n.children) == 0 {
		return
	}
	n.names = make([]string, 0, len(n.children))
	for k, c := range n.children {
		n.names = append(n.names, k)
		c.seal()
	}
	sort.Strings(n.names)
}

// whiteout removes p (and everything under it) from the merged tree.
func (v *View) whiteout(p string) {
	parts := splitPath(p)
	if len(parts) == 0 {
		return
	}
	parent := v.find("/" + strings.Join(parts[:len(parts)-1], "/"))
	if parent != nil && parent.children != nil {
		delete(parent.children, parts[len(parts)-1])
	}
}

// opaque removes everything under dir that lower layers put there.
func (v *View) opaque(dir string) {
	if n := v.find(dir); n != nil {
		n.children = nil
	}
}

// insert places e in the merged tree, replacing what lower layers had at its path.
func (v *View) insert(e *Entry) {
	n := v.root
	for _, part := range splitPath(e.Path) {
		if n.entry != nil && !n.entry.IsDir() {
			// A lower layer had a non-directory where this layer has a directory.
			n.entry, n.children = nil, nil
		}
		if n.children == nil {
			n.children = map[string]*node{}
		}
		child := n.children[part]
		if child == nil {
			child = &node{}
			n.children[part] = child
		}
		n = child
	}
	if !e.IsDir() {
		n.children = nil
	}
	n.entry = e
}
