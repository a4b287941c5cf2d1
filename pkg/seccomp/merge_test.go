package seccomp

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func allow(names ...string) Rule { return Rule{Names: names, Action: ActAllow} }

func prof(rules ...Rule) *Profile {
	return &Profile{DefaultAction: ActErrno, DefaultErrnoRet: uintPtr(1), Architectures: []string{"SCMP_ARCH_X86_64"}, Syscalls: rules}
}

func TestMerge(t *testing.T) {
	sock := Rule{Names: []string{"socket"}, Action: ActAllow, Args: []Arg{{Index: 0, Value: 40, Op: "SCMP_CMP_NE"}}}
	enosys := Rule{Names: []string{"clone3"}, Action: ActErrno, ErrnoRet: uintPtr(38)}
	i386 := prof(allow("mmap2"))
	i386.Architectures = []string{"SCMP_ARCH_X86", "SCMP_ARCH_X86_64"}
	tests := []struct {
		name    string
		in      []*Profile
		want    *Profile
		wantErr string
	}{
		{
			name: "union of names",
			in:   []*Profile{prof(allow("write", "read")), prof(allow("read", "close"))},
			want: prof(allow("close", "read", "write")),
		},
		{
			name: "allow beats a clone3 ENOSYS rule",
			in:   []*Profile{prof(allow("clone"), enosys), prof(allow("clone", "clone3"))},
			want: prof(allow("clone", "clone3")),
		},
		{
			name: "ENOSYS rule kept when nobody allows clone3",
			in:   []*Profile{prof(allow("clone"), enosys), prof(allow("read"))},
			want: prof(allow("clone", "read"), enosys),
		},
		{
			name: "conditional rule kept, deduplicated",
			in:   []*Profile{prof(allow("read"), sock), prof(sock)},
			want: prof(allow("read"), sock),
		},
		{
			name: "conditional rule dropped when another profile allows the call outright",
			in:   []*Profile{prof(sock), prof(allow("socket"))},
			want: prof(allow("socket")),
		},
		{
			name: "architectures united, x86_64 first",
			in:   []*Profile{i386, prof(allow("read"))},
			want: func() *Profile {
				p := prof(allow("mmap2", "read"))
				p.Architectures = []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}
				return p
			}(),
		},
		{
			name: "comments of plain rules dropped",
			in:   []*Profile{prof(Rule{Names: []string{"read"}, Action: ActAllow, Comment: "traced"})},
			want: prof(allow("read")),
		},
		{
			name:    "different defaults",
			in:      []*Profile{prof(allow("read")), {DefaultAction: ActKill, Syscalls: []Rule{allow("read")}}},
			wantErr: "different defaults",
		},
		{
			name:    "different default errno",
			in:      []*Profile{prof(allow("read")), {DefaultAction: ActErrno, DefaultErrnoRet: uintPtr(38), Syscalls: []Rule{allow("read")}}},
			wantErr: "different defaults",
		},
		{
			name:    "nothing",
			in:      nil,
			wantErr: "nothing to merge",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Merge(tt.in...)
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
			// Order independence: the reversed input gives the same bytes.
			rev := append([]*Profile(nil), tt.in...)
			for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
				rev[i], rev[j] = rev[j], rev[i]
			}
			again, err := Merge(rev...)
			if err != nil {
				t.Fatal(err)
			}
			var a, b bytes.Buffer
			_ = got.WriteJSON(&a)
			_ = again.WriteJSON(&b)
			if a.String() != b.String() {
				t.Errorf("merge depends on order:\n%s\nvs\n%s", a.String(), b.String())
			}
		})
	}
}

func TestMergeIsIdempotent(t *testing.T) {
	p := DockerDefault()
	once, err := Merge(p)
	if err != nil {
		t.Fatal(err)
	}
	twice, err := Merge(once, once)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(once, twice); d != "" {
		t.Errorf("(-once +twice):\n%s", d)
	}
	// Merging must not change what the profile allows.
	env := DefaultEnv()
	if d := cmp.Diff(p.Stances(env, ABIs), once.Stances(env, ABIs)); d != "" {
		t.Errorf("merge changed Docker's default (-before +after):\n%s", d)
	}
}
