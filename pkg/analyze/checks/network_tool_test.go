package checks

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/internal/imagetest"
)

func TestNetworkTool(t *testing.T) {
	tests := []struct {
		name  string
		cfg   v1.Config
		files []imagetest.File
		want  []string
	}{
		{"curl, ssh family and alternatives", v1.Config{}, []imagetest.File{
			exe("/usr/bin/curl"), exe("/usr/bin/ssh"), symlink("/usr/bin/scp", "ssh"), exe("/usr/bin/sftp"),
			exe("/bin/nc.openbsd"), symlink("/etc/alternatives/nc", "/bin/nc.openbsd"), symlink("/bin/nc", "/etc/alternatives/nc"),
			exe("/usr/sbin/tcpdump"), exe("/usr/bin/nmap"), exe("/usr/bin/socat"), exe("/usr/bin/telnet"),
			exe("/usr/bin/ftp"), exe("/usr/bin/tftp"), exe("/usr/bin/ncat"), exe("/usr/bin/netcat"),
		}, []string{"/usr/bin/curl", "/usr/bin/ssh", "/usr/bin/scp", "/usr/bin/sftp", "/bin/nc.openbsd", "/bin/nc",
			"/usr/sbin/tcpdump", "/usr/bin/nmap", "/usr/bin/socat", "/usr/bin/telnet", "/usr/bin/ftp", "/usr/bin/tftp",
			"/usr/bin/ncat", "/usr/bin/netcat"}},
		{"busybox applets", v1.Config{}, []imagetest.File{
			exe("/bin/busybox"), symlink("/usr/bin/wget", "/bin/busybox"), hardln("/usr/bin/nc", "/bin/busybox"),
			symlink("/bin/sh", "/bin/busybox"), symlink("/usr/bin/tftp", "/bin/busybox"),
		}, []string{"/usr/bin/wget", "/usr/bin/nc", "/usr/bin/tftp"}},
		{"rsh alternative pointing at ssh", v1.Config{}, []imagetest.File{
			exe("/usr/bin/ssh"), symlink("/usr/bin/rsh", "/etc/alternatives/rsh"), symlink("/etc/alternatives/rsh", "/usr/bin/ssh"),
		}, []string{"/usr/bin/ssh", "/usr/bin/rsh"}},
		{"tools on the image PATH", v1.Config{Env: []string{"PATH=/opt/net/bin"}}, []imagetest.File{exe("/opt/net/bin/wget2")},
			[]string{"/opt/net/bin/wget2"}},
		{"look-alikes, docs and libraries", v1.Config{}, []imagetest.File{
			exe("/usr/bin/curl-config"), exe("/usr/bin/ssh-keygen"), exe("/usr/bin/ssh-agent"),
			dir("/usr/share/doc/curl/"), reg("/usr/share/doc/curl/copyright", "x"), reg("/usr/lib/x86_64-linux-gnu/libcurl.so.4", "elf"),
			dir("/usr/bin/wget/"), reg("/usr/local/bin/nc", "not executable"), exe("/opt/curl/curl"),
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantPaths(t, scan(t, image(t, tt.cfg, tt.files...), networkTool{}), RuleNetworkTool, tt.want...)
		})
	}
}
