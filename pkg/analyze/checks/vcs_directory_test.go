package checks

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/internal/imagetest"
)

func TestVCSDirectory(t *testing.T) {
	repo := []imagetest.File{
		dir("/app/"), dir("/app/.git/"), reg("/app/.git/HEAD", "ref: refs/heads/main\n"),
		dir("/app/.git/objects/ab/"), reg("/app/.git/objects/ab/cdef", "blob"), reg("/app/main.go", "package main"),
	}
	tests := []struct {
		name   string
		layers []imagetest.Layer
		want   []string
	}{
		{"git repository copied in", []imagetest.Layer{{Files: repo}}, []string{"/app/.git"}},
		{"several repositories, nested ones folded into the outer", []imagetest.Layer{{Files: append(repo,
			reg("/app/.git/modules/sub/.git/HEAD", "x"), // inside the outer .git: not a root of its own
			reg("/app/vendor/lib/.git/config", "[core]"),
			reg("/srv/.hg/store/data", "x"), reg("/srv/.svn/wc.db", "x"), reg("/srv/.bzr/branch-format", "x"),
		)}}, []string{"/app/.git", "/app/vendor/lib/.git", "/srv/.hg", "/srv/.svn", "/srv/.bzr"}},
		{"implied directory", []imagetest.Layer{{Files: []imagetest.File{reg("/x/.git/HEAD", "ref")}}}, []string{"/x/.git"}},
		{"look-alikes", []imagetest.Layer{{Files: []imagetest.File{
			reg("/app/.gitignore", "*.o"), reg("/app/.github/workflows/ci.yml", "on: push"),
			reg("/app/sub/.git", "gitdir: ../.git/modules/sub"), dir("/app/empty/.git/"), reg("/app/.gitmodules", ""),
		}}}, nil},
		{"removed in a later layer", []imagetest.Layer{{Files: repo}, {Whiteouts: []string{"/app/.git"}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantPaths(t, scan(t, imagetest.Image(t, v1.Config{}, tt.layers...), vcsDirectory{}), RuleVCSDirectory, tt.want...)
		})
	}
}

func TestVCSDirectoryOneFindingPerRoot(t *testing.T) {
	img := imagetest.Image(t, v1.Config{},
		imagetest.Layer{CreatedBy: "COPY . /app", Files: []imagetest.File{reg("/app/.git/HEAD", "ref: x\n"), reg("/app/.git/config", "[core]\n")}},
		imagetest.Layer{CreatedBy: "RUN git fetch", Files: []imagetest.File{reg("/app/.git/FETCH_HEAD", "0123456789")}},
	)
	got := wantPaths(t, scan(t, img, vcsDirectory{}), RuleVCSDirectory, "/app/.git")
	if len(got) != 1 {
		return
	}
	f := got[0]
	if f.Message != "Git repository metadata left in /app/.git (3 files, 24 B)" || f.Evidence != "3 files, 24 bytes" {
		t.Errorf("message %q evidence %q", f.Message, f.Evidence)
	}
	if f.Location.LayerIndex != 1 || f.Location.CreatedBy != "RUN git fetch" || f.Location.Removed {
		t.Errorf("location %+v: want the layer that last added to the tree", f.Location)
	}
}

func TestVCSRoot(t *testing.T) {
	tests := []struct{ in, root string }{
		{"/app/.git/HEAD", "/app/.git"},
		{"/app/.git/modules/x/.git/HEAD", "/app/.git"},
		{"/root/.cache/x/.hg/store", "/root/.cache/x/.hg"},
		{"/app/.git", ""},
		{"/app/.github/x", ""},
		{"/app/x.git/y", ""},
		{"/.svn/wc.db", "/.svn"},
		{"/a/./b", ""},
	}
	for _, tt := range tests {
		if root, _, _ := vcsRoot(tt.in); root != tt.root {
			t.Errorf("vcsRoot(%q) = %q, want %q", tt.in, root, tt.root)
		}
	}
}
