package publish

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/imgharden/imgharden/pkg/finding"
)

// RuleTagExists is the refusal to move a tag that already names another image.
var RuleTagExists = &finding.Rule{
	ID: "IH5004", Slug: "tag-exists", Title: "Destination tag already points at a different image",
	Severity: finding.SeverityHigh, Category: finding.CategoryRegistry, Refs: []string{"ecs:R11"},
	Description: "The tag being pushed already names an image with another digest. imgharden never moves a " +
		"tag, in any registry: a re-run that pushes the same image succeeds without writing anything, but a " +
		"changed image must get a new tag. The check runs before any blob is uploaded; a registry's own " +
		"refusal (ECR's TAG_INVALID on an immutable repository) is reported the same way.",
	Remediation: "Push the changed image under a new tag (for example the commit SHA or a version); a tag names one image for good",
}

// ErrTagExists is matched by every *TagExistsError.
var ErrTagExists = errors.New("tag already points at a different image")

// TagExistsError refuses a push whose tag already names another image. Nothing was written
// when Push returns it.
type TagExistsError struct {
	Tag      name.Tag
	Existing v1.Hash // what the tag points at; zero when the registry refused without saying
	Pushed   v1.Hash // the image that was not pushed
	Registry bool    // the registry refused the manifest (TAG_INVALID), not imgharden's check
}

func (e *TagExistsError) Error() string {
	existing := e.Existing.String()
	if e.Existing == (v1.Hash{}) {
		existing = "an image the registry did not name"
	}
	by := ""
	if e.Registry {
		by = " (the registry refused to overwrite it)"
	}
	return fmt.Sprintf("tag %s already points at %s; refusing to replace it with %s%s [%s %s]: push the changed image under a new tag",
		e.Tag, existing, e.Pushed, by, RuleTagExists.ID, RuleTagExists.Slug)
}

// Is matches ErrTagExists.
func (e *TagExistsError) Is(target error) bool { return target == ErrTagExists }

// Finding returns the refusal as a finding located at the tag.
func (e *TagExistsError) Finding() finding.Finding {
	return finding.New(RuleTagExists, finding.Location{Path: e.Tag.String(), LayerIndex: -1},
		fmt.Sprintf("tag already points at %s; the image %s was not pushed", e.Existing, e.Pushed), "")
}

// headTag returns the descriptor the tag points at, or nil when the tag (or its repository)
// does not exist.
func headTag(ctx context.Context, tag name.Tag, o *options) (*v1.Descriptor, error) {
	d, err := remote.Head(tag, o.remoteOptions(ctx)...)
	if err == nil {
		return d, nil
	}
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	return nil, fmt.Errorf("resolving %s: %w", tag, err)
}

// isTagInvalid reports whether err is a registry's refusal of a manifest PUT to an existing
// tag: ECR answers HTTP 400 {"errors":[{"code":"TAG_INVALID",...}]}.
func isTagInvalid(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	for _, d := range terr.Errors {
		if d.Code == transport.TagInvalidErrorCode {
			return true
		}
	}
	return false
}
