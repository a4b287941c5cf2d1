package checks

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/internal/imagetest"
)

func TestUnsafeSymlink(t *testing.T) {
	tests := []struct {
		name  string
		files []imagetest.File
		want  []string
	}{
		{"loop", []imagetest.File{symlink("/loop1", "loop2"), symlink("/loop2", "/loop1"), symlink("/into", "/loop1/x")},
			[]string{"/loop1", "/loop2", "/into"}},
		{"self loop", []imagetest.File{symlink("/usr/bin/self", "self")}, []string{"/usr/bin/self"}},
		{"escapes the root", []imagetest.File{
			symlink("/escape", "../../../etc/shadow"), dir("/usr/lib/"), symlink("/usr/lib/libx.so", "../../../../lib/libx.so"),
		}, []string{"/escape", "/usr/lib/libx.so"}},
		{"ordinary and dangling links", []imagetest.File{
			exe("/bin/busybox"), symlink("/bin/sh", "busybox"), symlink("/bin/abs", "/bin/busybox"),
			symlink("/dangling", "/nowhere"), symlink("/root-link", "/"), symlink("/usr/lib/up", "../../bin/sh"),
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wantPaths(t, scan(t, image(t, v1.Config{}, tt.files...), unsafeSymlink{}), RuleUnsafeSymlink, tt.want...)
			for _, f := range got {
				if f.Evidence == "" || f.Location.Removed {
					t.Errorf("finding %v", f)
				}
			}
		})
	}
}
