// Package sbom makes software bills of materials with syft from an image that is already
// open as a go-containerregistry v1.Image, so a registry image that imgharden scans is not
// fetched a second time by another loader.
//
// It is the only imgharden package that imports syft (which costs minutes of compile and tens
// of megabytes of binary); internal/archtest keeps it that way.
//
// syft (through stereoscope) copies every layer, uncompressed, into a directory under
// os.TempDir ($TMPDIR) and its catalogers unpack archives there too. Generate removes all of it
// before it returns, whether it succeeds, fails or its context is cancelled (Ctrl-C).
package sbom

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/anchore/stereoscope/pkg/image"
	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/format/cyclonedxjson"
	"github.com/anchore/syft/syft/format/spdxjson"
	"github.com/anchore/syft/syft/format/syftjson"
	syftsbom "github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source/stereoscopesource"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	// The rpm (sqlite rpmdb) and nix catalogers open databases through database/sql with the
	// "sqlite" driver; without a registered driver they fail at run time. modernc's is pure Go.
	_ "modernc.org/sqlite"
)

// Format is an SBOM document format.
type Format string

// The formats Encode writes.
const (
	SPDXJSON      Format = "spdx-json"      // SPDX 2.3 JSON
	CycloneDXJSON Format = "cyclonedx-json" // CycloneDX JSON (syft's default spec version)
	SyftJSON      Format = "syft-json"      // syft's own JSON model, the most detailed
)

// MediaType is the IANA or vendor media type of a document in f, used as the artifact type
// when an SBOM is attached to an image.
func (f Format) MediaType() string {
	switch f {
	case SPDXJSON:
		return "application/spdx+json"
	case CycloneDXJSON:
		return "application/vnd.cyclonedx+json"
	case SyftJSON:
		return "application/vnd.syft+json"
	}
	return "application/octet-stream"
}

// ErrUnknownFormat is wrapped by ParseFormat and Encode for a format they do not know.
var ErrUnknownFormat = errors.New("unknown SBOM format")

// Formats lists the formats, the default first.
func Formats() []Format { return []Format{SPDXJSON, CycloneDXJSON, SyftJSON} }

// FormatNames lists the format names, the default first.
func FormatNames() []string {
	var out []string
	for _, f := range Formats() {
		out = append(out, string(f))
	}
	return out
}

// ParseFormat reads a format name.
func ParseFormat(s string) (Format, error) {
	if slices.Contains(Formats(), Format(s)) {
		return Format(s), nil
	}
	return "", fmt.Errorf("%w %q (want %s)", ErrUnknownFormat, s, strings.Join(FormatNames(), ", "))
}

// SPDXVersion is the SPDX specification version of SPDXJSON documents.
const SPDXVersion = "2.3"

// Option configures Generate.
type Option func(*config)

type config struct {
	name           string
	manifestDigest string
	toolVersion    string
	tempDir        string
}

// WithName sets the image name recorded in the document (the reference as the user gave it).
// Default: the image ID.
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithManifestDigest records the manifest digest, for sources that have a real manifest
// (registries, OCI layouts). Default: none.
func WithManifestDigest(d string) Option { return func(c *config) { c.manifestDigest = d } }

// WithToolVersion sets the imgharden version recorded as the document's creator tool.
// Default: "(devel)".
func WithToolVersion(v string) Option { return func(c *config) { c.toolVersion = v } }

// WithTempDir sets the directory under which the layer copies are made. Default: os.TempDir()
// ($TMPDIR). syft's catalogers always use os.TempDir.
func WithTempDir(dir string) Option { return func(c *config) { c.tempDir = dir } }

// SBOM is a generated bill of materials.
type SBOM struct {
	doc *syftsbom.SBOM
}

// Package is one package the SBOM lists.
type Package struct {
	Name    string
	Version string
	Type    string   // syft's package type: "deb", "apk", "rpm", "python", "go-module", ...
	PURL    string   // package URL, when syft could make one
	Paths   []string // where the package was found (the database or manifest that lists it)
}

