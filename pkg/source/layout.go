package source

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const refNameAnnotation = "org.opencontainers.image.ref.name"

// blobImage is a v1.Image whose manifest, config and layers are blobs in a store: an OCI
// layout (directory or tar) or a docker-archive with a synthesized manifest.
type blobImage struct {
	s         store
	rawMan    []byte
	man       *v1.Manifest
	rawConfig []byte
	// blobName maps a layer digest to the member that holds it.
	blobName func(v1.Hash) string
	// diffIDs aligns manifest layers with the config's diff IDs.
	diffIDs map[v1.Hash]v1.Hash
	// realManifest is false for docker-archives, whose manifest imgharden synthesizes.
	realManifest bool
}

var _ partial.CompressedImageCore = (*blobImage)(nil)

func (b *blobImage) RawConfigFile() ([]byte, error) { return b.rawConfig, nil }
func (b *blobImage) MediaType() (types.MediaType, error) {
	if b.man.MediaType != "" {
		return b.man.MediaType, nil
	}
	return types.OCIManifestSchema1, nil
}
func (b *blobImage) RawManifest() ([]byte, error) { return b.rawMan, nil }

func (b *blobImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, l := range b.man.Layers {
		if l.Digest == h {
			return &blobLayer{img: b, desc: l}, nil
		}
	}
	return nil, fmt.Errorf("layer %s is not in the manifest", h)
}

// blobLayer is one layer blob. Both of its streams are verified as they are read: the
// stored blob against its digest, the uncompressed stream against the config's diff ID.
type blobLayer struct {
	img  *blobImage
	desc v1.Descriptor
}

var _ v1.Layer = (*blobLayer)(nil)

func (l *blobLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *blobLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *blobLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }
func (l *blobLayer) StoredDigest() (v1.Hash, bool)       { return l.desc.Digest, true }

// VerifiesDiffID tells the analysis engine that Uncompressed already fails on a diff ID
// mismatch, so the bytes need not be hashed twice.
func (l *blobLayer) VerifiesDiffID() bool { return true }

func (l *blobLayer) DiffID() (v1.Hash, error) {
	if d, ok := l.img.diffIDs[l.desc.Digest]; ok {
		return d, nil
	}
	return v1.Hash{}, fmt.Errorf("layer %s has no diff ID in the config", l.desc.Digest)
}

func (l *blobLayer) open() (io.ReadCloser, error) {
	name := l.img.blobName(l.desc.Digest)
	rc, size, err := l.img.s.open(name)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", l.desc.Digest, err)
	}
	if l.desc.Size > 0 && size != l.desc.Size {
		rc.Close()
		return nil, fmt.Errorf("layer %s: blob is %d bytes, the manifest says %d (truncated?)", l.desc.Digest, size, l.desc.Size)
	}
	return rc, nil
}

// Compressed is the blob as stored, verified against its digest.
func (l *blobLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.open()
	if err != nil {
		return nil, err
	}
	return newVerifyReader(rc, l.desc.Digest, l.desc.Digest.String()), nil
}

// Uncompressed is the layer tar, verified against the diff ID. An uncompressed blob's digest
// is its diff ID, so it is hashed once.
func (l *blobLayer) Uncompressed() (io.ReadCloser, error) {
	diffID, err := l.DiffID()
	if err != nil {
		return nil, err
	}
	if diffID == l.desc.Digest {
		return l.Compressed()
	}
	rc, err := l.open()
	if err != nil {
		return nil, err
	}
	// ggcr's extender detects gzip/zstd from the first bytes and decompresses.
	ext, err := partial.CompressedToLayer(storedBlob{l, rc})
	if err != nil {
		rc.Close()
		return nil, err
	}
	urc, err := ext.Uncompressed()
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("layer %s: %w", l.desc.Digest, err)
	}
	return newVerifyReader(urc, diffID, "layer "+l.desc.Digest.String()+" (uncompressed)"), nil
}

// storedBlob hands an already opened stream to ggcr's decompressing extender.
type storedBlob struct {
	*blobLayer
	rc io.ReadCloser
}

func (s storedBlob) Compressed() (io.ReadCloser, error) { return s.rc, nil }

// sourceImage is the v1.Image handed out: ggcr's extender for manifest and config logic,
// with imgharden's own layers so their verification and cheap digests are kept.
type sourceImage struct {
	v1.Image
	b *blobImage
}

func (s *sourceImage) Layers() ([]v1.Layer, error) {
	out := make([]v1.Layer, 0, len(s.b.man.Layers))
	for _, d := range s.b.man.Layers {
		out = append(out, &blobLayer{img: s.b, desc: d})
	}
	return out, nil
}

func (s *sourceImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	for _, d := range s.b.man.Layers {
		if d.Digest == h {
			return &blobLayer{img: s.b, desc: d}, nil
		}
	}
	if h == s.b.man.Config.Digest {
		return s.Image.LayerByDigest(h)
	}
	return nil, fmt.Errorf("layer %s is not in the manifest", h)
}

func (s *sourceImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	for d, diff := range s.b.diffIDs {
		if diff == h {
			return s.LayerByDigest(d)
		}
	}
	return nil, fmt.Errorf("no layer with diff ID %s", h)
}

// finish builds the image and aligns layers with diff IDs.
func (b *blobImage) finish() (v1.Image, error) {
	cf, err := v1.ParseConfigFile(bytes.NewReader(b.rawConfig))
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	if len(cf.RootFS.DiffIDs) != len(b.man.Layers) {
		return nil, fmt.Errorf("image config lists %d diff IDs but the manifest has %d layers", len(cf.RootFS.DiffIDs), len(b.man.Layers))
	}
	b.diffIDs = map[v1.Hash]v1.Hash{}
	for i, l := range b.man.Layers {
		b.diffIDs[l.Digest] = cf.RootFS.DiffIDs[i]
	}
	img, err := partial.CompressedToImage(b)
	if err != nil {
		return nil, err
	}
	return &sourceImage{Image: img, b: b}, nil
}

