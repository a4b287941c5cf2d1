package seccomp

import "testing"

func TestSummary(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"\n  \n", ""},
		{"one line\n", "one line"},
		{"Traceback (most recent call last):\n  File \"x\"\nPermissionError: [Errno 1] Operation not permitted\n",
			"Traceback (most recent call last): ... PermissionError: [Errno 1] Operation not permitted"},
		{"runtime: failed to create new OS thread\n\ngoroutine 1\nruntime/asm_amd64.s:1771\n",
			"runtime: failed to create new OS thread ... runtime/asm_amd64.s:1771"},
	}
	for _, tt := range tests {
		if got := Summary([]byte(tt.in)); got != tt.want {
			t.Errorf("Summary(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
