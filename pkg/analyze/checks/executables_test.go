package checks

import (
	"slices"
	"testing"
)

func TestNameCandidates(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"sh", []string{"sh"}},
		{"gcc-12", []string{"gcc-12", "gcc"}},
		{"g++-12", []string{"g++-12", "g++"}},
		{"pip3.11", []string{"pip3.11", "pip"}},
		{"ksh93", []string{"ksh93", "ksh"}},
		{"go1.22.3", []string{"go1.22.3", "go"}},
		{"nc.openbsd", []string{"nc.openbsd", "nc"}},
		{"x86_64-linux-gnu-gcc-12", []string{"x86_64-linux-gnu-gcc-12", "x86_64-linux-gnu-gcc", "gcc"}},
		{"x86_64-alpine-linux-musl-g++", []string{"x86_64-alpine-linux-musl-g++", "x86_64-alpine-linux-musl-g++", "g++"}},
		{"apt-get", []string{"apt-get"}},
		{"curl-config", []string{"curl-config"}},
		{"7z", []string{"7z"}},
		{"1.2", []string{"1.2"}},
		{"python3.", []string{"python3.", "python"}},
	}
	for _, tt := range tests {
		if got := nameCandidates(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("nameCandidates(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
