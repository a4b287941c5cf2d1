package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ReportArtifactType is the artifact type of imgharden's JSON scan report (docs/json-report.md)
// attached to a promoted image.
const ReportArtifactType = "application/vnd.imgharden.report.v1+json"

// ErrReferrersTagImmutable is wrapped when a registry without the referrers API refuses to
// update the sha256-<hex> fallback tag because its tags are immutable.
var ErrReferrersTagImmutable = errors.New("the referrers fallback tag cannot be updated: the repository's tags are immutable")

// Artifact is a file to attach to a pushed image as an OCI 1.1 referrer: an image manifest
// with this artifact type, the empty config, one layer holding Data, and the image as subject.
type Artifact struct {
	ArtifactType string            // "application/vnd.imgharden.report.v1+json", "application/spdx+json"
	MediaType    string            // of Data; "" = ArtifactType
	Data         []byte            //
	Annotations  map[string]string // on the manifest, e.g. org.opencontainers.image.title
}

// emptyJSON is the OCI empty descriptor's content, the config of every artifact.
var emptyJSON = []byte("{}")

// Attach pushes each artifact to subject's repository as a referrer of subject (whose
// descriptor desc is, typically Result.Descriptor) and returns the artifact descriptors. The
// registry's referrers API indexes them; without one, go-containerregistry's remote updates
// the referrers tag schema's fallback tag sha256-<hex> (which an IMMUTABLE repository refuses
// to update once it exists: ErrReferrersTagImmutable). Artifacts are written by digest, so
// attaching the same bytes again writes nothing.
//
// Options: WithAuth or WithKeychain, WithTransport, WithRetryBackoff, WithUserAgent, WithLogger.
func Attach(ctx context.Context, subject name.Digest, desc v1.Descriptor, arts []Artifact, opts ...Option) ([]v1.Descriptor, error) {
	o := makeOptions(opts)
	if len(arts) == 0 {
		return nil, nil
	}
	pusher, err := remote.NewPusher(o.remoteOptions(ctx)...)
	if err != nil {
		return nil, err
	}
	sub := v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}
	var out []v1.Descriptor
	for _, a := range arts {
		img, d, err := artifactImage(a, sub)
		if err != nil {
			return out, fmt.Errorf("artifact %s: %w", a.ArtifactType, err)
		}
		if err := pusher.Push(ctx, subject.Context().Digest(d.Digest.String()), img); err != nil {
			if isTagInvalid(err) {
				return out, fmt.Errorf("attaching %s to %s: %w (create the repository IMMUTABLE_WITH_EXCLUSION with a %s wildcard exclusion, or use a registry with the referrers API)",
					a.ArtifactType, subject, ErrReferrersTagImmutable, ReferrerTagFilter)
			}
			return out, fmt.Errorf("attaching %s to %s: %w", a.ArtifactType, subject, err)
		}
		o.log.Debug("artifact attached", "subject", subject.String(), "artifactType", a.ArtifactType, "digest", d.Digest.String())
		out = append(out, d)
	}
	return out, nil
}

// Referrers lists the artifacts that refer to subject, through the referrers API or, where the
// registry has none, the sha256-<hex> fallback tag.
//
// Options: WithAuth or WithKeychain, WithTransport, WithUserAgent.
func Referrers(ctx context.Context, subject name.Digest, opts ...Option) ([]v1.Descriptor, error) {
	o := makeOptions(opts)
	idx, err := remote.Referrers(subject, o.remoteOptions(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("referrers of %s: %w", subject, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("referrers of %s: %w", subject, err)
	}
	return m.Manifests, nil
}

// artifactImage builds the artifact manifest and its blobs as a v1.Image.
func artifactImage(a Artifact, subject v1.Descriptor) (v1.Image, v1.Descriptor, error) {
	if a.ArtifactType == "" {
		return nil, v1.Descriptor{}, errors.New("no artifact type")
	}
	mt := a.MediaType
	if mt == "" {
		mt = a.ArtifactType
	}
	layer := static.NewLayer(a.Data, types.MediaType(mt))
	config := static.NewLayer(emptyJSON, types.OCIEmptyJSON)
	ld, err := partial.Descriptor(layer)
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	cd, err := partial.Descriptor(config)
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  a.ArtifactType,
		Config:        *cd,
		Layers:        []v1.Descriptor{*ld},
		Subject:       &subject,
		Annotations:   a.Annotations,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	core := &artifactCore{manifest: raw, blobs: map[v1.Hash]v1.Layer{ld.Digest: layer, cd.Digest: config}}
	img, err := partial.CompressedToImage(core)
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	d, err := manifestDescriptor(img)
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	d.ArtifactType = a.ArtifactType
	d.Annotations = a.Annotations
	return img, d, nil
}

// artifactCore is an artifact manifest with its blobs in memory.
type artifactCore struct {
	manifest []byte
	blobs    map[v1.Hash]v1.Layer
}

func (a *artifactCore) RawConfigFile() ([]byte, error)      { return emptyJSON, nil }
func (a *artifactCore) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (a *artifactCore) RawManifest() ([]byte, error)        { return a.manifest, nil }
func (a *artifactCore) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := a.blobs[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("artifact has no blob %s", h)
}
