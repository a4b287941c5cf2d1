package options

import (
	"testing"

	"github.com/spf13/cobra"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"512", 512, false}, {"64K", 64 << 10, false}, {"8M", 8 << 20, false}, {"8MiB", 8 << 20, false},
		{"1g", 1 << 30, false}, {"0", 0, true}, {"-1", 0, true}, {"lots", 0, true}, {"", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v", tt.in, got, err)
		}
	}
}

func TestApplyEnvPrecedence(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   string
		want  string
		isErr bool
	}{
		{"default", nil, "", "high", false},
		{"env", nil, "low", "low", false},
		{"flag beats env", []string{"--fail-on", "critical"}, "low", "critical", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("IMGHARDEN_FAIL_ON", tt.env)
			}
			var v string
			cmd := &cobra.Command{Run: func(*cobra.Command, []string) {}}
			cmd.Flags().StringVar(&v, "fail-on", "high", "")
			if err := cmd.ParseFlags(tt.args); err != nil {
				t.Fatal(err)
			}
			if err := ApplyEnv(cmd); (err != nil) != tt.isErr {
				t.Fatal(err)
			}
			if v != tt.want {
				t.Fatalf("fail-on = %q, want %q", v, tt.want)
			}
		})
	}
	t.Setenv("IMGHARDEN_QUIET", "maybe")
	var q bool
	cmd := &cobra.Command{}
	cmd.Flags().BoolVar(&q, "quiet", false, "")
	if err := ApplyEnv(cmd); err == nil {
		t.Fatal("a bad boolean in the environment must be an error")
	}
}
