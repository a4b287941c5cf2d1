package checks

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/internal/imagetest"
)

const passwd = "root:x:0:0:root:/root:/bin/bash\n" +
	"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n" +
	"toor:x:0:0:backdoor:/root:/bin/sh\n" +
	"app:x:10001:10001::/home/app:/sbin/nologin\n"

func TestRootUser(t *testing.T) {
	withPasswd := []imagetest.Layer{{Files: []imagetest.File{reg("/etc/passwd", passwd), exe("/app")}}}
	noPasswd := []imagetest.Layer{{Files: []imagetest.File{exe("/app")}}}
	tests := []struct {
		user   string
		layers []imagetest.Layer
		want   bool
	}{
		{"", noPasswd, true},
		{"root", withPasswd, true},
		{"root", noPasswd, true},
		{"0", noPasswd, true},
		{"0:0", noPasswd, true},
		{"root:staff", withPasswd, true},
		{"0:10001", noPasswd, true},
		{" 0 ", noPasswd, true},
		{"toor", withPasswd, true},
		{"toor:app", withPasswd, true},
		{"app", withPasswd, false},
		{"10001", noPasswd, false},
		{"10001:10001", noPasswd, false},
		{"app:root", withPasswd, false},
		{"nobody", noPasswd, false},
		{"ghost", withPasswd, false},
		{"admin", append([]imagetest.Layer{{Files: []imagetest.File{reg("/etc/passwd", "admin:x:1000:1000::/:/bin/sh\n")}}},
			imagetest.Layer{Files: []imagetest.File{reg("/etc/passwd", "admin:x:0:0::/:/bin/sh\n")}}), true},
		{"admin", append([]imagetest.Layer{{Files: []imagetest.File{reg("/etc/passwd", "admin:x:0:0::/:/bin/sh\n")}}},
			imagetest.Layer{Files: []imagetest.File{reg("/etc/passwd", "admin:x:1000:1000::/:/bin/sh\n")}}), false},
	}
	for _, tt := range tests {
		name := tt.user
		if name == "" {
			name = "empty"
		}
		t.Run(name, func(t *testing.T) {
			img := imagetest.Image(t, v1.Config{User: tt.user}, tt.layers...)
			want := 0
			if tt.want {
				want = 1
			}
			got := wantCount(t, scan(t, img, rootUser{}), RuleRootUser, want)
			for _, f := range got {
				if f.Location.LayerIndex != -1 || f.Evidence == "" {
					t.Errorf("finding %v: want a config location and evidence", f)
				}
			}
		})
	}
}

func TestRootUserNamesTheInstruction(t *testing.T) {
	img := imagetest.Image(t, v1.Config{User: "0"}, imagetest.Layer{Files: []imagetest.File{exe("/app")}})
	img = imagetest.WithHistory(t, img, []v1.History{
		{CreatedBy: "ADD rootfs /"}, {CreatedBy: "USER app", EmptyLayer: true}, {CreatedBy: "USER 0", EmptyLayer: true},
		{CreatedBy: `CMD ["/app"]`, EmptyLayer: true},
	})
	got := wantCount(t, scan(t, img, rootUser{}), RuleRootUser, 1)
	if len(got) == 1 && (got[0].Location.CreatedBy != "USER 0" || got[0].Message != "the image runs as root: USER 0 is UID 0 (root)" ||
		got[0].Evidence != `User="0"`) {
		t.Errorf("got %v", got[0])
	}
}
