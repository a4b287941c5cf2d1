package checks

import "testing"

func TestInstruction(t *testing.T) {
	tests := []struct{ in, kw, rest string }{
		{"ADD https://x /y # buildkit", "ADD", "https://x /y"},
		{`/bin/sh -c #(nop)  CMD ["/bin/sh"]`, "CMD", `["/bin/sh"]`},
		{"/bin/sh -c #(nop) USER 0", "USER", "0"},
		{"/bin/sh -c apt-get update", "RUN", "apt-get update"},
		{"|1 VERSION=1 /bin/sh -c make", "RUN", "|1 VERSION=1 /bin/sh -c make"},
		{"RUN /bin/sh -c make # buildkit", "RUN", "/bin/sh -c make"},
		{"user app", "USER", "app"},
		{"/bin/sh", "", "/bin/sh"},
		{"", "", ""},
	}
	for _, tt := range tests {
		kw, rest := instruction(tt.in)
		if kw != tt.kw || rest != tt.rest {
			t.Errorf("instruction(%q) = %q, %q; want %q, %q", tt.in, kw, rest, tt.kw, tt.rest)
		}
	}
}
