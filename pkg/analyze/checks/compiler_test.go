package checks

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/internal/imagetest"
)

func TestCompiler(t *testing.T) {
	golangPath := v1.Config{Env: []string{"PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}
	goroot := []imagetest.File{
		exe("/usr/local/go/bin/go"), exe("/usr/local/go/bin/gofmt"),
		exe("/usr/local/go/pkg/tool/linux_amd64/compile"), reg("/usr/local/go/src/runtime/proc.go", "package runtime"),
	}
	tests := []struct {
		name  string
		cfg   v1.Config
		files []imagetest.File
		want  []string
	}{
		{"build-essential", v1.Config{}, []imagetest.File{
			exe("/usr/bin/x86_64-linux-gnu-gcc-12"), symlink("/usr/bin/gcc-12", "x86_64-linux-gnu-gcc-12"),
			symlink("/usr/bin/gcc", "gcc-12"), symlink("/etc/alternatives/cc", "/usr/bin/gcc"), symlink("/usr/bin/cc", "/etc/alternatives/cc"),
			exe("/usr/bin/x86_64-linux-gnu-g++-12"), symlink("/usr/bin/g++", "x86_64-linux-gnu-g++-12"), exe("/usr/bin/make"),
			exe("/usr/bin/x86_64-linux-gnu-cpp-12"), exe("/usr/bin/gcc-ar-12"), exe("/usr/lib/gcc/x86_64-linux-gnu/12/cc1"),
		}, []string{"/usr/bin/x86_64-linux-gnu-gcc-12", "/usr/bin/gcc-12", "/usr/bin/gcc", "/usr/bin/cc",
			"/usr/bin/x86_64-linux-gnu-g++-12", "/usr/bin/g++", "/usr/bin/make"}},
		{"clang, rust and java on PATH", v1.Config{Env: []string{"PATH=/usr/local/cargo/bin:/opt/java/openjdk/bin:/usr/bin"}}, []imagetest.File{
			exe("/usr/bin/clang-15"), symlink("/usr/bin/clang++", "clang-15"),
			exe("/usr/local/cargo/bin/rustc"), exe("/usr/local/cargo/bin/cargo"), exe("/usr/local/cargo/bin/rustfmt"),
			exe("/opt/java/openjdk/bin/javac"), exe("/opt/java/openjdk/bin/java"),
		}, []string{"/usr/bin/clang-15", "/usr/bin/clang++", "/usr/local/cargo/bin/rustc", "/usr/local/cargo/bin/cargo",
			"/opt/java/openjdk/bin/javac"}},
		{"golang image: GOROOT reached through PATH", golangPath, goroot, []string{"/usr/local/go/bin/go"}},
		{"GOROOT off PATH", v1.Config{}, goroot, []string{"/usr/local/go/bin/go"}},
		{"GOROOT named by the environment", v1.Config{Env: []string{"GOROOT=/opt/go"}}, []imagetest.File{exe("/opt/go/bin/go")},
			[]string{"/opt/go/bin/go"}},
		{"debian golang-go: /usr/bin/go into /usr/lib/go-1.19", v1.Config{}, []imagetest.File{
			exe("/usr/lib/go-1.19/bin/go"), exe("/usr/lib/go-1.19/pkg/tool/linux_amd64/link"),
			symlink("/usr/bin/go", "../lib/go-1.19/bin/go"),
		}, []string{"/usr/bin/go"}},
		{"runtime image", v1.Config{}, []imagetest.File{
			exe("/app/bin/go"), reg("/usr/share/doc/gcc-12/README", "x"), dir("/usr/bin/make/"), exe("/usr/bin/java"),
			exe("/usr/bin/cpp"), reg("/usr/bin/gcc", "not executable"),
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wantPaths(t, scan(t, image(t, tt.cfg, tt.files...), compiler{}), RuleCompiler, tt.want...)
			for _, f := range got {
				if f.Details["program"] == "" {
					t.Errorf("%s: no program in details %v", f.Location.Path, f.Details)
				}
			}
		})
	}
}

func TestCompilerGOROOTMessage(t *testing.T) {
	img := image(t, v1.Config{}, exe("/usr/local/go/bin/go"), dir("/usr/local/go/pkg/tool/"))
	got := wantPaths(t, scan(t, img, compiler{}), RuleCompiler, "/usr/local/go/bin/go")
	if len(got) == 1 && (got[0].Details["goroot"] != "/usr/local/go" ||
		got[0].Message != "Go toolchain at GOROOT /usr/local/go (its go binary is not in a bin directory on PATH)") {
		t.Errorf("got %v", got[0])
	}
}
