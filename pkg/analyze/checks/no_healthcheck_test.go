package checks

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestNoHealthcheck(t *testing.T) {
	tests := []struct {
		name string
		hc   *v1.HealthConfig
		want int
	}{
		{"none", nil, 1},
		{"inherited empty test", &v1.HealthConfig{}, 1},
		{"HEALTHCHECK NONE", &v1.HealthConfig{Test: []string{"NONE"}}, 1},
		{"exec form", &v1.HealthConfig{Test: []string{"CMD", "/app", "-healthcheck"}}, 0},
		{"shell form", &v1.HealthConfig{Test: []string{"CMD-SHELL", "curl -f http://localhost/ || exit 1"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := image(t, v1.Config{Healthcheck: tt.hc}, exe("/app"))
			for _, f := range wantCount(t, scan(t, img, noHealthcheck{}), RuleNoHealthcheck, tt.want) {
				if f.Severity.String() != "info" || f.Location.LayerIndex != -1 {
					t.Errorf("finding %v", f)
				}
			}
		})
	}
}
