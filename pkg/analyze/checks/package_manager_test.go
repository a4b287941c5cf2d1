package checks

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/internal/imagetest"
)

func TestPackageManager(t *testing.T) {
	tests := []struct {
		name  string
		files []imagetest.File
		want  []string
	}{
		{"debian", []imagetest.File{
			exe("/usr/bin/apt"), exe("/usr/bin/apt-get"), exe("/usr/bin/dpkg"),
			exe("/usr/bin/apt-cache"), exe("/usr/bin/dpkg-deb"), exe("/usr/bin/dpkg-query"),
		}, []string{"/usr/bin/apt", "/usr/bin/apt-get", "/usr/bin/dpkg"}},
		{"alpine", []imagetest.File{exe("/sbin/apk"), exe("/bin/busybox")}, []string{"/sbin/apk"}},
		{"fedora family", []imagetest.File{
			exe("/usr/bin/dnf-3"), symlink("/usr/bin/dnf", "dnf-3"), symlink("/usr/bin/yum", "dnf-3"),
			exe("/usr/bin/microdnf"), exe("/usr/bin/rpm"),
		}, []string{"/usr/bin/dnf-3", "/usr/bin/dnf", "/usr/bin/yum", "/usr/bin/microdnf", "/usr/bin/rpm"}},
		{"language package managers", []imagetest.File{
			exe("/usr/local/bin/pip3.11"), symlink("/usr/local/bin/pip3", "pip3.11"), symlink("/usr/local/bin/pip", "pip3"),
			exe("/usr/local/lib/node_modules/npm/bin/npm-cli.js"),
			symlink("/usr/local/bin/npm", "../lib/node_modules/npm/bin/npm-cli.js"),
			exe("/usr/local/bin/yarn"), exe("/usr/bin/gem"), exe("/usr/local/bin/python3.11"),
		}, []string{"/usr/local/bin/pip3.11", "/usr/local/bin/pip3", "/usr/local/bin/pip", "/usr/local/bin/npm",
			"/usr/local/bin/yarn", "/usr/bin/gem"}},
		{"libraries and manuals only", []imagetest.File{
			dir("/usr/lib/python3/dist-packages/pip/"), reg("/usr/lib/python3/dist-packages/pip/__init__.py", ""),
			reg("/usr/share/man/man8/apt.8.gz", "x"), exe("/usr/lib/apt/methods/http"), dir("/usr/bin/npm/"),
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantPaths(t, scan(t, image(t, v1.Config{}, tt.files...), packageManager{}), RulePackageManager, tt.want...)
		})
	}
}
