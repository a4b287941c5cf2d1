package checks

import (
	"io/fs"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/internal/imagetest"
)

func TestSetuid(t *testing.T) {
	su := withMode(exe("/usr/bin/passwd"), 0o755|fs.ModeSetuid)
	tests := []struct {
		name   string
		layers []imagetest.Layer
		want   []string
	}{
		{"setuid and setgid files", []imagetest.Layer{{Files: []imagetest.File{
			dir("/usr/"), dir("/usr/bin/"), su,
			withMode(exe("/usr/bin/wall"), 0o755|fs.ModeSetgid),
			withMode(exe("/usr/bin/both"), 0o755|fs.ModeSetuid|fs.ModeSetgid),
			exe("/usr/bin/ls"),
		}}}, []string{"/usr/bin/passwd", "/usr/bin/wall", "/usr/bin/both"}},
		{"hardlink to a setuid file", []imagetest.Layer{{Files: []imagetest.File{
			su, hardln("/usr/bin/passwd2", "/usr/bin/passwd"),
		}}}, []string{"/usr/bin/passwd", "/usr/bin/passwd2"}},
		{"plain image", []imagetest.Layer{{Files: []imagetest.File{
			exe("/usr/bin/ls"), reg("/etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
		}}}, nil},
		{"setgid directory is not a file", []imagetest.Layer{{Files: []imagetest.File{
			withMode(dir("/var/mail/"), fs.ModeDir|fs.ModeSetgid|0o2775),
		}}}, nil},
		{"symlink to a setuid file is not reported twice", []imagetest.Layer{{Files: []imagetest.File{
			su, symlink("/usr/bin/chfn", "passwd"),
		}}}, []string{"/usr/bin/passwd"}},
		{"removed in a later layer", []imagetest.Layer{
			{Files: []imagetest.File{su}},
			{Whiteouts: []string{"/usr/bin/passwd"}},
		}, nil},
		{"bit cleared in a later layer", []imagetest.Layer{
			{Files: []imagetest.File{su}},
			{Files: []imagetest.File{exe("/usr/bin/passwd")}},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := imagetest.Image(t, v1.Config{}, tt.layers...)
			wantPaths(t, scan(t, img, newSetuid(options{})), RuleSetuidBinary, tt.want...)
		})
	}
}

func TestSetuidEvidence(t *testing.T) {
	f := withMode(exe("/usr/bin/newgrp"), 0o755|fs.ModeSetuid)
	f.UID, f.GID = 0, 42
	got := wantPaths(t, scan(t, image(t, v1.Config{}, f), newSetuid(options{})), RuleSetuidBinary, "/usr/bin/newgrp")
	if len(got) != 1 {
		return
	}
	if got[0].Evidence != "mode=4755 uid=0 gid=42" {
		t.Errorf("evidence %q", got[0].Evidence)
	}
	if got[0].Message != "/usr/bin/newgrp is setuid (owner uid 0, group gid 42)" {
		t.Errorf("message %q", got[0].Message)
	}
}

// TestSetuidNewInImage builds a base layer with /usr/bin/su and a layer of the image's own
// build that adds /usr/local/bin/helper, and checks which one is "new" under each way of
// identifying the base.
func TestSetuidNewInImage(t *testing.T) {
	baseLayer := imagetest.Layer{Files: []imagetest.File{withMode(exe("/usr/bin/su"), 0o755|fs.ModeSetuid)}}
	appLayer := imagetest.Layer{Files: []imagetest.File{withMode(exe("/usr/local/bin/helper"), 0o755|fs.ModeSetuid)}}
	upgrade := imagetest.Layer{Files: []imagetest.File{exe("/usr/bin/unrelated")}}
	type want struct{ new, base string }
	tests := []struct {
		name    string
		layers  []imagetest.Layer
		history []v1.History
		opts    []Option
		want    map[string]want
	}{
		{"docker-style base ends with CMD", []imagetest.Layer{baseLayer, appLayer}, []v1.History{
			{CreatedBy: "/bin/sh -c #(nop) ADD file:8f3a in / "},
			{CreatedBy: `/bin/sh -c #(nop)  CMD ["/bin/sh"]`, EmptyLayer: true},
			{CreatedBy: "COPY helper /usr/local/bin/ # buildkit"},
		}, nil, map[string]want{
			"/usr/bin/su":           {"false", "history: base image ends with CMD at history entry 1"},
			"/usr/local/bin/helper": {"true", "history: base image ends with CMD at history entry 1"},
		}},
		{"buildah squashed build", []imagetest.Layer{baseLayer, appLayer}, []v1.History{
			{CreatedBy: "/bin/sh"},
			{CreatedBy: "/bin/sh -c #(nop) USER 0", EmptyLayer: true},
			{CreatedBy: `/bin/sh -c #(nop) CMD ["/g"]`, Comment: "FROM localhost/base:1"},
		}, nil, map[string]want{
			"/usr/bin/su":           {"false", "history: buildah comment FROM localhost/base:1"},
			"/usr/local/bin/helper": {"true", "history: buildah comment FROM localhost/base:1"},
		}},
		{"buildah --layers build", []imagetest.Layer{baseLayer, upgrade, appLayer}, []v1.History{
			{CreatedBy: "/bin/sh"},
			{CreatedBy: "/bin/sh -c #(nop) COPY file:f499 in /x ", Comment: "FROM localhost/base:1"},
			{CreatedBy: "/bin/sh -c #(nop) COPY file:61c6 in /y ", Comment: "FROM 1b80744f100e"},
			{CreatedBy: "/bin/sh -c #(nop) USER 0", Comment: "FROM e7315729ae66", EmptyLayer: true},
		}, nil, map[string]want{
			"/usr/bin/su":           {"false", "history: buildah comment FROM localhost/base:1"},
			"/usr/local/bin/helper": {"true", "history: buildah comment FROM localhost/base:1"},
		}},
		{"base given by the CLI", []imagetest.Layer{baseLayer, appLayer}, nil,
			[]Option{WithBaseSetuid("--base example.com/base:1", []string{"/usr/bin/su"})},
			map[string]want{
				"/usr/bin/su":           {"false", "--base example.com/base:1"},
				"/usr/local/bin/helper": {"true", "--base example.com/base:1"},
			}},
		{"base given by the CLI overrides the history", []imagetest.Layer{baseLayer, appLayer}, []v1.History{
			{CreatedBy: "ADD rootfs /"}, {CreatedBy: "CMD sh", EmptyLayer: true}, {CreatedBy: "COPY helper /"},
		}, []Option{WithBaseSetuid("--base other", nil)}, map[string]want{
			"/usr/bin/su":           {"true", "--base other"},
			"/usr/local/bin/helper": {"true", "--base other"},
		}},
		{"no base identified", []imagetest.Layer{baseLayer, appLayer}, []v1.History{
			{CreatedBy: "ADD rootfs /"}, {CreatedBy: "COPY helper /"},
		}, nil, map[string]want{
			"/usr/bin/su":           {"", "unknown: no --base given and none identified from the history"},
			"/usr/local/bin/helper": {"", "unknown: no --base given and none identified from the history"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := imagetest.Image(t, v1.Config{}, tt.layers...)
			if tt.history != nil {
				img = imagetest.WithHistory(t, img, tt.history)
			}
			got := wantPaths(t, scan(t, img, newSetuid(newOptions(tt.opts))), RuleSetuidBinary, "/usr/bin/su", "/usr/local/bin/helper")
			for _, f := range got {
				w := tt.want[f.Location.Path]
				if f.Details["new"] != w.new || f.Details["base"] != w.base {
					t.Errorf("%s: details %v, want new=%q base=%q", f.Location.Path, f.Details, w.new, w.base)
				}
				if _, ok := f.Details["new"]; ok != (w.new != "") {
					t.Errorf("%s: details %v: the new key must be set only when the base is known", f.Location.Path, f.Details)
				}
			}
		})
	}
}

func TestSetuidPaths(t *testing.T) {
	img := image(t, v1.Config{},
		withMode(exe("/usr/bin/su"), 0o755|fs.ModeSetuid), withMode(exe("/usr/bin/wall"), 0o755|fs.ModeSetgid),
		exe("/usr/bin/ls"), symlink("/usr/bin/chsh", "su"))
	v := scanView(t, img)
	got := SetuidPaths(v)
	if len(got) != 2 || got[0] != "/usr/bin/su" || got[1] != "/usr/bin/wall" {
		t.Fatalf("SetuidPaths = %q", got)
	}
}
