package publish_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/imgharden/imgharden/internal/ecrfake"
	"github.com/imgharden/imgharden/pkg/finding"
	"github.com/imgharden/imgharden/pkg/publish"
	"github.com/imgharden/imgharden/pkg/report"
)

// normalize hides what differs between the double and the documentation: the registry host,
// key IDs and digests.
func normalize(s string) string {
	for _, r := range []struct{ re, to string }{
		{`\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com`, "HOST"},
		{`arn:aws:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]+`, "KEY-ARN"},
		{`sha256:[0-9a-f]{64}`, "DIGEST"},
		{`team/app`, "app"},
		{`alias/images`, "alias/team"},
	} {
		s = regexp.MustCompile(r.re).ReplaceAllString(s, r.to)
	}
	return s
}

// TestRulePagesShowRealOutput renders each registry refusal, produced against the ECR double,
// with the text writer and compares it with the Output block of its rule page.
func TestRulePagesShowRealOutput(t *testing.T) {
	ctx := context.Background()
	f := newPushFixture(t, ecrfake.Repository{})
	f.s.AddRepository(ecrfake.Repository{Name: "mutable", Mutability: "MUTABLE", EncryptionType: "KMS", KMSKey: f.teamKey})
	f.s.AddRepository(ecrfake.Repository{Name: "aes", Mutability: "IMMUTABLE", EncryptionType: "AES256"})
	f.s.AddRepository(ecrfake.Repository{Name: "other", Mutability: "IMMUTABLE", EncryptionType: "KMS", KMSKey: f.otherKey})
	got := map[string]finding.Finding{}
	for _, name := range []string{"mutable", "aes", "other"} {
		_, err := f.ecr().EnsureRepository(ctx, publish.Requirements{Name: name, Tag: "1.4.2", KMSKey: "alias/team"})
		var re *publish.RepositoryError
		if !errors.As(err, &re) {
			t.Fatalf("%s: %v", name, err)
		}
		for _, fd := range re.Findings() {
			fd.Location.Path = strings.Replace(fd.Location.Path, "/"+name, "/app", 1)
			fd.Message = strings.ReplaceAll(fd.Message, "repository-name "+name, "repository-name app")
			got[fd.RuleID] = fd
		}
	}
	a, b := randomImage(t, 512, 1), randomImage(t, 512, 1)
	if _, err := publish.Push(ctx, a, f.tag(t, "app:1.4.2"), f.opts...); err != nil {
		t.Fatal(err)
	}
	_, err := publish.Push(ctx, b, f.tag(t, "app:1.4.2"), f.opts...)
	var te *publish.TagExistsError
	if !errors.As(err, &te) {
		t.Fatal(err)
	}
	got["IH5004"] = te.Finding()

	for _, r := range publish.Rules() {
		t.Run(r.ID, func(t *testing.T) {
			fd, ok := got[r.ID]
			if !ok {
				t.Fatalf("no refusal produced %s", r.ID)
			}
			var buf bytes.Buffer
			w, _ := report.NewWriter("text")
			if err := w.Write(&buf, &report.Report{Findings: []finding.Finding{fd}}); err != nil {
				t.Fatal(err)
			}
			line := strings.SplitN(buf.String(), "\n", 2)[0]
			page, err := os.ReadFile(filepath.Join("..", "..", "docs", "rules", r.ID+".md"))
			if err != nil {
				t.Fatal(err)
			}
			_, out, _ := strings.Cut(string(page), "## Output\n\n```text\n")
			doc, _, _ := strings.Cut(out, "\n")
			if normalize(doc) != normalize(line) {
				t.Errorf("docs/rules/%s.md Output\n%s\nbut the text writer prints\n%s", r.ID, normalize(doc), normalize(line))
			}
		})
	}
}
