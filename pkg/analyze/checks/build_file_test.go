package checks

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/internal/imagetest"
)

func TestBuildFile(t *testing.T) {
	tests := []struct {
		name  string
		files []imagetest.File
		want  []string
	}{
		{"build context copied in", []imagetest.File{
			reg("/app/Dockerfile", "FROM x"), reg("/src/Containerfile", "FROM x"), reg("/app/docker-compose.yml", "services:"),
			reg("/app/deploy/prod.Dockerfile", "FROM x"), reg("/app/Dockerfile.dev", "FROM x"), reg("/app/compose.yaml", "services:"),
			reg("/app/docker-compose.override.yaml", "services:"),
		}, []string{"/app/Dockerfile", "/src/Containerfile", "/app/docker-compose.yml", "/app/deploy/prod.Dockerfile",
			"/app/Dockerfile.dev", "/app/compose.yaml", "/app/docker-compose.override.yaml"}},
		{"package trees and look-alikes", []imagetest.File{
			reg("/usr/local/lib/node_modules/x/Dockerfile", "FROM x"), reg("/usr/share/doc/x/examples/Dockerfile", "FROM x"),
			reg("/app/node_modules/y/Dockerfile", "FROM y"), reg("/root/go/pkg/mod/github.com/z@v1/Dockerfile", "FROM z"),
			dir("/app/Dockerfile/"), reg("/app/dockerfile-parser.js", "x"), reg("/app/.dockerignore", ".git"),
			reg("/app/composer.yaml", "x"), symlink("/app/Containerfile", "/nowhere"),
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantPaths(t, scan(t, image(t, v1.Config{}, tt.files...), buildFile{}), RuleBuildFile, tt.want...)
		})
	}
}
