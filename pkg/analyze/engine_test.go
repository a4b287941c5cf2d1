package analyze_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/imgharden/imgharden/internal/imagetest"
	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

var ruleContent = &finding.Rule{ID: "IH9001", Slug: "test-content", Title: "content has SECRET", Severity: finding.SeverityHigh}

// contentCheck reports every regular file whose body contains "SECRET" and counts body reads.
type contentCheck struct{ calls *atomic.Int64 }

func (contentCheck) Rules() []*finding.Rule      { return []*finding.Rule{ruleContent} }
func (contentCheck) Wants(e *analyze.Entry) bool { return e.IsRegular() && !e.Hardlink }
func (c contentCheck) CheckFile(_ context.Context, e *analyze.Entry, b analyze.Body, r analyze.Reporter) error {
	data, err := b.Bytes()
	if err != nil {
		return err
	}
	if c.calls != nil {
		c.calls.Add(1)
	}
	if bytes.Contains(data, []byte("SECRET")) {
		r.Report(e, finding.New(ruleContent, finding.Location{}, "secret in "+e.Path, "SE****ET"))
	}
	return nil
}

type failingCheck struct{}

var ruleFail = &finding.Rule{ID: "IH9002", Slug: "test-fail", Title: "fails", Severity: finding.SeverityLow}

func (failingCheck) Rules() []*finding.Rule      { return []*finding.Rule{ruleFail} }
func (failingCheck) Wants(e *analyze.Entry) bool { return e.Path == "/boom" }
func (failingCheck) CheckFile(context.Context, *analyze.Entry, analyze.Body, analyze.Reporter) error {
	return errors.New("kaboom")
}

// passwdRetainer keeps /etc/passwd for an image check.
type passwdRetainer struct{ got *string }

var rulePasswd = &finding.Rule{ID: "IH9003", Slug: "test-passwd", Title: "passwd", Severity: finding.SeverityInfo}

func (passwdRetainer) Rules() []*finding.Rule       { return []*finding.Rule{rulePasswd} }
func (passwdRetainer) Retain(e *analyze.Entry) bool { return e.Path == "/etc/passwd" }
func (p passwdRetainer) CheckImage(_ context.Context, v *analyze.View, _ analyze.Reporter) error {
	b, err := v.ReadFile("/etc/passwd")
	if err != nil {
		return err
	}
	*p.got = string(b)
	return nil
}

