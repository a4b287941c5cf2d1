package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/imgharden/imgharden/internal/cli/options"
	"github.com/imgharden/imgharden/pkg/publish"
	"github.com/imgharden/imgharden/pkg/sbom"
	"github.com/imgharden/imgharden/pkg/source"
)

// sbomOutput is one SBOM destination: a path ("-" is stdout) and a format.
type sbomOutput struct {
	path   string
	format sbom.Format
}

// SBOMOptions are the inputs of `imgharden sbom`.
type SBOMOptions struct {
	Out, ErrOut io.Writer

	Image    string
	Output   sbomOutput
	Quiet    bool
	Registry options.RegistryFlags

	LoadImage LoadImageFunc
	Version   string
}

// NewCmdSBOM builds `imgharden sbom`. runF replaces sbomRun in tests.
func NewCmdSBOM(version string, runF func(context.Context, *SBOMOptions) error) *cobra.Command {
	o := &SBOMOptions{LoadImage: source.Open, Version: version}
	var format, path string
	cmd := &cobra.Command{
		Use:   "sbom [flags] IMAGE",
		Short: "Write a software bill of materials (SPDX, CycloneDX or syft JSON) for an image",
		Long: `Catalog the packages of an image with syft (OS packages from dpkg, apk and rpm
databases, language packages, binaries) over its final root filesystem, and write the
SBOM as SPDX 2.3 JSON, CycloneDX JSON or syft's own JSON.

IMAGE takes the same forms as for scan. syft copies the layers, uncompressed, into
$TMPDIR while it works; they are removed when the command ends, Ctrl-C included.
A one-line summary (package counts by type) goes to stderr.

` + exitCodeHelp,
		Example: `  imgharden sbom docker-archive:app.tar > app.spdx.json
  imgharden sbom --format cyclonedx-json -o app.cdx.json registry.example.com/app:1.4
  imgharden scan --sbom app.spdx.json registry.example.com/app:1.4   # one download for both`,
		Args: UsageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := options.ApplyEnv(cmd); err != nil {
				return &UsageError{Err: err}
			}
			o.Image = args[0]
			o.Out, o.ErrOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			f, err := sbom.ParseFormat(format)
			if err != nil {
				return Usagef("--format: %v", err)
			}
			if path == "" {
				path = "-"
			}
			if err := checkOutputDir(path); err != nil {
				return Usagef("--output %s: %v", path, err)
			}
			o.Output = sbomOutput{path: path, format: f}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return sbomRun(cmd.Context(), o)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&format, "format", "f", string(sbom.SPDXJSON), "SBOM format: "+strings.Join(sbom.FormatNames(), ", "))
	fl.StringVarP(&path, "output", "o", "-", "write the SBOM to this file instead of stdout (replaced atomically)")
	fl.BoolVarP(&o.Quiet, "quiet", "q", false, "print no summary on stderr")
	o.Registry.AddFlags(cmd)
	return cmd
}

func sbomRun(ctx context.Context, o *SBOMOptions) error {
	img, err := openImage(ctx, o.LoadImage, o.Image, o.Registry)
	if err != nil {
		return err
	}
	defer img.Close()
	return writeSBOMs(ctx, o.Out, o.ErrOut, img, []sbomOutput{o.Output}, o.Quiet, o.Version)
}

// parseSBOMFlag reads scan's --sbom PATH[=FORMAT]. The format, when given, follows the last
// "="; a suffix that names no format but looks like one is an error rather than a file name.
func parseSBOMFlag(s string) (sbomOutput, error) {
	out := sbomOutput{path: s, format: sbom.SPDXJSON}
	if i := strings.LastIndex(s, "="); i >= 0 {
		p, f := s[:i], s[i+1:]
		switch format, err := sbom.ParseFormat(f); {
		case err == nil:
			out = sbomOutput{path: p, format: format}
		case !strings.ContainsAny(f, "/."):
			return out, fmt.Errorf("--sbom %q: %w", s, err)
		}
	}
	switch out.path {
	case "":
		return out, fmt.Errorf("--sbom %q: want PATH[=FORMAT]", s)
	case "-":
		return out, fmt.Errorf("--sbom %q: stdout carries the scan report; give a file", s)
	}
	if err := checkOutputDir(out.path); err != nil {
		return out, fmt.Errorf("--sbom %s: %w", out.path, err)
	}
	return out, nil
}

