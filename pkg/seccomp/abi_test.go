package seccomp

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"testing"
)

// TestTablesMatchKernelHeaders re-reads the UAPI headers the tables came from, when installed.
func TestTablesMatchKernelHeaders(t *testing.T) {
	re := regexp.MustCompile(`^#define __NR_(\w+)\s+(\d+)`)
	for _, tt := range []struct {
		abi    ABI
		header string
	}{
		{X8664, "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"},
		{I386, "/usr/include/x86_64-linux-gnu/asm/unistd_32.h"},
	} {
		t.Run(tt.abi.String(), func(t *testing.T) {
			f, err := os.Open(tt.header)
			if err != nil {
				t.Skipf("headers not installed: %v", err)
			}
			defer f.Close()
			n := 0
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				m := re.FindStringSubmatch(sc.Text())
				if m == nil {
					continue
				}
				nr, _ := strconv.Atoi(m[2])
				n++
				if got, ok := Name(tt.abi, nr); !ok || got != m[1] {
					t.Errorf("%s %d: table has %q, header %q", tt.abi, nr, got, m[1])
				}
				if got, ok := Number(tt.abi, m[1]); !ok || got != nr {
					t.Errorf("%s %s: table has %d, header %d", tt.abi, m[1], got, nr)
				}
			}
			if n < 300 {
				t.Fatalf("read only %d entries from %s", n, tt.header)
			}
		})
	}
}

func TestSet(t *testing.T) {
	var s Set
	if !s.Empty() || len(s.UsedABIs()) != 0 {
		t.Fatal("zero Set is not empty")
	}
	tests := []struct {
		abi  ABI
		name string
		ok   bool
	}{
		{X8664, "read", true},
		{X8664, "mmap2", false}, // i386 only
		{I386, "mmap2", true},
		{I386, "newfstatat", false}, // x86_64 only (i386 has fstatat64)
		{X8664, "nosuchcall", false},
	}
	for _, tt := range tests {
		if got := s.Add(tt.abi, tt.name); got != tt.ok {
			t.Errorf("Add(%s, %s) = %v, want %v", tt.abi, tt.name, got, tt.ok)
		}
		if got := s.Has(tt.abi, tt.name); got != tt.ok {
			t.Errorf("Has(%s, %s) = %v, want %v", tt.abi, tt.name, got, tt.ok)
		}
	}
	s.Add(I386, "read")
	if got := s.AllNames(); len(got) != 2 || got[0] != "mmap2" || got[1] != "read" {
		t.Errorf("AllNames() = %v", got)
	}
	if got := s.UsedABIs(); len(got) != 2 {
		t.Errorf("UsedABIs() = %v", got)
	}
	var o Set
	o.Add(X8664, "write")
	s.Union(o)
	if !s.Has(X8664, "write") || s.Len(X8664) != 2 {
		t.Errorf("Union: %v", s.Names(X8664))
	}
	if s.AddNr(X8664, 100000) || s.AddNr(X8664, -1) {
		t.Error("AddNr accepted a bad number")
	}
}
