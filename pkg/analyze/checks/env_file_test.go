package checks

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/internal/imagetest"
)

func TestEnvFile(t *testing.T) {
	tests := []struct {
		name   string
		layers []imagetest.Layer
		want   []string
	}{
		{".env files", []imagetest.Layer{{Files: []imagetest.File{
			reg("/app/.env", "DB_PASSWORD=x"), reg("/srv/.env.production", "X=1"), reg("/.env.local", "X=1"),
		}}}, []string{"/app/.env", "/srv/.env.production", "/.env.local"}},
		{"templates and look-alikes", []imagetest.Layer{{Files: []imagetest.File{
			reg("/app/.env.example", "X="), reg("/app/.env.sample", "X="), reg("/app/.env.template", "X="), reg("/app/.env.dist", "X="),
			reg("/app/.envrc", "use nix"), reg("/app/node_modules/dotenv/.env", "X=1"), dir("/app/.env/"), reg("/app/env", "X"),
			reg("/app/prod.env", "X=1"),
		}}}, nil},
		{"removed in a later layer", []imagetest.Layer{
			{Files: []imagetest.File{reg("/app/.env", "X=1")}}, {Whiteouts: []string{"/app/.env"}},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantPaths(t, scan(t, imagetest.Image(t, v1.Config{}, tt.layers...), envFile{}), RuleEnvFile, tt.want...)
		})
	}
}
