package rewrite

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyBuildKitUnreachable: a BuildKitAddr where no buildkitd answers is a one-line
// error naming the address, before anything is built or run.
func TestVerifyBuildKitUnreachable(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "tcp://" + l.Addr().String()
	l.Close()
	for _, tc := range []struct{ name, addr string }{
		{"no socket", "unix://" + filepath.Join(dir, "buildkitd.sock")},
		{"closed port", closed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log strings.Builder
			_, err := Verify(t.Context(), VerifyInput{
				Dockerfile: filepath.Join(dir, "Dockerfile"), Original: []byte("FROM scratch\n"), Hardened: []byte("FROM scratch\n"),
				BuildKitAddr: tc.addr, Podman: "false", Buildah: "false", Log: &log,
			})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			t.Logf("error: %s", msg)
			if !strings.Contains(msg, "buildkitd at "+tc.addr) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming %s", msg, tc.addr)
			}
			if strings.Contains(log.String(), "verify: false") {
				t.Errorf("ran a tool before reaching buildkitd:\n%s", log.String())
			}
		})
	}
}

func TestLogTail(t *testing.T) {
	for _, tc := range []struct {
		name   string
		chunks []string
		want   string
	}{
		{"empty", nil, ""},
		{"split lines", []string{"a\nb", "c\n", "\n\nd"}, "a | bc | d"},
		{"keeps the last five", []string{"1\n2\n3\n4\n5\n6\n7\n"}, "3 | 4 | 5 | 6 | 7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var lt logTail
			for _, c := range tc.chunks {
				lt.add([]byte(c))
			}
			if got := lt.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