// checkOutputDir fails early, before minutes of work, when an output file cannot be created
// because its directory is missing.
func checkOutputDir(path string) error {
	if path == "-" {
		return nil
	}
	fi, err := os.Stat(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("directory %s does not exist", filepath.Dir(path))
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", filepath.Dir(path))
	}
	return nil
}

// prepareSBOM readies an opened image to be read a second time for --sbom: a registry image
// keeps verified copies of its layers in $TMPDIR so syft does not download it again.
func prepareSBOM(img *source.Image, outs []sbomOutput) error {
	if len(outs) == 0 || img.Ref.Transport != source.Registry {
		return nil
	}
	return img.CacheLayers("", 1) // one reuse: syft's read
}

// generateSBOM catalogs an opened image once, named by its reference and manifest digest.
func generateSBOM(ctx context.Context, img *source.Image, version string) (*sbom.SBOM, error) {
	doc, err := sbom.Generate(ctx, img.Image, sbom.WithName(img.Ref.String()),
		sbom.WithManifestDigest(img.ManifestDigest), sbom.WithToolVersion(version))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", img.Ref, err)
	}
	return doc, nil
}

// writeSBOMs generates the SBOM of an opened image once and writes it in every requested
// format. Files are replaced atomically; "-" is stdout.
func writeSBOMs(ctx context.Context, stdout, stderr io.Writer, img *source.Image, outs []sbomOutput, quiet bool, version string) error {
	if len(outs) == 0 {
		return nil
	}
	doc, err := generateSBOM(ctx, img, version)
	if err != nil {
		return err
	}
	for _, out := range outs {
		if out.path == "-" {
			if err := doc.Encode(stdout, out.format); err != nil {
				return fmt.Errorf("writing %s SBOM: %w", out.format, err)
			}
			continue
		}
		if err := writeFileAtomic(out.path, func(w io.Writer) error { return doc.Encode(w, out.format) }); err != nil {
			return fmt.Errorf("writing %s SBOM to %s: %w", out.format, out.path, err)
		}
	}
	if !quiet {
		fmt.Fprintf(stderr, "imgharden: sbom: %s\n", sbomSummary(doc, outs))
	}
	return nil
}

// sbomSummary is "312 packages (deb 305, python 7) → app.spdx.json (spdx-json)".
func sbomSummary(doc *sbom.SBOM, outs []sbomOutput) string {
	counts := doc.Counts()
	total := 0
	types := make([]string, 0, len(counts))
	for t, n := range counts {
		total += n
		types = append(types, t)
	}
	sort.Slice(types, func(i, j int) bool {
		if counts[types[i]] != counts[types[j]] {
			return counts[types[i]] > counts[types[j]]
		}
		return types[i] < types[j]
	})
	var parts []string
	for _, t := range types {
		parts = append(parts, fmt.Sprintf("%s %d", t, counts[t]))
	}
	noun := "packages"
	if total == 1 {
		noun = "package"
	}
	s := fmt.Sprintf("%d %s", total, noun)
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	var dests []string
	for _, out := range outs {
		p := out.path
		if p == "-" {
			p = "stdout"
		}
		dests = append(dests, fmt.Sprintf("%s (%s)", p, out.format))
	}
	return s + " → " + strings.Join(dests, ", ")
}

// sbomArtifact returns promote's Artifacts hook: the SBOM of the promoted image in format f,
// typed with the format's media type.
func sbomArtifact(f sbom.Format, version string) func(context.Context, *source.Image) ([]publish.Artifact, error) {
	return func(ctx context.Context, img *source.Image) ([]publish.Artifact, error) {
		doc, err := generateSBOM(ctx, img, version)
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if err := doc.Encode(&b, f); err != nil {
			return nil, fmt.Errorf("%s SBOM: %w", f, err)
		}
		return []publish.Artifact{{ArtifactType: f.MediaType(), Data: b.Bytes(),
			Annotations: map[string]string{"org.opencontainers.image.title": "sbom." + string(f)}}}, nil
	}
}
