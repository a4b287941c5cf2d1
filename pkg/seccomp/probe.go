package seccomp

import (
	"encoding/binary"
	"fmt"
)

// ProbeELF returns a tiny static x86_64 Linux executable that makes syscall nr with all six
// arguments zero and exits with the errno it got (0 when the call succeeded). Run as a
// container's entrypoint under a profile, it shows what the loaded filter does with that call;
// apart from the runtime's execve it needs only exit_group (or exit) to report.
//
// A signal ends it instead when the profile kills or traps the call (exit code 128+signal).
func ProbeELF(nr int) ([]byte, error) {
	if _, ok := Name(X8664, nr); !ok {
		return nil, fmt.Errorf("no x86_64 syscall number %d", nr)
	}
	const base = 0x400000
	const hdrs = 64 + 56 // ELF header + one program header
	code := []byte{
		0xb8, 0, 0, 0, 0, // mov eax, nr
		0x31, 0xff, // xor edi, edi
		0x31, 0xf6, // xor esi, esi
		0x31, 0xd2, // xor edx, edx
		0x45, 0x31, 0xd2, // xor r10d, r10d
		0x45, 0x31, 0xc0, // xor r8d, r8d
		0x45, 0x31, 0xc9, // xor r9d, r9d
		0x0f, 0x05, // syscall
		0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff, // cmp rax, -4095
		0x73, 0x04, // jae err (+4)
		0x31, 0xff, // xor edi, edi            ; success: exit 0
		0xeb, 0x06, // jmp exit (+6)
		0x48, 0x89, 0xc7, // err: mov rdi, rax
		0x48, 0xf7, 0xdf, //      neg rdi           ; exit code = errno
		0xb8, 0xe7, 0, 0, 0, // exit: mov eax, 231 (exit_group)
		0x0f, 0x05, // syscall
		0xb8, 0x3c, 0, 0, 0, // mov eax, 60 (exit), if exit_group was refused
		0x0f, 0x05, // syscall
		0x0f, 0x0b, // ud2: both refused, die by SIGILL
	}
	binary.LittleEndian.PutUint32(code[1:5], uint32(nr))
	size := hdrs + len(code)
	b := make([]byte, hdrs, size)
	le := binary.LittleEndian
	copy(b[0:], []byte{0x7f, 'E', 'L', 'F', 2, 1, 1}) // 64-bit, little endian, version 1
	le.PutUint16(b[16:], 2)                           // ET_EXEC
	le.PutUint16(b[18:], 62)                          // EM_X86_64
	le.PutUint32(b[20:], 1)                           // EV_CURRENT
	le.PutUint64(b[24:], base+hdrs)                   // e_entry
	le.PutUint64(b[32:], 64)                          // e_phoff
	le.PutUint16(b[52:], 64)                          // e_ehsize
	le.PutUint16(b[54:], 56)                          // e_phentsize
	le.PutUint16(b[56:], 1)                           // e_phnum
	ph := b[64:]
	le.PutUint32(ph[0:], 1)             // PT_LOAD
	le.PutUint32(ph[4:], 5)             // PF_R|PF_X
	le.PutUint64(ph[8:], 0)             // p_offset
	le.PutUint64(ph[16:], base)         // p_vaddr
	le.PutUint64(ph[24:], base)         // p_paddr
	le.PutUint64(ph[32:], uint64(size)) // p_filesz
	le.PutUint64(ph[40:], uint64(size)) // p_memsz
	le.PutUint64(ph[48:], 0x1000)       // p_align
	return append(b, code...), nil
}