func blobPath(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

// openLayout reads an OCI image layout (directory or tar) and selects one image by tag or
// platform.
func openLayout(s store, where, tag string, platform *v1.Platform) (v1.Image, error) {
	layoutFile, err := readAll(s, "oci-layout")
	if err != nil {
		return nil, fmt.Errorf("%s is not an OCI image layout (no oci-layout file): %w", where, err)
	}
	var lf struct {
		Version string `json:"imageLayoutVersion"`
	}
	if err := json.Unmarshal(layoutFile, &lf); err != nil || lf.Version == "" {
		return nil, fmt.Errorf("%s: oci-layout file is not valid", where)
	}
	raw, err := readAll(s, "index.json")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	desc, err := selectManifest(s, raw, tag, platform, where, 0)
	if err != nil {
		return nil, err
	}
	return layoutImage(s, desc)
}

func layoutImage(s store, desc v1.Descriptor) (v1.Image, error) {
	rawMan, err := readAll(s, blobPath(desc.Digest))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", desc.Digest, err)
	}
	if got, _, _ := v1.SHA256(bytes.NewReader(rawMan)); got != desc.Digest {
		return nil, fmt.Errorf("manifest %s: digest mismatch (content hashes to %s)", desc.Digest, got)
	}
	man, err := v1.ParseManifest(bytes.NewReader(rawMan))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", desc.Digest, err)
	}
	if err := checkLayerTypes(man); err != nil {
		return nil, err
	}
	rawConfig, err := readAll(s, blobPath(man.Config.Digest))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", man.Config.Digest, err)
	}
	if got, _, _ := v1.SHA256(bytes.NewReader(rawConfig)); got != man.Config.Digest {
		return nil, fmt.Errorf("config %s: digest mismatch (content hashes to %s)", man.Config.Digest, got)
	}
	b := &blobImage{s: s, rawMan: rawMan, man: man, rawConfig: rawConfig, blobName: blobPath, realManifest: true}
	return b.finish()
}

func checkLayerTypes(man *v1.Manifest) error {
	for _, l := range man.Layers {
		switch l.MediaType {
		case types.DockerLayer, types.DockerUncompressedLayer, types.OCILayer, types.OCIUncompressedLayer,
			types.OCILayerZStd, types.DockerForeignLayer, types.OCIRestrictedLayer, types.OCIUncompressedRestrictedLayer, "":
		default:
			return fmt.Errorf("layer %s has unsupported media type %q (not an image layer)", l.Digest, l.MediaType)
		}
	}
	switch man.Config.MediaType {
	case types.DockerConfigJSON, types.OCIConfigJSON, "":
		return nil
	default:
		return fmt.Errorf("manifest config has media type %q: this is an artifact, not a container image", man.Config.MediaType)
	}
}

// selectManifest picks the image manifest from an index, following nested indexes.
func selectManifest(s store, rawIndex []byte, tag string, platform *v1.Platform, where string, depth int) (v1.Descriptor, error) {
	if depth > 4 {
		return v1.Descriptor{}, fmt.Errorf("%s: indexes nested too deeply", where)
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(rawIndex))
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("%s: index: %w", where, err)
	}
	cands := idx.Manifests
	if tag != "" && depth == 0 {
		cands = nil
		var names []string
		for _, m := range idx.Manifests {
			n := m.Annotations[refNameAnnotation]
			names = append(names, n)
			if n == tag || strings.HasSuffix(n, ":"+tag) || strings.TrimPrefix(n, "localhost/") == tag {
				cands = append(cands, m)
			}
		}
		if len(cands) == 0 {
			return v1.Descriptor{}, fmt.Errorf("%s: no image tagged %q (tags: %s)", where, tag, strings.Join(names, ", "))
		}
	}
	if len(cands) == 0 {
		return v1.Descriptor{}, fmt.Errorf("%s: the index lists no manifests", where)
	}
	var chosen []v1.Descriptor
	for _, m := range cands {
		if len(cands) > 1 && m.Platform != nil && platform != nil && !m.Platform.Satisfies(*platform) {
			continue
		}
		chosen = append(chosen, m)
	}
	if len(chosen) != 1 {
		return v1.Descriptor{}, fmt.Errorf("%s: %d images match; name one with :TAG or --platform", where, len(chosen))
	}
	m := chosen[0]
	if m.MediaType.IsIndex() {
		raw, err := readAll(s, blobPath(m.Digest))
		if err != nil {
			return v1.Descriptor{}, fmt.Errorf("%s: index %s: %w", where, m.Digest, err)
		}
		return selectPlatform(s, raw, platform, where, depth+1)
	}
	return m, nil
}

// selectPlatform picks the manifest for platform from a (nested) index.
func selectPlatform(s store, rawIndex []byte, platform *v1.Platform, where string, depth int) (v1.Descriptor, error) {
	idx, err := v1.ParseIndexManifest(bytes.NewReader(rawIndex))
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("%s: index: %w", where, err)
	}
	var avail []string
	for _, m := range idx.Manifests {
		if m.Platform == nil {
			continue
		}
		avail = append(avail, m.Platform.String())
		if platform == nil || m.Platform.Satisfies(*platform) {
			if m.MediaType.IsIndex() {
				raw, err := readAll(s, blobPath(m.Digest))
				if err != nil {
					return v1.Descriptor{}, err
				}
				return selectPlatform(s, raw, platform, where, depth+1)
			}
			return m, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("%s: no image for platform %s (available: %s)", where, platform, strings.Join(avail, ", "))
}
