package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// AuditRecord is one seccomp record the kernel writes (audit type 1326, AUDIT_SECCOMP) when a
// filter returns SCMP_ACT_LOG, a kill action, or any action under SECCOMP_FILTER_FLAG_LOG.
type AuditRecord struct {
	Serial  uint64 // the audit serial number
	PID     int    // thread-group id on the host
	Comm    string
	Exe     string
	Arch    uint32 // AUDIT_ARCH_*
	Syscall int
	Code    uint32 // the SECCOMP_RET_* action
}

// ABI maps the record's arch to an ABI.
func (r AuditRecord) ABI() (ABI, bool) {
	for _, a := range ABIs {
		if a.AuditArch() == r.Arch {
			return a, true
		}
	}
	return 0, false
}

// Name is the syscall's name in the record's ABI.
func (r AuditRecord) Name() (string, bool) {
	a, ok := r.ABI()
	if !ok {
		return "", false
	}
	return Name(a, r.Syscall)
}

// ParseAuditRecord reads the text of an AUDIT_SECCOMP record, as netlink delivers it or as
// dmesg shows it after "audit: type=1326 ":
//
//	audit(1795635865.541:10): auid=4294967295 uid=0 ... pid=19131 comm="runc:[2:INIT]" exe="/"
//	sig=0 arch=c000003e syscall=217 compat=0 ip=0x40828e code=0x7ffc0000
func ParseAuditRecord(text string) (AuditRecord, error) {
	var r AuditRecord
	i := strings.Index(text, "audit(")
	if i < 0 {
		return r, fmt.Errorf("not an audit record: %.60q", text)
	}
	rest := text[i+len("audit("):]
	end := strings.Index(rest, "):")
	if end < 0 {
		return r, fmt.Errorf("not an audit record: %.60q", text)
	}
	if c := strings.LastIndexByte(rest[:end], ':'); c >= 0 {
		r.Serial, _ = strconv.ParseUint(rest[c+1:end], 10, 64)
	}
	rest = rest[end+2:]
	seen := 0
	for len(rest) > 0 {
		rest = strings.TrimLeft(rest, " ")
		eq := strings.IndexByte(rest, '=')
		if eq < 0 {
			break
		}
		key := rest[:eq]
		rest = rest[eq+1:]
		var val string
		if strings.HasPrefix(rest, `"`) {
			q := strings.IndexByte(rest[1:], '"')
			if q < 0 {
				return r, fmt.Errorf("unterminated %s in audit record", key)
			}
			val, rest = rest[1:1+q], rest[q+2:]
		} else {
			sp := strings.IndexByte(rest, ' ')
			if sp < 0 {
				sp = len(rest)
			}
			val, rest = rest[:sp], rest[sp:]
		}
		var err error
		switch key {
		case "pid":
			r.PID, err = strconv.Atoi(val)
			seen |= 1
		case "comm":
			r.Comm = val
		case "exe":
			r.Exe = val
		case "arch":
			var a uint64
			a, err = strconv.ParseUint(val, 16, 32)
			r.Arch = uint32(a)
			seen |= 2
		case "syscall":
			r.Syscall, err = strconv.Atoi(val)
			seen |= 4
		case "code":
			var c uint64
			c, err = strconv.ParseUint(strings.TrimPrefix(val, "0x"), 16, 32)
			r.Code = uint32(c)
			seen |= 8
		}
		if err != nil {
			return r, fmt.Errorf("audit record field %s=%q: %v", key, val, err)
		}
	}
	if seen != 15 {
		return r, fmt.Errorf("not a seccomp audit record (pid, arch, syscall, code): %.80q", text)
	}
	return r, nil
}

// AuditListener receives seccomp audit records from the kernel's read-only audit multicast
// group (AUDIT_NLGRP_READLOG). It needs CAP_AUDIT_READ, works with or without auditd, and
// unlike dmesg it is not rate limited.
type AuditListener struct {
	fd      int
	mu      sync.Mutex
	records []AuditRecord
	bad     int
	stop    chan struct{}
	done    chan struct{}
}

const (
	netlinkAudit      = 9    // NETLINK_AUDIT
	auditNlgrpReadlog = 1    // AUDIT_NLGRP_READLOG
	auditSeccomp      = 1326 // AUDIT_SECCOMP
	nlmsgHdrLen       = 16
)

// ListenAudit starts collecting seccomp audit records.
func ListenAudit() (*AuditListener, error) {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, netlinkAudit)
	if err != nil {
		return nil, fmt.Errorf("audit netlink socket: %w", err)
	}
	// A container start logs hundreds of records at once: make room for them.
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, 32<<20); err != nil {
		_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 32<<20)
	}
	tv := syscall.Timeval{Usec: 100_000}
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("audit netlink socket: %w", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK, Groups: 1 << (auditNlgrpReadlog - 1)}); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("joining the audit log multicast group (needs CAP_AUDIT_READ): %w", err)
	}
	l := &AuditListener{fd: fd, stop: make(chan struct{}), done: make(chan struct{})}
	go l.loop()
	return l, nil
}

func (l *AuditListener) loop() {
	defer close(l.done)
	buf := make([]byte, 1<<16)
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		n, _, err := syscall.Recvfrom(l.fd, buf, 0)
		if err != nil {
			if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
				continue
			}
			return
		}
		l.add(buf[:n])
	}
}

// add reads the netlink messages of one datagram. Audit messages are not padded to the
// 4-byte netlink alignment, so syscall.ParseNetlinkMessage rejects most of them.
func (l *AuditListener) add(b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(b) >= nlmsgHdrLen {
		n := int(binary.NativeEndian.Uint32(b[0:4]))
		typ := binary.NativeEndian.Uint16(b[4:6])
		if n < nlmsgHdrLen || n > len(b) {
			n = len(b)
		}
		if typ == auditSeccomp {
			if r, err := ParseAuditRecord(string(b[nlmsgHdrLen:n])); err == nil {
				l.records = append(l.records, r)
			} else {
				l.bad++
			}
		}
		adv := (n + 3) &^ 3
		if adv > len(b) {
			break
		}
		b = b[adv:]
	}
}

// Records returns the records received so far.
func (l *AuditListener) Records() []AuditRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]AuditRecord(nil), l.records...)
}

// Settle waits until no new record has arrived for quiet, or max has passed.
func (l *AuditListener) Settle(quiet, max time.Duration) {
	deadline := time.Now().Add(max)
	last, lastChange := -1, time.Now()
	for time.Now().Before(deadline) {
		l.mu.Lock()
		n := len(l.records)
		l.mu.Unlock()
		if n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) >= quiet {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Close stops listening.
func (l *AuditListener) Close() error {
	close(l.stop)
	<-l.done
	return syscall.Close(l.fd)
}
