package checks

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The vectors are real security.capability values: setcap (libcap 2.66) was run on a copy of
// /bin/true with the flags in the test name and the xattr read back with
// python3 -c 'import os; print(os.getxattr(F, "security.capability").hex())'.
func TestDecodeCapability(t *testing.T) {
	tests := []struct {
		name, raw, want string
		wantErr         bool
	}{
		{"setcap cap_net_raw+ep", "0100000200200000000000000000000000000000", "cap_net_raw+ep", false},
		{"setcap cap_net_raw+p", "0000000200200000000000000000000000000000", "cap_net_raw+p", false},
		{"setcap -n 1000 cap_net_raw+ep (v3)", "0100000300200000000000000000000000000000e8030000", "cap_net_raw+ep rootid=1000", false},
		{"setcap cap_sys_admin,cap_bpf,cap_checkpoint_restore=p (high word)", "0000000200002000000000008001000000000000",
			"cap_sys_admin,cap_bpf,cap_checkpoint_restore+p", false},
		{"setcap 'cap_chown+ei cap_net_raw+ep'", "0100000200200000010000000000000000000000", "cap_chown+ei cap_net_raw+ep", false},
		{"setcap cap_chown=i", "0000000200000000010000000000000000000000", "cap_chown+i", false},
		{"v1 cap_net_bind_service+ep", "0100000100040000" + "00000000", "cap_net_bind_service+ep", false},
		{"v3 rootid 0 is not shown", "010000030020000000000000000000000000000000000000", "cap_net_raw+ep", false},
		{"unknown capability number", "0000000200000000000000000000000200000000", "cap_57+p", false},
		{"too short", "0100", "", true},
		{"unknown revision", "0100000400200000000000000000000000000000", "", true},
		{"v2 with v3 length", "0100000200200000000000000000000000000000e8030000", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeCapability(mustHex(t, tt.raw))
			if tt.wantErr {
				if !errors.Is(err, errBadCapability) {
					t.Fatalf("decode = %q, %v; want errBadCapability", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("decode = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestFileCapability(t *testing.T) {
	netRaw := string(mustHex(t, "0100000200200000000000000000000000000000"))
	ping := exe("/usr/bin/ping")
	ping.Xattrs = map[string]string{"security.capability": netRaw}
	bad := exe("/usr/bin/odd")
	bad.Xattrs = map[string]string{"security.capability": "\x01\x00"}
	other := exe("/usr/bin/labelled")
	other.Xattrs = map[string]string{"security.selinux": "system_u:object_r:bin_t:s0"}
	tests := []struct {
		name         string
		img          v1.Image
		want         []string
		wantEvidence map[string]string
	}{
		{"ping with cap_net_raw", image(t, v1.Config{}, ping, exe("/usr/bin/ls")),
			[]string{"/usr/bin/ping"}, map[string]string{"/usr/bin/ping": "cap_net_raw+ep"}},
		{"hardlink to a file with capabilities", image(t, v1.Config{}, ping, hardln("/usr/bin/ping4", "/usr/bin/ping")),
			[]string{"/usr/bin/ping", "/usr/bin/ping4"}, nil},
		{"malformed attribute is still reported", image(t, v1.Config{}, bad),
			[]string{"/usr/bin/odd"}, map[string]string{"/usr/bin/odd": "undecodable security.capability (2 bytes)"}},
		{"no capabilities", image(t, v1.Config{}, exe("/usr/bin/ls"), other, symlink("/usr/bin/p", "ping")), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wantPaths(t, scan(t, tt.img, fileCapability{}), RuleFileCapability, tt.want...)
			for p, ev := range tt.wantEvidence {
				if f := find(t, got, p); !strings.HasPrefix(f.Evidence, ev) {
					t.Errorf("%s: evidence %q, want prefix %q", p, f.Evidence, ev)
				}
			}
		})
	}
}
