package seccomp

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseAuditRecord(t *testing.T) {
	tests := []struct {
		name, in string
		want     AuditRecord
		wantName string
		wantErr  string
	}{
		{
			name: "netlink text",
			in: `audit(1795635865.541:10): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=19131 comm="runc:[2:INIT]" ` +
				`exe="/" sig=0 arch=c000003e syscall=217 compat=0 ip=0x40828e code=0x7ffc0000`,
			want:     AuditRecord{Serial: 10, PID: 19131, Comm: "runc:[2:INIT]", Exe: "/", Arch: 0xc000003e, Syscall: 217, Code: 0x7ffc0000},
			wantName: "getdents64",
		},
		{
			name: "dmesg line, i386, with spaces in exe",
			in: `[  476.4] audit: type=1326 audit(1795634971.709:2): auid=1 uid=0 gid=0 ses=1 pid=9 comm="a b" ` +
				`exe="/tmp/my prog" sig=0 arch=40000003 syscall=192 compat=1 ip=0x1 code=0x50001`,
			want:     AuditRecord{Serial: 2, PID: 9, Comm: "a b", Exe: "/tmp/my prog", Arch: 0x40000003, Syscall: 192, Code: 0x50001},
			wantName: "mmap2",
		},
		{name: "not audit", in: "hello", wantErr: "not an audit record"},
		{name: "another record type", in: `audit(1.2:3): op=set audit_enabled=1 res=1`, wantErr: "not a seccomp audit record"},
		{name: "bad number", in: `audit(1.2:3): pid=x arch=c000003e syscall=1 code=0x1`, wantErr: "pid"},
		{name: "unterminated quote", in: `audit(1.2:3): pid=1 comm="abc`, wantErr: "unterminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAuditRecord(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if n, ok := got.Name(); !ok || n != tt.wantName {
				t.Errorf("Name() = %q, %v; want %q", n, ok, tt.wantName)
			}
		})
	}
}

func TestAuditListenerAdd(t *testing.T) {
	// Two netlink messages in one datagram, the first not padded to 4 bytes, plus one of
	// another type.
	msg := func(typ uint16, text string) []byte {
		b := make([]byte, nlmsgHdrLen+len(text))
		n := uint32(len(b))
		b[0], b[1], b[2], b[3] = byte(n), byte(n>>8), byte(n>>16), byte(n>>24)
		b[4], b[5] = byte(typ), byte(typ>>8)
		copy(b[nlmsgHdrLen:], text)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	rec := `audit(1.2:3): pid=7 comm="x" exe="/x" arch=c000003e syscall=0 code=0x7ffc0000`
	first := rec
	for (nlmsgHdrLen+len(first))%4 == 0 {
		first += " "
	}
	var dgram []byte
	dgram = append(dgram, msg(auditSeccomp, first)...)
	dgram = append(dgram, msg(1300, "audit(1.2:4): arch=c000003e syscall=1")...)
	dgram = append(dgram, msg(auditSeccomp, strings.Replace(rec, "syscall=0", "syscall=1", 1))...)
	l := &AuditListener{}
	l.add(dgram)
	got := l.Records()
	if len(got) != 2 || got[0].Syscall != 0 || got[1].Syscall != 1 {
		t.Fatalf("records = %+v", got)
	}
}
