package checks

import (
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/internal/imagetest"
)

func TestRemoteAdd(t *testing.T) {
	tests := []struct {
		name, createdBy string
		wantURL         string // "" = no finding
		wantCreatedBy   string // default: createdBy without surrounding spaces
	}{
		{"buildkit", "ADD https://example.com/app.tar.gz /opt/ # buildkit", "https://example.com/app.tar.gz", ""},
		{"classic builder", "/bin/sh -c #(nop) ADD http://example.com/x.sh in /x ", "http://example.com/x.sh", ""},
		{"JSON form", `ADD ["https://example.com/a.bin", "/a"]`, "https://example.com/a.bin", ""},
		{"with --chown", "ADD --chown=app:app https://example.com/a /a # buildkit", "https://example.com/a", ""},
		{"git source", "ADD git@github.com:org/repo.git /src # buildkit", "git@github.com:org/repo.git", ""},
		{"git https with ref", "ADD https://github.com/org/repo.git#v1.2.3 /src", "https://github.com/org/repo.git#v1.2.3", ""},
		{"credentials are masked", "ADD https://deploy:supersecretpassw0rd@example.com/a?token=abcdefghijklmnopqrst&x=1 /a",
			"https://deploy:supe***********w0rd@example.com/a?token=abcd************qrst&x=****",
			"ADD https://deploy:supe***********w0rd@example.com/a?token=abcd************qrst&x=**** /a"},
		{"pinned by --checksum", "ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/a /a", "", ""},
		{"local file", "/bin/sh -c #(nop) ADD file:8f3a0c in / ", "", ""},
		{"COPY", "COPY --from=build /src/https:/x /x # buildkit", "", ""},
		{"curl in RUN", "RUN /bin/sh -c curl -fsSL https://example.com/x | sh # buildkit", "", ""},
		{"classic RUN", "/bin/sh -c wget https://example.com/x", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := imagetest.Image(t, v1.Config{},
				imagetest.Layer{CreatedBy: "ADD rootfs.tar /", Files: []imagetest.File{exe("/bin/true")}},
				imagetest.Layer{CreatedBy: tt.createdBy, Files: []imagetest.File{reg("/a", "x")}},
			)
			want := 0
			if tt.wantURL != "" {
				want = 1
			}
			got := wantCount(t, scan(t, img, remoteAdd{}), RuleRemoteAdd, want)
			if len(got) != 1 || want == 0 {
				return
			}
			f := got[0]
			if f.Message != "ADD downloaded "+tt.wantURL+" without --checksum" || f.Evidence != "ADD "+tt.wantURL {
				t.Errorf("message %q evidence %q", f.Message, f.Evidence)
			}
			wantCreatedBy := tt.wantCreatedBy
			if wantCreatedBy == "" {
				wantCreatedBy = strings.TrimSpace(tt.createdBy)
			}
			if f.Location.LayerIndex != 1 || f.Location.LayerDigest == "" || f.Location.CreatedBy != wantCreatedBy {
				t.Errorf("location %+v", f.Location)
			}
			if strings.Contains(f.String(), "supersecretpassw0rd") || strings.Contains(f.String(), "abcdefghijklmnopqrst") {
				t.Errorf("finding leaks a credential: %v", f)
			}
		})
	}
}

func TestRemoteAddEmptyLayerEntry(t *testing.T) {
	img := image(t, v1.Config{}, exe("/bin/true"))
	img = imagetest.WithHistory(t, img, []v1.History{
		{CreatedBy: "ADD rootfs.tar /"}, {CreatedBy: "ADD https://example.com/empty.d/ /etc/x/ # buildkit", EmptyLayer: true},
	})
	got := wantCount(t, scan(t, img, remoteAdd{}), RuleRemoteAdd, 1)
	if len(got) == 1 && (got[0].Location.LayerIndex != -1 || got[0].Location.CreatedBy == "") {
		t.Errorf("location %+v", got[0].Location)
	}
}
