package publish_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgharden/imgharden/internal/ecrfake"
	"github.com/imgharden/imgharden/pkg/publish"
)

var (
	reportArt = publish.Artifact{ArtifactType: publish.ReportArtifactType, Data: []byte(`{"schemaVersion":"1.0.0"}`),
		Annotations: map[string]string{"org.opencontainers.image.title": "imgharden-report.json"}}
	sbom = publish.Artifact{ArtifactType: "application/spdx+json", Data: []byte(`{"spdxVersion":"SPDX-2.3"}`)}
)

func TestAttachAndListReferrers(t *testing.T) {
	tests := []struct {
		name      string
		repo      ecrfake.Repository
		opts      []ecrfake.Option
		wantErr   error
		fallback  bool // the sha256-<hex> tag carries the index
		attachedN int
	}{
		{"referrers API (ECR)", ecrfake.Repository{Name: "app", Mutability: "IMMUTABLE", EncryptionType: "KMS"}, nil, nil, false, 2},
		{"fallback tag with the sha256-* exclusion",
			ecrfake.Repository{Name: "app", Mutability: "IMMUTABLE_WITH_EXCLUSION", Exclusions: []string{publish.ReferrerTagFilter}, EncryptionType: "KMS"},
			[]ecrfake.Option{ecrfake.WithoutReferrersAPI()}, nil, true, 2},
		{"fallback tag in a plain IMMUTABLE repository",
			ecrfake.Repository{Name: "app", Mutability: "IMMUTABLE", EncryptionType: "KMS"},
			[]ecrfake.Option{ecrfake.WithoutReferrersAPI()}, publish.ErrReferrersTagImmutable, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newPushFixture(t, tt.repo, tt.opts...)
			ctx := context.Background()
			res, err := publish.Push(ctx, randomImage(t, 1024, 1), f.tag(t, "app:v1"), f.opts...)
			if err != nil {
				t.Fatal(err)
			}
			descs, err := publish.Attach(ctx, res.Ref, res.Descriptor, []publish.Artifact{reportArt, sbom}, f.opts...)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), "IMMUTABLE_WITH_EXCLUSION") {
					t.Fatalf("err = %v, want %v with the fix", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if len(descs) != tt.attachedN {
				t.Fatalf("attached %d", len(descs))
			}
			listed, err := publish.Referrers(ctx, res.Ref, f.opts...)
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, d := range listed {
				types = append(types, d.ArtifactType)
			}
			slices.Sort(types)
			want := []string{"application/spdx+json", publish.ReportArtifactType}[2-tt.attachedN:]
			if tt.attachedN == 1 {
				want = []string{publish.ReportArtifactType}
			}
			if !slices.Equal(types, want) {
				t.Fatalf("listed %v, want %v", types, want)
			}
			// The listed report is the artifact, and its subject is the pushed image.
			for _, d := range listed {
				if d.ArtifactType != publish.ReportArtifactType {
					continue
				}
				art, err := remote.Image(res.Ref.Context().Digest(d.Digest.String()), f.remote()...)
				if err != nil {
					t.Fatal(err)
				}
				m, _ := art.Manifest()
				if m.Subject == nil || m.Subject.Digest != res.Descriptor.Digest || m.ArtifactType != publish.ReportArtifactType {
					t.Fatalf("artifact manifest %+v", m)
				}
				layers, _ := art.Layers()
				rc, _ := layers[0].Compressed()
				b, _ := io.ReadAll(rc)
				if string(b) != string(reportArt.Data) {
					t.Fatalf("artifact holds %q", b)
				}
			}
			fallbackTag := res.Ref.Context().Tag(strings.Replace(res.Descriptor.Digest.String(), ":", "-", 1))
			_, ferr := remote.Head(fallbackTag, f.remote()...)
			if (ferr == nil) != tt.fallback {
				t.Errorf("fallback tag exists = %v, want %v", ferr == nil, tt.fallback)
			}
			if tt.wantErr != nil {
				return
			}
			// Attaching the same artifacts again writes nothing.
			f.s.ResetLog()
			if _, err := publish.Attach(ctx, res.Ref, res.Descriptor, []publish.Artifact{reportArt, sbom}, f.opts...); err != nil {
				t.Fatal(err)
			}
			for _, w := range f.s.Writes() {
				if w.Method != http.MethodGet {
					t.Fatalf("re-attach wrote %+v", f.s.Writes())
				}
			}
		})
	}
}
