package checks

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestSSHPort(t *testing.T) {
	tests := []struct {
		name  string
		ports []string
		want  int
	}{
		{"22/tcp", []string{"22/tcp"}, 1},
		{"22 without protocol", []string{"22"}, 1},
		{"among others", []string{"80/tcp", "22/tcp", "443/tcp"}, 1},
		{"no ports", nil, 0},
		{"2222 and 22/udp", []string{"2222/tcp", "22/udp", "122/tcp"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := v1.Config{}
			if tt.ports != nil {
				cfg.ExposedPorts = map[string]struct{}{}
				for _, p := range tt.ports {
					cfg.ExposedPorts[p] = struct{}{}
				}
			}
			wantCount(t, scan(t, image(t, cfg, exe("/app")), sshPort{}), RuleSSHPort, tt.want)
		})
	}
}
