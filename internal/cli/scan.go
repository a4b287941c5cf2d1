package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgharden/imgharden/internal/catalog"
	"github.com/imgharden/imgharden/internal/cli/options"
	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/analyze/checks"
	"github.com/imgharden/imgharden/pkg/finding"
	"github.com/imgharden/imgharden/pkg/policy"
	"github.com/imgharden/imgharden/pkg/report"
	"github.com/imgharden/imgharden/pkg/sbom"
	"github.com/imgharden/imgharden/pkg/scan"
	"github.com/imgharden/imgharden/pkg/source"
)

// LoadImageFunc opens an image reference. Commands take one so tests can inject images.
type LoadImageFunc func(ctx context.Context, ref source.Ref, opts ...source.Option) (*source.Image, error)

// output is one report destination: a format and a path ("-" is stdout).
type output struct{ format, path string }

// ScanOptions are the inputs of `imgharden scan`.
type ScanOptions struct {
	Out, ErrOut io.Writer
	IsTTY       bool // stdout is a terminal: colour the text report

	Image string
	GateOptions
	Quiet    bool
	Base     string // --base IMAGE: the image this one was built on
	Registry options.RegistryFlags
	SBOMs    []sbomOutput // --sbom PATH[=FORMAT]: SBOMs of the same opened image

	LoadImage LoadImageFunc
	Now       func() time.Time
	Version   string
}

