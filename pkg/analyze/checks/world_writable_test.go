package checks

import (
	"io/fs"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/internal/imagetest"
)

func TestWorldWritable(t *testing.T) {
	tests := []struct {
		name  string
		files []imagetest.File
		want  []string
	}{
		{"world-writable file", []imagetest.File{withMode(reg("/app/config.json", "{}"), 0o666), reg("/app/ok", "x")},
			[]string{"/app/config.json"}},
		{"directory folds what is below it", []imagetest.File{
			withMode(dir("/data/"), fs.ModeDir|0o777), withMode(reg("/data/a", "x"), 0o666),
			withMode(dir("/data/sub/"), fs.ModeDir|0o777), withMode(reg("/data/sub/b", "x"), 0o666),
			dir("/data2/"), withMode(reg("/data2/c", "x"), 0o666), // a sibling with a common prefix is not below /data
		}, []string{"/data", "/data2/c"}},
		{"file in a sticky directory", []imagetest.File{
			withMode(dir("/tmp/"), fs.ModeDir|fs.ModeSticky|0o777), reg("/tmp/x", "x"), withMode(reg("/tmp/y", "y"), 0o666),
		}, []string{"/tmp/y"}},
		{"hardlink reported at its target only", []imagetest.File{
			withMode(exe("/app/run"), 0o777), hardln("/app/run2", "/app/run"),
		}, []string{"/app/run"}},
		{"sticky directories, symlinks and private files", []imagetest.File{
			withMode(dir("/tmp/"), fs.ModeDir|fs.ModeSticky|0o777), withMode(dir("/var/tmp/"), fs.ModeDir|fs.ModeSticky|0o777),
			symlink("/app/link", "/etc/passwd"), reg("/etc/passwd", "root:x:0:0::/:/bin/sh"),
			withMode(dir("/app/"), fs.ModeDir|0o775), withMode(reg("/app/group", "x"), 0o664),
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantPaths(t, scan(t, image(t, v1.Config{}, tt.files...), worldWritable{}), RuleWorldWritable, tt.want...)
		})
	}
}

func TestWorldWritableDirectoryMessage(t *testing.T) {
	img := image(t, v1.Config{}, withMode(dir("/data/"), fs.ModeDir|0o777), withMode(reg("/data/a", "x"), 0o666),
		withMode(reg("/data/b", "x"), 0o666), reg("/data/c", "x"))
	got := wantPaths(t, scan(t, img, worldWritable{}), RuleWorldWritable, "/data")
	if len(got) == 1 && (got[0].Message != "directory /data is world-writable without the sticky bit (mode 0777); 2 entries below it are world-writable too" ||
		got[0].Evidence != "mode=0777 uid=0 gid=0 below=2") {
		t.Errorf("got %v", got[0])
	}
}
