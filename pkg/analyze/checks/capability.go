package checks

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// RuleFileCapability reports files with file capabilities (the security.capability xattr).
var RuleFileCapability = &finding.Rule{
	ID: "IH1002", Slug: "file-capability", Title: "File has Linux file capabilities",
	Severity: finding.SeverityHigh, Category: finding.CategoryImageFS,
	Description: "A file in the final root filesystem carries a security.capability extended attribute: running it " +
		"grants the listed Linux capabilities (cap_net_raw, cap_sys_admin, ...) like a finer-grained setuid bit. " +
		"The evidence decodes the attribute into the getcap notation.",
	Remediation: "Remove the attribute in the build (setcap -r FILE) and grant the capabilities the service needs " +
		"at run time instead (ECS linuxParameters.capabilities.add), dropping all others.",
	Refs: []string{"ecs:R13"},
}

// capNames are the Linux capability names by number (include/uapi/linux/capability.h).
var capNames = []string{
	"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid",
	"cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap", "cap_linux_immutable",
	"cap_net_bind_service", "cap_net_broadcast", "cap_net_admin", "cap_net_raw", "cap_ipc_lock",
	"cap_ipc_owner", "cap_sys_module", "cap_sys_rawio", "cap_sys_chroot", "cap_sys_ptrace",
	"cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice", "cap_sys_resource",
	"cap_sys_time", "cap_sys_tty_config", "cap_mknod", "cap_lease", "cap_audit_write",
	"cap_audit_control", "cap_setfcap", "cap_mac_override", "cap_mac_admin", "cap_syslog",
	"cap_wake_alarm", "cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf",
	"cap_checkpoint_restore",
}

func capName(n int) string {
	if n < len(capNames) {
		return capNames[n]
	}
	return "cap_" + strconv.Itoa(n)
}

// vfs_cap_data layout (include/uapi/linux/capability.h): a little-endian magic_etc word
// (revision in the top byte, VFS_CAP_FLAGS_EFFECTIVE in bit 0), then permitted/inheritable
// pairs of 32-bit words (one pair for revision 1, two for 2 and 3), then for revision 3 the
// root UID of the user namespace the capabilities apply in.
const (
	vfsCapRevisionMask = 0xFF000000
	vfsCapRevision1    = 0x01000000
	vfsCapRevision2    = 0x02000000
	vfsCapRevision3    = 0x03000000
	vfsCapEffective    = 0x000001
)

var errBadCapability = errors.New("malformed security.capability attribute")

// decodeCapability turns a raw security.capability value into getcap-style text:
// "cap_net_raw+ep", "cap_chown+ei cap_net_raw+ep", with " rootid=N" for revision 3.
func decodeCapability(raw []byte) (string, error) {
	if len(raw) < 4 {
		return "", fmt.Errorf("%w: %d bytes", errBadCapability, len(raw))
	}
	magic := binary.LittleEndian.Uint32(raw)
	words, size := 0, 0
	switch magic & vfsCapRevisionMask {
	case vfsCapRevision1:
		words, size = 1, 12
	case vfsCapRevision2:
		words, size = 2, 20
	case vfsCapRevision3:
		words, size = 2, 24
	default:
		return "", fmt.Errorf("%w: unknown revision %#x", errBadCapability, magic>>24)
	}
	if len(raw) != size {
		return "", fmt.Errorf("%w: revision %d has %d bytes, want %d", errBadCapability, magic>>24, len(raw), size)
	}
	effective := magic&vfsCapEffective != 0
	flags := map[int]string{}
	var order []int
	for w := 0; w < words; w++ {
		perm := binary.LittleEndian.Uint32(raw[4+8*w:])
		inh := binary.LittleEndian.Uint32(raw[8+8*w:])
		for bit := 0; bit < 32; bit++ {
			p, i := perm&(1<<bit) != 0, inh&(1<<bit) != 0
			if !p && !i {
				continue
			}
			var f strings.Builder
			if effective {
				f.WriteByte('e')
			}
			if i {
				f.WriteByte('i')
			}
			if p {
				f.WriteByte('p')
			}
			n := 32*w + bit
			flags[n] = f.String()
			order = append(order, n)
		}
	}
	// Group capabilities with the same flags, as getcap does: "cap_a,cap_b+ep cap_c+i", in
	// the order of their lowest capability number.
	groups := map[string][]string{}
	var keys []string
	for _, n := range order {
		f := flags[n]
		if _, ok := groups[f]; !ok {
			keys = append(keys, f)
		}
		groups[f] = append(groups[f], capName(n))
	}
	var parts []string
	for _, k := range keys {
		parts = append(parts, strings.Join(groups[k], ",")+"+"+k)
	}
	s := strings.Join(parts, " ")
	if s == "" {
		s = "(empty capability sets)"
	}
	if magic&vfsCapRevisionMask == vfsCapRevision3 {
		if root := binary.LittleEndian.Uint32(raw[20:]); root != 0 {
			s += fmt.Sprintf(" rootid=%d", root)
		}
	}
	return s, nil
}

type fileCapability struct{}

func (fileCapability) Rules() []*finding.Rule { return []*finding.Rule{RuleFileCapability} }

func (fileCapability) CheckImage(_ context.Context, v *analyze.View, r analyze.Reporter) error {
	for _, e := range entries(v) {
		if e.IsSymlink() || e.IsDir() {
			continue
		}
		t := e
		if e.Hardlink {
			var err error
			if t, err = v.Resolve(e.Path); err != nil {
				continue
			}
		}
		raw, ok := t.Capability()
		if !ok {
			continue
		}
		caps, err := decodeCapability([]byte(raw))
		msg := e.Path + " has file capabilities " + caps
		if err != nil {
			caps = fmt.Sprintf("undecodable security.capability (%d bytes): %v", len(raw), err)
			msg = e.Path + " has a malformed security.capability attribute"
		}
		f := finding.New(RuleFileCapability, finding.Location{}, msg, caps)
		f.Details = map[string]string{"capabilities": caps}
		r.Report(e, f)
	}
	return nil
}
