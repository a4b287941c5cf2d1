package checks

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/internal/imagetest"
)

func TestPackageCache(t *testing.T) {
	aptClean := []imagetest.File{
		dir("/var/lib/apt/lists/"), reg("/var/lib/apt/lists/lock", ""), dir("/var/lib/apt/lists/partial/"), dir("/var/lib/apt/lists/auxfiles/"),
		dir("/var/cache/apt/archives/partial/"), reg("/var/cache/apt/archives/lock", ""),
	}
	tests := []struct {
		name  string
		cfg   v1.Config
		files []imagetest.File
		want  []string
	}{
		{"apt lists, archives and caches", v1.Config{}, append(aptClean,
			reg("/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4", "lz4"),
			reg("/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", "sig"),
			reg("/var/cache/apt/archives/curl_7.88.1-10_amd64.deb", "deb"),
			reg("/var/cache/apt/pkgcache.bin", "bin"), reg("/var/cache/apt/srcpkgcache.bin", "bin"),
		), []string{"/var/lib/apt/lists", "/var/cache/apt/archives", "/var/cache/apt"}},
		{"apk, yum and dnf caches", v1.Config{}, []imagetest.File{
			reg("/var/cache/apk/APKINDEX.66b7.tar.gz", "x"), reg("/var/cache/yum/x86_64/8/base/repomd.xml", "x"),
			reg("/var/cache/dnf/fedora.solv", "x"),
		}, []string{"/var/cache/apk", "/var/cache/yum", "/var/cache/dnf"}},
		{"per-user caches in /root and /home", v1.Config{}, []imagetest.File{
			reg("/root/.cache/pip/http-v2/a/b/c", "wheel"), reg("/home/app/.npm/_cacache/index-v5/00/x", "x"),
			reg("/root/.cache/go-build/00/abc-d", "obj"), reg("/root/go/pkg/mod/github.com/x/y@v1.0.0/y.go", "package y"),
			reg("/home/app/.cache/yarn/v6/npm-x/package.json", "{}"), reg("/root/.cargo/registry/cache/x.crate", "x"),
			reg("/root/.m2/repository/org/x/x.jar", "x"), reg("/home/dev/.gradle/caches/modules-2/x", "x"),
		}, []string{"/root/.cache/pip", "/home/app/.npm", "/root/.cache/go-build", "/root/go/pkg/mod",
			"/home/app/.cache/yarn", "/root/.cargo/registry", "/root/.m2/repository", "/home/dev/.gradle/caches"}},
		{"golang image GOPATH and environment", v1.Config{Env: []string{
			"GOPATH=/go", "GOMODCACHE=/opt/gomod", "GOCACHE=/tmp/gocache", "HOME=/srv/app", "YARN_CACHE_FOLDER=/yc",
		}}, []imagetest.File{
			reg("/go/pkg/mod/cache/download/x/@v/v1.zip", "zip"), reg("/opt/gomod/golang.org/x/y@v0.1.0/go.mod", "module"),
			reg("/tmp/gocache/README", "x"), reg("/srv/app/.cache/pip/selfcheck.json", "{}"), reg("/yc/v6/x", "x"),
			reg("/usr/local/share/.cache/yarn/v6/y", "y"),
		}, []string{"/go/pkg/mod", "/opt/gomod", "/tmp/gocache", "/srv/app/.cache/pip", "/yc", "/usr/local/share/.cache/yarn"}},
		{"clean images and look-alikes", v1.Config{}, append(aptClean,
			reg("/root/.cache/other/x", "x"), reg("/home/.npm/x", "not a home"), reg("/opt/app/.npm/x", "not a home"),
			reg("/usr/lib/python3/dist-packages/pip/_internal/cache.py", "x"), reg("/var/cache/debconf/config.dat", "x"),
			reg("/var/cache/apt/archives/notes.txt", "x"), dir("/root/.cache/pip/"), dir("/var/cache/apk/"),
		), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantPaths(t, scan(t, image(t, tt.cfg, tt.files...), packageCache{}), RulePackageCache, tt.want...)
		})
	}
}

func TestPackageCacheCountsFiles(t *testing.T) {
	img := image(t, v1.Config{}, reg("/var/lib/apt/lists/lock", ""), reg("/var/lib/apt/lists/a_Packages", "12345"),
		reg("/var/lib/apt/lists/b_Packages", "1234567890"))
	got := wantPaths(t, scan(t, img, packageCache{}), RulePackageCache, "/var/lib/apt/lists")
	if len(got) == 1 && (got[0].Message != "apt package lists left in /var/lib/apt/lists (2 files, 15 B)" ||
		got[0].Details["files"] != "2" || got[0].Details["kind"] != "apt package lists") {
		t.Errorf("got %v", got[0])
	}
}