func paths(t *testing.T, v *analyze.View) []string {
	t.Helper()
	var out []string
	if err := v.Walk(func(e *analyze.Entry) error { out = append(out, e.Path); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMergeWhiteoutsAndOpaque(t *testing.T) {
	img := imagetest.Image(t, v1.Config{},
		imagetest.Layer{CreatedBy: "base", Files: []imagetest.File{
			imagetest.Dir("/etc/"), imagetest.Reg("/etc/keep", "k"), imagetest.Reg("/etc/gone", "g"),
			imagetest.Dir("/opt/"), imagetest.Dir("/opt/app/"), imagetest.Reg("/opt/app/old", "o"),
			imagetest.Dir("/var/"), imagetest.Dir("/var/tree/"), imagetest.Reg("/var/tree/a", "a"),
		}},
		imagetest.Layer{CreatedBy: "rm", Whiteouts: []string{"/etc/gone", "/var/tree"}},
		imagetest.Layer{CreatedBy: "opaque", Opaque: []string{"/opt/app"}, Files: []imagetest.File{
			imagetest.Dir("/opt/app/"), imagetest.Reg("/opt/app/new", "n"),
		}},
	)
	res, err := analyze.New().Run(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(paths(t, res.View), " ")
	want := "/etc /etc/keep /opt /opt/app /opt/app/new /var"
	if got != want {
		t.Fatalf("merged tree\n got %s\nwant %s", got, want)
	}
	if e, ok := res.View.Lookup("/opt/app/new"); !ok || e.Layer != 2 {
		t.Fatalf("/opt/app/new: %+v %v", e, ok)
	}
	if len(res.Layers) != 3 || res.Layers[1].CreatedBy != "rm" {
		t.Fatalf("layers: %+v", res.Layers)
	}
}

func TestFindingsInRemovedAndOverwrittenFiles(t *testing.T) {
	img := imagetest.Image(t, v1.Config{},
		imagetest.Layer{CreatedBy: "COPY id_rsa /root/", Files: []imagetest.File{
			imagetest.Reg("/root/id_rsa", "SECRET key"), imagetest.Reg("/app/conf", "SECRET=1"), imagetest.Reg("/app/kept", "SECRET=2"),
		}},
		imagetest.Layer{CreatedBy: "RUN rm /root/id_rsa", Whiteouts: []string{"/root/id_rsa"}},
		imagetest.Layer{CreatedBy: "RUN echo clean > /app/conf", Files: []imagetest.File{imagetest.Reg("/app/conf", "clean")}},
	)
	res, err := analyze.New(analyze.WithChecks(contentCheck{})).Run(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		path      string
		layer     int
		removed   bool
		createdBy string
	}
	var got []row
	for _, f := range res.Findings {
		got = append(got, row{f.Location.Path, f.Location.LayerIndex, f.Location.Removed, f.Location.CreatedBy})
		if f.Location.DiffID == "" || f.Location.LayerDigest == "" {
			t.Errorf("finding without digests: %v", f)
		}
	}
	sort.Slice(got, func(i, j int) bool { return got[i].path < got[j].path })
	want := []row{
		{"/app/conf", 0, true, "COPY id_rsa /root/"},
		{"/app/kept", 0, false, "COPY id_rsa /root/"},
		{"/root/id_rsa", 0, true, "COPY id_rsa /root/"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("finding %d: got %+v want %+v", i, got[i], want[i])
		}
	}
}

func TestHistoryMapping(t *testing.T) {
	layers := []imagetest.Layer{
		{CreatedBy: "ADD rootfs", Files: []imagetest.File{imagetest.Reg("/a", "SECRET")}},
		{CreatedBy: "COPY b", Files: []imagetest.File{imagetest.Reg("/b", "SECRET")}},
	}
	base := imagetest.Image(t, v1.Config{}, layers...)
	tests := []struct {
		name    string
		history []v1.History
		want    []string // createdBy of /a and /b
	}{
		{"plain", nil, []string{"ADD rootfs", "COPY b"}},
		{"empty layers skipped", []v1.History{
			{CreatedBy: "ADD rootfs"}, {CreatedBy: "ENV A=1", EmptyLayer: true},
			{CreatedBy: "LABEL x=y", EmptyLayer: true}, {CreatedBy: "COPY b"}, {CreatedBy: "CMD x", EmptyLayer: true},
		}, []string{"ADD rootfs", "COPY b"}},
		{"no history", []v1.History{}, []string{"", ""}},
		{"short history", []v1.History{{CreatedBy: "ADD rootfs"}}, []string{"ADD rootfs", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := base
			if tt.history != nil {
				img = imagetest.WithHistory(t, base, tt.history)
			}
			res, err := analyze.New(analyze.WithChecks(contentCheck{})).Run(context.Background(), img)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range res.Findings {
				got = append(got, f.Location.CreatedBy)
			}
			sort.Strings(got)
			want := append([]string(nil), tt.want...)
			sort.Strings(want)
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("createdBy: got %q want %q", got, want)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	img := imagetest.Image(t, v1.Config{}, imagetest.Layer{Files: []imagetest.File{
		imagetest.Dir("/bin/"), imagetest.Exe("/bin/busybox"),
		imagetest.Symlink("/bin/sh", "busybox"),
		imagetest.Symlink("/bin/abs", "/bin/busybox"),
		imagetest.Dir("/usr/"), imagetest.Dir("/usr/lib/"), imagetest.Reg("/usr/lib/libc.so.6", "elf"),
		imagetest.Symlink("/lib", "usr/lib"),
		imagetest.Symlink("/loop1", "loop2"), imagetest.Symlink("/loop2", "/loop1"),
		imagetest.Symlink("/escape", "../../../etc/shadow"),
		imagetest.Symlink("/dangling", "/nowhere"),
		imagetest.Hardlink("/bin/nc", "/bin/busybox"),
	}})
	res, err := analyze.New().Run(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path    string
		want    string
		wantErr error
	}{
		{"/bin/sh", "/bin/busybox", nil},
		{"/bin/abs", "/bin/busybox", nil},
		{"/lib/libc.so.6", "/usr/lib/libc.so.6", nil},
		{"/bin/nc", "/bin/busybox", nil},
		{"/loop1", "", analyze.ErrLinkLoop},
		{"/escape", "", analyze.ErrLinkEscape},
		{"/dangling", "", fs.ErrNotExist},
		{"/bin/../bin/sh", "/bin/busybox", nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			e, err := res.View.Resolve(tt.path)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || e.Path != tt.want {
				t.Fatalf("Resolve(%s) = %v, %v; want %s", tt.path, e, err, tt.want)
			}
		})
	}
}

func TestBodyReadOnceAndShared(t *testing.T) {
	var calls atomic.Int64
	img := imagetest.Image(t, v1.Config{}, imagetest.Layer{Files: []imagetest.File{
		imagetest.Reg("/a", "SECRET"), imagetest.Reg("/b", "nothing"),
	}})
	// Two content checks on the same entries share one read: if the second read from the
	// tar stream, it would get no bytes and miss the secret.
	res, err := analyze.New(analyze.WithChecks(contentCheck{&calls}, contentCheck{&calls})).Run(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 4 {
		t.Fatalf("CheckFile calls = %d, want 4", calls.Load())
	}
	if len(res.Findings) != 2 {
		t.Fatalf("want the secret reported by both checks, got %v", res.Findings)
	}
}

func TestMaxFileSizeTruncates(t *testing.T) {
	img := imagetest.Image(t, v1.Config{}, imagetest.Layer{Files: []imagetest.File{
		imagetest.Reg("/early", "SECRET"+strings.Repeat("x", 100)),
		imagetest.Reg("/late", strings.Repeat("x", 100)+"SECRET"),
		imagetest.Reg("/after", "SECRET"), // the walk must stay in sync after a partial read
	}})
	res, err := analyze.New(analyze.WithChecks(contentCheck{}), analyze.WithMaxFileSize(50)).Run(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.Location.Path)
	}
	sort.Strings(got)
	if strings.Join(got, " ") != "/after /early" {
		t.Fatalf("got %v", got)
	}
}

func TestCheckFailureBecomesFinding(t *testing.T) {
	img := imagetest.Image(t, v1.Config{}, imagetest.Layer{Files: []imagetest.File{imagetest.Reg("/boom", "x")}})
	res, err := analyze.New(analyze.WithChecks(failingCheck{})).Run(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 || res.Findings[0].RuleID != "IH0001" || !strings.Contains(res.Findings[0].Message, "kaboom") {
		t.Fatalf("got %v", res.Findings)
	}
}

func TestRetainedBodies(t *testing.T) {
	var got string
	img := imagetest.Image(t, v1.Config{},
		imagetest.Layer{Files: []imagetest.File{imagetest.Reg("/etc/passwd", "root:x:0:0::/root:/bin/sh\n")}},
		imagetest.Layer{Files: []imagetest.File{imagetest.Reg("/etc/passwd", "app:x:1000:1000::/:/bin/false\n"), imagetest.Reg("/etc/other", "x")}},
	)
	res, err := analyze.New(analyze.WithChecks(passwdRetainer{&got})).Run(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	if got != "app:x:1000:1000::/:/bin/false\n" {
		t.Fatalf("retained passwd = %q (want the top layer's)", got)
	}
	if _, err := res.View.ReadFile("/etc/other"); !errors.Is(err, analyze.ErrNotRetained) {
		t.Fatalf("ReadFile of a file nobody retained: %v", err)
	}
}

// sizedRetainer keeps /big with its own size cap and /small with the engine's.
type sizedRetainer struct{ size int64 }

func (sizedRetainer) Rules() []*finding.Rule       { return []*finding.Rule{rulePasswd} }
func (sizedRetainer) Retain(e *analyze.Entry) bool { return e.Path == "/big" || e.Path == "/small" }
func (r sizedRetainer) RetainSize(e *analyze.Entry) int64 {
	if e.Path == "/big" {
		return r.size
	}
	return 0
}

func TestSizedRetainer(t *testing.T) {
	big := strings.Repeat("b", 3000)
	img := imagetest.Image(t, v1.Config{}, imagetest.Layer{Files: []imagetest.File{
		imagetest.Reg("/big", big), imagetest.Reg("/small", strings.Repeat("s", 1500)),
	}})
	tests := []struct {
		name                string
		retainSize, maxFile int64
		sized               int64
		wantBig, wantSmall  bool
	}{
		{"own cap above the retain size", 1000, 8 << 20, 4096, true, false},
		{"own cap below the file", 1000, 8 << 20, 2999, false, false},
		{"retain size larger than the own cap", 4096, 8 << 20, 10, true, true},
		{"never above the maximum file size", 1000, 2000, 1 << 20, false, false},
		{"exactly the cap", 1000, 8 << 20, 3000, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := analyze.New(analyze.WithChecks(sizedRetainer{tt.sized}),
				analyze.WithRetainSize(tt.retainSize), analyze.WithMaxFileSize(tt.maxFile)).Run(context.Background(), img)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				path string
				want bool
				body string
			}{{"/big", tt.wantBig, big}, {"/small", tt.wantSmall, strings.Repeat("s", 1500)}} {
				b, err := res.View.ReadFile(c.path)
				switch {
				case c.want && (err != nil || string(b) != c.body):
					t.Errorf("%s: got %d bytes, %v; want the whole body", c.path, len(b), err)
				case !c.want && !errors.Is(err, analyze.ErrNotRetained):
					t.Errorf("%s: got %d bytes, %v; want ErrNotRetained", c.path, len(b), err)
				}
			}
		})
	}
}

func TestUnsafeEntryNames(t *testing.T) {
	tests := []struct {
		name string
		file imagetest.File
		want int
	}{
		{"dotdot", imagetest.File{Path: "/x", RawName: "../../etc/cron.d/evil", Content: "x"}, 1},
		{"absolute", imagetest.File{Path: "/x", RawName: "/etc/passwd", Content: "x"}, 1},
		{"hardlink out", imagetest.File{Path: "/y", Hardlink: true, Link: "../../../etc/shadow"}, 1},
		{"normal", imagetest.File{Path: "/etc/ok", Content: "x"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := imagetest.Image(t, v1.Config{}, imagetest.Layer{Files: []imagetest.File{tt.file}})
			res, err := analyze.New().Run(context.Background(), img)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, f := range res.Findings {
				if f.RuleID == analyze.RuleUnsafeEntry.ID {
					n++
				}
			}
			if n != tt.want {
				t.Fatalf("unsafe findings = %d, want %d: %v", n, tt.want, res.Findings)
			}
		})
	}
}

// layerFrom builds a v1.Layer over raw bytes that are served as they are (corrupt on purpose).
func imageWithRawLayer(t *testing.T, raw []byte, diffID v1.Hash) v1.Image {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(imagetest.Image(t, v1.Config{}), l)
	if err != nil {
		t.Fatal(err)
	}
	if diffID.Hex != "" {
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.RootFS.DiffIDs[0] = diffID
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

func TestCorruptLayers(t *testing.T) {
	good := imagetest.LayerTar(t, imagetest.Layer{Files: []imagetest.File{imagetest.Reg("/a", strings.Repeat("data", 1000))}})
	other, _, _ := v1.SHA256(strings.NewReader("something else"))
	tests := []struct {
		name   string
		raw    []byte
		diffID v1.Hash
		want   string
	}{
		{"truncated", good[:1500], v1.Hash{}, "unexpected EOF"},
		{"garbage", bytes.Repeat([]byte{0xff}, 2048), v1.Hash{}, "reading tar"},
		{"diffID mismatch", good, other, "does not match its diff ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := imageWithRawLayer(t, tt.raw, tt.diffID)
			_, err := analyze.New(analyze.WithChecks(contentCheck{})).Run(context.Background(), img)
			var le *analyze.LayerError
			if !errors.As(err, &le) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a LayerError containing %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "layer 0 (sha256:") {
				t.Fatalf("error does not name the layer: %v", err)
			}
		})
	}
}

func TestSymlinkedParentIsReplacedByDirectory(t *testing.T) {
	img := imagetest.Image(t, v1.Config{},
		imagetest.Layer{Files: []imagetest.File{imagetest.Reg("/a", "file")}},
		imagetest.Layer{Files: []imagetest.File{imagetest.Dir("/a/"), imagetest.Reg("/a/b", "x")}},
	)
	res, err := analyze.New().Run(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(paths(t, res.View), " "); got != "/a /a/b" {
		t.Fatalf("got %s", got)
	}
}

func TestCreatedByIsRedacted(t *testing.T) {
	token := "npm_" + strings.Repeat("a1B2c3D4e5", 3) + "xyz123"
	img := imagetest.Image(t, v1.Config{}, imagetest.Layer{
		CreatedBy: "RUN |1 NPM_TOKEN=" + token + " /bin/sh -c npm ci",
		Files:     []imagetest.File{imagetest.Reg("/app/x", "SECRET")},
	})
	res, err := analyze.New(analyze.WithChecks(contentCheck{})).Run(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 {
		t.Fatalf("findings: %v", res.Findings)
	}
	for _, s := range []string{res.Findings[0].Location.CreatedBy, res.Layers[0].CreatedBy} {
		if strings.Contains(s, token) || !strings.Contains(s, "NPM_TOKEN=") {
			t.Fatalf("createdBy not redacted: %q", s)
		}
	}
}