// Generate catalogs img with syft's image catalogers (installed OS packages, language
// packages, binaries) over the squashed root filesystem. Everything it writes under the
// temporary directory is removed before it returns.
func Generate(ctx context.Context, img v1.Image, opts ...Option) (_ *SBOM, err error) {
	c := config{toolVersion: "(devel)"}
	for _, o := range opts {
		o(&c)
	}
	root, err := os.MkdirTemp(c.tempDir, "imgharden-sbom-")
	if err != nil {
		return nil, fmt.Errorf("sbom: temporary directory: %w", err)
	}
	defer func() {
		if rerr := os.RemoveAll(root); rerr != nil && err == nil {
			err = fmt.Errorf("sbom: removing %s: %w", root, rerr)
		}
	}()
	layers := filepath.Join(root, "layers")
	if err := os.Mkdir(layers, 0o700); err != nil {
		return nil, fmt.Errorf("sbom: temporary directory: %w", err)
	}

	var meta []image.AdditionalMetadata
	if c.manifestDigest != "" {
		meta = append(meta, image.WithManifestDigest(c.manifestDigest))
	}
	// No TempDirGenerator: the directory is ours, removed above, after Cleanup closed the layers.
	simg := image.New(img, nil, layers, meta...)
	defer func() {
		if cerr := simg.Cleanup(); cerr != nil && err == nil {
			err = fmt.Errorf("sbom: releasing layers: %w", cerr)
		}
	}()
	// Lazy squashes: only the top layer's squash (the final root filesystem) is built, as syft's
	// own image provider does for a squashed scan.
	if err := simg.Read(image.WithLazyLayerSquashes(ctx)); err != nil {
		return nil, fmt.Errorf("sbom: reading image: %w", err)
	}
	name := c.name
	if name == "" {
		name = simg.Metadata.ID
	}
	src := stereoscopesource.New(simg, stereoscopesource.ImageConfig{Reference: name})
	cfg := syft.DefaultCreateSBOMConfig().WithTool("imgharden", c.toolVersion)
	doc, err := syft.CreateSBOM(ctx, src, cfg)
	if cerr := ctx.Err(); cerr != nil {
		return nil, fmt.Errorf("sbom: %w", cerr)
	}
	if err != nil {
		return nil, fmt.Errorf("sbom: cataloging: %w", err)
	}
	return &SBOM{doc: doc}, nil
}

// Encode writes the SBOM in format f.
func (s *SBOM) Encode(w io.Writer, f Format) error {
	var (
		enc syftsbom.FormatEncoder
		err error
	)
	switch f {
	case SPDXJSON:
		cfg := spdxjson.DefaultEncoderConfig()
		cfg.Version = SPDXVersion
		cfg.Pretty = true
		enc, err = spdxjson.NewFormatEncoderWithConfig(cfg)
	case CycloneDXJSON:
		cfg := cyclonedxjson.DefaultEncoderConfig()
		cfg.Pretty = true
		enc, err = cyclonedxjson.NewFormatEncoderWithConfig(cfg)
	case SyftJSON:
		cfg := syftjson.DefaultEncoderConfig()
		cfg.Pretty = true
		enc, err = syftjson.NewFormatEncoderWithConfig(cfg)
	default:
		return fmt.Errorf("%w %q", ErrUnknownFormat, f)
	}
	if err != nil {
		return fmt.Errorf("%s encoder: %w", f, err)
	}
	if err := enc.Encode(w, *s.doc); err != nil {
		return fmt.Errorf("encoding %s: %w", f, err)
	}
	return nil
}

// Packages lists the packages, sorted by type, name and version.
func (s *SBOM) Packages() []Package {
	var out []Package
	for p := range s.doc.Artifacts.Packages.Enumerate() {
		pk := Package{Name: p.Name, Version: p.Version, Type: string(p.Type), PURL: p.PURL}
		for _, l := range p.Locations.ToSlice() {
			pk.Paths = append(pk.Paths, l.RealPath)
		}
		sort.Strings(pk.Paths)
		pk.Paths = slices.Compact(pk.Paths)
		out = append(out, pk)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Version < b.Version
	})
	return out
}

// Counts returns the number of packages per type.
func (s *SBOM) Counts() map[string]int {
	out := map[string]int{}
	for p := range s.doc.Artifacts.Packages.Enumerate() {
		out[string(p.Type)]++
	}
	return out
}