// NewCmdScan builds `imgharden scan`. runF replaces scanRun in tests.
func NewCmdScan(version string, runF func(context.Context, *ScanOptions) error) *cobra.Command {
	o := &ScanOptions{LoadImage: source.Open, Now: time.Now, Version: version}
	var sboms []string
	cmd := &cobra.Command{
		Use:   "scan [flags] IMAGE",
		Short: "Scan an image for setuid files, shells, tools, secrets, root user and more",
		Long: `Read the image once, layer by layer, and report what should not ship: setuid/setgid
files, file capabilities, shells, network tools, package managers, compilers, build
leftovers, a root user, world-writable paths, and secrets in files (also in files a later
layer deleted), ENV, history and labels. Each finding names the layer and the instruction
that made it.

IMAGE is one of:
  NAME[:TAG|@DIGEST], docker://NAME   a registry (credentials from ~/.docker/config.json)
  docker-archive:PATH[:NAME:TAG|:@N] a docker save / podman save tarball
  oci-archive:PATH[:TAG]              an OCI layout in a tar file
  oci:DIR[:TAG]                       an OCI layout directory
  docker-daemon:NAME[:TAG]            the Docker-compatible API at DOCKER_HOST (podman's too)

` + exitCodeHelp,
		Example: `  imgharden scan docker-archive:app.tar
  imgharden scan --fail-on critical -o sarif=results.sarif registry.example.com/app:1.4
  imgharden scan --format json oci:./layout:v2 | jq '.findings[] | select(.severity=="high")'
  imgharden scan --base docker-archive:base.tar docker-archive:app.tar
  imgharden scan --sbom app.spdx.json --sbom app.cdx.json=cyclonedx-json registry.example.com/app:1.4`,
		Args: UsageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := options.ApplyEnv(cmd); err != nil {
				return &UsageError{Err: err}
			}
			o.Image = args[0]
			o.Out, o.ErrOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			o.IsTTY = isTerminal(o.Out)
			if err := o.parseFlags(); err != nil {
				return err
			}
			o.SBOMs = nil
			for _, s := range sboms {
				out, err := parseSBOMFlag(s)
				if err != nil {
					return &UsageError{Err: err}
				}
				o.SBOMs = append(o.SBOMs, out)
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return scanRun(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	o.addFlags(f, "exit 1 when a finding is")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "print no report on stdout and no warnings; the exit code still gates")
	f.StringVar(&o.Base, "base", "", "the base IMAGE this image was built on: setuid files are marked new or inherited")
	f.StringArrayVar(&sboms, "sbom", nil, "also write an SBOM of the image, PATH[=FORMAT] (repeatable; formats "+strings.Join(sbom.FormatNames(), ", ")+"; default spdx-json)")
	o.Registry.AddFlags(cmd)
	return cmd
}

func parseOutput(s string) (output, error) {
	format, path, ok := strings.Cut(s, "=")
	if !ok || path == "" {
		return output{}, fmt.Errorf("--output %q: want FORMAT=PATH", s)
	}
	if !slices.Contains(report.Formats(), format) {
		return output{}, fmt.Errorf("--output %q: unknown format %q (want %s)", s, format, strings.Join(report.Formats(), ", "))
	}
	return output{format: format, path: path}, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// loadPolicy reads --config, or .imgharden.yaml when it exists. Errors are usage errors.
func loadPolicy(path string, cat *finding.Catalog) (*policy.Config, error) {
	explicit := path != ""
	if !explicit {
		path = policy.DefaultFile
		if _, err := os.Stat(path); err != nil {
			return nil, nil
		}
	}
	cfg, err := policy.Load(path)
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	if err := cfg.Validate(cat); err != nil {
		return nil, &UsageError{Err: err}
	}
	return cfg, nil
}

// openImage parses and opens a reference; a malformed reference is a usage error.
func openImage(ctx context.Context, load LoadImageFunc, s string, reg options.RegistryFlags) (*source.Image, error) {
	ref, err := source.Parse(s)
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	opts, err := reg.SourceOptions()
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	img, err := load(ctx, ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s, stripRef(err, s))
	}
	return img, nil
}

// stripRef avoids "ref: ref: ..." when the source already named the reference.
func stripRef(err error, ref string) error {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, ref+": "); ok {
		return errors.New(rest)
	}
	return err
}

// scanImage runs the shared scan over an opened image.
func scanImage(ctx context.Context, img *source.Image, cat *finding.Catalog, cfg *policy.Config, o scanEngineOptions) (*scan.Outcome, error) {
	engine := []analyze.Option{analyze.WithMaxFileSize(o.maxFile)}
	if o.layerConc > 0 {
		engine = append(engine, analyze.WithConcurrency(o.layerConc))
	}
	out, err := scan.Image(ctx, img, scan.Config{
		Checks:  o.checks,
		Engine:  engine,
		Policy:  cfg,
		Catalog: cat,
		Now:     o.now,
		Tool:    report.Tool{Name: "imgharden", Version: o.version, InformationURI: "https://github.com/imgharden/imgharden"},
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", img.Ref, err)
	}
	return out, nil
}

type scanEngineOptions struct {
	checks    []analyze.Check
	maxFile   int64
	layerConc int
	now       func() time.Time
	version   string
}

func scanRun(ctx context.Context, o *ScanOptions) error {
	cat, err := catalog.Catalog()
	if err != nil {
		return fmt.Errorf("rule catalog: %w", err)
	}
	cfg, err := loadPolicy(o.Config, cat)
	if err != nil {
		return err
	}
	checkList, err := baseAwareChecks(ctx, o)
	if err != nil {
		return err
	}
	img, err := openImage(ctx, o.LoadImage, o.Image, o.Registry)
	if err != nil {
		return err
	}
	defer img.Close()
	if err := prepareSBOM(img, o.SBOMs); err != nil {
		return err
	}
	out, err := scanImage(ctx, img, cat, cfg, scanEngineOptions{checks: checkList, maxFile: o.MaxFile, layerConc: o.LayerConc, now: o.Now, version: o.Version})
	if err != nil {
		return err
	}
	if !o.Quiet {
		for _, w := range out.Warnings {
			fmt.Fprintf(o.ErrOut, "imgharden: warning: %s\n", w)
		}
	}
	if err := writeReports(o.Out, out.Report, o.Format, o.Outputs, o.Quiet, o.IsTTY); err != nil {
		return err
	}
	if err := writeSBOMs(ctx, o.Out, o.ErrOut, img, o.SBOMs, o.Quiet, o.Version); err != nil {
		return err
	}
	if policy.Gate(out.Report.Findings, o.FailOn) {
		return ErrFindings
	}
	return nil
}

// baseAwareChecks returns the default checks, told about the base image when --base is given.
func baseAwareChecks(ctx context.Context, o *ScanOptions) ([]analyze.Check, error) {
	if o.Base == "" {
		return checks.Default(), nil
	}
	base, err := openImage(ctx, o.LoadImage, o.Base, o.Registry)
	if err != nil {
		return nil, fmt.Errorf("--base %w", err)
	}
	defer base.Close()
	var engine []analyze.Option
	if o.LayerConc > 0 {
		engine = append(engine, analyze.WithConcurrency(o.LayerConc))
	}
	res, err := analyze.New(engine...).Run(ctx, base.Image)
	if err != nil {
		return nil, fmt.Errorf("--base %s: %w", o.Base, err)
	}
	return checks.Default(checks.WithBaseSetuid("--base "+o.Base, checks.SetuidPaths(res.View))), nil
}

// writeReports writes the stdout report (unless quiet or an --output already targets stdout)
// and every --output file. Files are replaced atomically.
func writeReports(stdout io.Writer, rep *report.Report, format string, outs []output, quiet, tty bool) error {
	toStdout := !quiet
	for _, out := range outs {
		if out.path == "-" {
			toStdout = false
		}
	}
	if toStdout {
		outs = append([]output{{format: format, path: "-"}}, outs...)
	}
	for _, out := range outs {
		w, err := report.NewWriter(out.format, report.WithColor(tty && out.path == "-"))
		if err != nil {
			return &UsageError{Err: err}
		}
		if out.path == "-" {
			if err := w.Write(stdout, rep); err != nil {
				return fmt.Errorf("writing %s report: %w", out.format, err)
			}
			continue
		}
		if err := writeFileAtomic(out.path, func(f io.Writer) error { return w.Write(f, rep) }); err != nil {
			return fmt.Errorf("writing %s report to %s: %w", out.format, out.path, err)
		}
	}
	return nil
}

// writeFileAtomic writes path through a temporary file in the same directory and a rename,
// so a failed write never leaves a half-written report or removes the previous one. A path
// that exists and is not a regular file (/dev/null, a FIFO, a symlink) is written through in
// place: a rename would replace the device or the link with a file.
func writeFileAtomic(path string, fill func(io.Writer) error) error {
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return err
		}
		if err := fill(f); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := fill(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
