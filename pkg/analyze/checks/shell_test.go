package checks

import (
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/internal/imagetest"
)

func TestShell(t *testing.T) {
	alpine := []imagetest.File{
		dir("/bin/"), exe("/bin/busybox"),
		symlink("/bin/sh", "/bin/busybox"), symlink("/bin/ash", "/bin/busybox"),
		symlink("/bin/ls", "/bin/busybox"), dir("/usr/"), dir("/usr/bin/"), symlink("/usr/bin/wget", "/bin/busybox"),
	}
	debian := []imagetest.File{
		symlink("/bin", "usr/bin"), dir("/usr/"), dir("/usr/bin/"),
		exe("/usr/bin/bash"), exe("/usr/bin/dash"), symlink("/usr/bin/sh", "dash"), symlink("/usr/bin/rbash", "bash"),
		exe("/usr/bin/ls"),
	}
	tests := []struct {
		name   string
		cfg    v1.Config
		layers []imagetest.Layer
		want   []string
	}{
		{"busybox applet symlinks", v1.Config{}, []imagetest.Layer{{Files: alpine}},
			[]string{"/bin/busybox", "/bin/sh", "/bin/ash"}},
		{"merged /usr with /bin symlink", v1.Config{}, []imagetest.Layer{{Files: debian}},
			[]string{"/usr/bin/bash", "/usr/bin/dash", "/usr/bin/sh", "/usr/bin/rbash"}},
		{"busybox applet hardlinks", v1.Config{}, []imagetest.Layer{{Files: []imagetest.File{
			exe("/bin/busybox"), hardln("/bin/sh", "/bin/busybox"), hardln("/bin/wget", "/bin/busybox"),
		}}}, []string{"/bin/busybox", "/bin/sh"}},
		{"hardlinks stored under a shell name first", v1.Config{}, []imagetest.Layer{{Files: []imagetest.File{
			exe("/bin/ash"), hardln("/bin/busybox", "/bin/ash"), hardln("/bin/wget", "/bin/ash"),
		}}}, []string{"/bin/ash", "/bin/busybox"}},
		{"toybox applet link", v1.Config{}, []imagetest.Layer{{Files: []imagetest.File{
			exe("/bin/toybox"), symlink("/bin/sh", "toybox"), symlink("/bin/cat", "toybox"),
		}}}, []string{"/bin/sh"}},
		{"versioned name and PATH directory", v1.Config{Env: []string{"PATH=/opt/tools/bin:/usr/bin"}},
			[]imagetest.Layer{{Files: []imagetest.File{exe("/usr/bin/ksh93"), exe("/opt/tools/bin/zsh"), exe("/opt/other/bin/zsh")}}},
			[]string{"/usr/bin/ksh93", "/opt/tools/bin/zsh"}},
		{"symlink named otherwise to a shell outside the bin directories", v1.Config{}, []imagetest.Layer{{Files: []imagetest.File{
			exe("/opt/bash/bin/bash"), symlink("/usr/local/bin/mysh", "/opt/bash/bin/bash"),
		}}}, []string{"/usr/local/bin/mysh"}},
		{"distroless", v1.Config{}, []imagetest.Layer{{Files: []imagetest.File{exe("/app/server"), reg("/etc/passwd", "")}}}, nil},
		{"documentation, directories and non-executables", v1.Config{}, []imagetest.Layer{{Files: []imagetest.File{
			dir("/usr/share/doc/bash/"), reg("/usr/share/doc/bash/README", "bash"), dir("/usr/bin/bash/"),
			reg("/usr/bin/sh", "#!/not/executable"), exe("/usr/lib/klibc/bin/sh"),
		}}}, nil},
		{"dangling and looping links", v1.Config{}, []imagetest.Layer{{Files: []imagetest.File{
			symlink("/bin/sh", "/nowhere/busybox"), symlink("/bin/bash", "/bin/bash"),
		}}}, nil},
		{"busybox removed in a later layer", v1.Config{}, []imagetest.Layer{{Files: alpine}, {Whiteouts: []string{"/bin/busybox"}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := imagetest.Image(t, tt.cfg, tt.layers...)
			wantPaths(t, scan(t, img, shell{}), RuleShell, tt.want...)
		})
	}
}

func TestShellMessages(t *testing.T) {
	img := image(t, v1.Config{}, exe("/bin/busybox"), symlink("/bin/sh", "busybox"), exe("/bin/dash"), hardln("/bin/dash2", "/bin/dash"))
	got := wantPaths(t, scan(t, img, shell{}), RuleShell, "/bin/busybox", "/bin/sh", "/bin/dash", "/bin/dash2")
	if len(got) != 4 {
		return
	}
	tests := []struct{ path, msg, evidence string }{
		{"/bin/busybox", "/bin/busybox is a shell (busybox)", "executable, mode 0755"},
		{"/bin/sh", "/bin/sh is a shell (sh): a link to the multi-call binary /bin/busybox, which runs its sh applet",
			"symlink -> /bin/busybox (multi-call binary)"},
		{"/bin/dash", "/bin/dash is a shell (dash)", "executable, mode 0755"},
		{"/bin/dash2", "/bin/dash2 is a shell (dash): resolves to /bin/dash", "hardlink to /bin/dash"},
	}
	for _, tt := range tests {
		f := find(t, got, tt.path)
		if f.Message != tt.msg || f.Evidence != tt.evidence {
			t.Errorf("%s:\n got %q [%s]\nwant %q [%s]", tt.path, f.Message, f.Evidence, tt.msg, tt.evidence)
		}
		if !strings.HasPrefix(f.Details["resolvesTo"], "/bin/") {
			t.Errorf("%s: details %v", tt.path, f.Details)
		}
	}
}
