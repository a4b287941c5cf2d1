package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/cobra"

	"github.com/imgharden/imgharden/pkg/finding"
	"github.com/imgharden/imgharden/pkg/rewrite"
	"github.com/imgharden/imgharden/pkg/source"
)

// RewriteOptions are the inputs of `imgharden rewrite`.
type RewriteOptions struct {
	Out, Err io.Writer

	Dockerfile string // path, "" in image-only mode
	Image      string // --image reference
	Output     string // -o path, "" for stdout
	Force      bool   // -o may replace an existing file
	Diff       bool
	Explain    bool
	EmitImage  string // --emit-image destination
	NoPin      bool
	Platform   string
	Insecure   bool
	Verify     bool
	Probe      string
	Context    string // build context for --verify (default: the Dockerfile's directory)
	BuildKit   string // --buildkit-addr (default $BUILDKIT_HOST): build for --verify with this buildkitd

	// Injectable for tests.
	LoadImage func(ctx context.Context, o *RewriteOptions) (*rewrite.Image, func(), error)
	Resolver  rewrite.DigestResolver
	Verifier  func(ctx context.Context, o *RewriteOptions, v rewrite.VerifyInput) (*rewrite.VerifyReport, error)
}

// NewCmdRewrite builds `imgharden rewrite`.
func NewCmdRewrite(runF func(context.Context, *RewriteOptions) error) *cobra.Command {
	o := &RewriteOptions{LoadImage: loadRewriteImage, Verifier: runVerify}
	cmd := &cobra.Command{
		Use:   "rewrite [flags] [Dockerfile]",
		Short: "Write a hardened Dockerfile, or a minimal scratch rebuild of an image",
		Long: `rewrite hardens a Dockerfile: a non-root numeric USER, bases pinned by digest, COPY for
local files, apt-get without recommends and with list cleanup, exec-form ENTRYPOINT/CMD,
setuid bits stripped, and single-stage toolchain builds split into a builder and a small
final stage. Untouched lines come out byte for byte; rewriting the output changes nothing.
What cannot be fixed is reported on stderr as findings.

With --image and no Dockerfile it computes the runtime closure of the image's entrypoint and
writes a Dockerfile that rebuilds it FROM scratch, or the image itself with --emit-image.

--verify builds the original and the hardened version — with BuildKit when --buildkit-addr or
BUILDKIT_HOST names a buildkitd (every FROM must then come from a registry it can pull from),
otherwise with buildah — runs both under podman with --probe (arguments for the container, or an http:// URL to GET while it runs) and
reports whether the probe behaves the same, sizes, setuid files and shells before and after.

` + exitCodeHelp,
		Example: `  imgharden rewrite Dockerfile > Dockerfile.hardened
  imgharden rewrite --diff --explain Dockerfile
  imgharden rewrite --image localhost/app:dev -o Dockerfile.hardened Dockerfile
  imgharden rewrite --image registry.local/app@sha256:... --emit-image oci:./slim
  imgharden rewrite --verify --probe '--version' --image docker-archive:app.tar
  imgharden rewrite --verify --buildkit-addr unix:///run/buildkit/buildkitd.sock Dockerfile`,
		Args: UsageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Out, o.Err = cmd.OutOrStdout(), cmd.ErrOrStderr()
			if len(args) == 1 {
				o.Dockerfile = args[0]
			}
			if o.Dockerfile == "" && o.Image == "" {
				return Usagef("give a Dockerfile, --image, or both")
			}
			if o.EmitImage != "" && o.Dockerfile != "" {
				return Usagef("--emit-image works from an image alone: drop the Dockerfile argument")
			}
			if o.Probe != "" && !o.Verify {
				return Usagef("--probe needs --verify")
			}
			if cmd.Flags().Changed("buildkit-addr") && !o.Verify {
				return Usagef("--buildkit-addr needs --verify")
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return rewriteRun(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Image, "image", "", "the image the Dockerfile builds (or, alone, the image to rebuild from scratch)")
	f.StringVarP(&o.Output, "output", "o", "", "write the hardened Dockerfile to this file instead of stdout")
	f.BoolVar(&o.Force, "force", false, "let --output replace an existing file")
	f.BoolVar(&o.Diff, "diff", false, "print a unified diff against the input instead of the Dockerfile")
	f.BoolVar(&o.Explain, "explain", false, "list every change with the rule behind it")
	f.StringVar(&o.EmitImage, "emit-image", "", "write the scratch rebuild to this destination (oci:DIR, docker-archive:PATH, registry)")
	f.BoolVar(&o.NoPin, "no-pin", false, "do not ask registries for base image digests (offline)")
	f.StringVar(&o.Platform, "platform", "", "platform of a multi-platform --image (os/arch[/variant])")
	f.BoolVar(&o.Insecure, "insecure", false, "plain HTTP for non-loopback registries")
	f.BoolVar(&o.Verify, "verify", false, "build and run original and hardened images and compare them")
	f.StringVar(&o.Probe, "probe", "", "with --verify: container arguments, or an http:// URL to GET while it runs")
	f.StringVar(&o.Context, "context", "", "with --verify: build context directory (default: the Dockerfile's directory)")
	f.StringVar(&o.BuildKit, "buildkit-addr", os.Getenv("BUILDKIT_HOST"),
		"with --verify: build with this buildkitd (unix://PATH, tcp://HOST:PORT) instead of buildah; empty for buildah (default $BUILDKIT_HOST)")
	return cmd
}

func loadRewriteImage(ctx context.Context, o *RewriteOptions) (*rewrite.Image, func(), error) {
	ref, err := source.Parse(o.Image)
	if err != nil {
		return nil, nil, &UsageError{Err: err}
	}
	opts := []source.Option{source.WithInsecure(o.Insecure)}
	if o.Platform != "" {
		p, err := source.ParsePlatform(o.Platform)
		if err != nil {
			return nil, nil, &UsageError{Err: err}
		}
		opts = append(opts, source.WithPlatform(p))
	}
	img, err := source.Open(ctx, ref, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", o.Image, err)
	}
	// FROM needs a name a builder can pull: the registry name, pinned below by digest.
	name := o.Image
	if ref.Transport == source.Registry {
		name = ref.Name
	} else if ref.Name != "" {
		name = ref.Name
	}
	im, err := rewrite.Inspect(ctx, img, name, img.ManifestDigest)
	if err != nil {
		img.Close()
		return nil, nil, fmt.Errorf("%s: %w", o.Image, err)
	}
	return im, func() { img.Close() }, nil
}

func rewriteRun(ctx context.Context, o *RewriteOptions) error {
	var im *rewrite.Image
	if o.Image != "" {
		var closeFn func()
		var err error
		if im, closeFn, err = o.LoadImage(ctx, o); err != nil {
			return err
		}
		defer closeFn()
	}
	if o.Dockerfile == "" {
		return rewriteImage(ctx, o, im)
	}
	src, err := os.ReadFile(o.Dockerfile)
	if err != nil {
		return &UsageError{Err: err}
	}
	opts := []rewrite.Option{rewrite.WithPinning(!o.NoPin)}
	if o.Resolver != nil {
		opts = append(opts, rewrite.WithDigestResolver(o.Resolver))
	}
	if im != nil {
		opts = append(opts, rewrite.WithImage(im))
	}
	name := filepath.Base(o.Dockerfile)
	res, err := rewrite.New(opts...).Rewrite(ctx, name, src)
	var pe *rewrite.ParseError
	if errors.As(err, &pe) {
		pe.File = o.Dockerfile
		return &UsageError{Err: pe}
	}
	if err != nil {
		return err
	}
	printFindings(o.Err, o.Dockerfile, res.Findings)
	if err := writeOutputs(o, src, res.Output, res.Changes); err != nil {
		return err
	}
	if o.Verify {
		return verifyAndReport(ctx, o, rewrite.VerifyInput{Dockerfile: o.Dockerfile, Original: src, Hardened: res.Output})
	}
	return nil
}

func rewriteImage(ctx context.Context, o *RewriteOptions, im *rewrite.Image) error {
	c, err := im.Closure()
	if errors.Is(err, rewrite.ErrNoEntrypoint) {
		return &UsageError{Err: fmt.Errorf("%s: %w", o.Image, err)}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", o.Image, err)
	}
	for _, n := range c.Notes {
		fmt.Fprintf(o.Err, "imgharden: note: %s\n", n)
	}
	if c.Interpreted != "" {
		f := finding.New(rewrite.RuleInterpreted, finding.Location{Path: o.Image, LayerIndex: -1},
			fmt.Sprintf("%s runs on %s; not emitting a scratch image that would fail on its first import. %s",
				strings.Join(c.Argv, " "), c.Interpreted, rewrite.InterpreterAdvice(c.Interpreted)), "")
		printFindings(o.Err, o.Image, []finding.Finding{f})
		return &PolicyError{Err: fmt.Errorf("%s: interpreted runtime (%s): no static closure emitted", o.Image, c.Interpreted)}
	}
	df := im.Dockerfile(c)
	if err := writeOutputs(o, nil, df, nil); err != nil {
		return err
	}
	if o.EmitImage != "" {
		dst, err := source.Parse(o.EmitImage)
		if err != nil {
			return &UsageError{Err: fmt.Errorf("--emit-image: %w", err)}
		}
		img, err := im.Build(ctx, c)
		if err != nil {
			return err
		}
		if err := source.Write(ctx, img, dst, source.WithInsecure(o.Insecure)); err != nil {
			return fmt.Errorf("--emit-image %s: %w", o.EmitImage, err)
		}
		fmt.Fprintf(o.Err, "imgharden: wrote %s (%d files from %s)\n", o.EmitImage, len(c.Opened), o.Image)
	}
	if o.Verify {
		return verifyAndReport(ctx, o, rewrite.VerifyInput{Image: o.Image, Hardened: df, HardenedImage: o.EmitImage})
	}
	return nil
}

func printFindings(w io.Writer, file string, fs []finding.Finding) {
	for _, f := range fs {
		loc := file
		if f.Location.Line > 0 {
			loc = fmt.Sprintf("%s:%d", file, f.Location.Line)
		}
		fmt.Fprintf(w, "%s: %s %s (%s): %s\n", loc, f.Severity, f.RuleID, f.Slug, f.Message)
	}
}

// writeOutputs writes the Dockerfile (to -o or stdout), or the diff / explanation on stdout.
func writeOutputs(o *RewriteOptions, before, after []byte, changes []rewrite.Change) error {
	if o.Output != "" {
		if err := writeFileSafely(o, after); err != nil {
			return err
		}
	}
	if o.Explain {
		if len(changes) == 0 && before != nil {
			fmt.Fprintln(o.Out, "no changes")
		}
		for _, c := range changes {
			fmt.Fprintf(o.Out, "%s:%d: %s %s: %s\n", o.Dockerfile, c.Line, c.Rule.ID, c.Rule.Slug, c.Summary)
		}
	}
	if o.Diff {
		name := o.Dockerfile
		if name == "" {
			name = "/dev/null"
		}
		d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: diffLines(before), B: diffLines(after),
			FromFile: name, ToFile: name + " (hardened)", Context: 3,
		})
		if err != nil {
			return err
		}
		_, err = io.WriteString(o.Out, d)
		return err
	}
	if o.Output == "" && !o.Explain {
		_, err := o.Out.Write(after)
		return err
	}
	return nil
}

// diffLines splits text into lines that keep their terminators (a last line without one gets
// one, as diff(1) would note it).
func diffLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	l := strings.SplitAfter(string(b), "\n")
	if l[len(l)-1] == "" {
		l = l[:len(l)-1]
	} else {
		l[len(l)-1] += "\n"
	}
	return l
}

// writeFileSafely writes -o through a temporary file and a rename; it never replaces the
// input Dockerfile, and replaces another existing file only with --force.
func writeFileSafely(o *RewriteOptions, data []byte) error {
	if o.Dockerfile != "" {
		a, errA := filepath.Abs(o.Dockerfile)
		b, errB := filepath.Abs(o.Output)
		sa, errSA := os.Stat(o.Dockerfile)
		sb, errSB := os.Stat(o.Output)
		if errA == nil && errB == nil && a == b || errSA == nil && errSB == nil && os.SameFile(sa, sb) {
			return Usagef("--output %s is the input Dockerfile; write the hardened one elsewhere", o.Output)
		}
	}
	if _, err := os.Lstat(o.Output); err == nil && !o.Force {
		return Usagef("--output %s exists; pass --force to replace it", o.Output)
	}
	tmp, err := os.CreateTemp(filepath.Dir(o.Output), "."+filepath.Base(o.Output)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
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
	return os.Rename(tmp.Name(), o.Output)
}

func runVerify(ctx context.Context, o *RewriteOptions, in rewrite.VerifyInput) (*rewrite.VerifyReport, error) {
	in.Probe = o.Probe
	in.Context = o.Context
	in.BuildKitAddr = o.BuildKit
	in.Log = o.Err
	return rewrite.Verify(ctx, in)
}

func verifyAndReport(ctx context.Context, o *RewriteOptions, in rewrite.VerifyInput) error {
	rep, err := o.Verifier(ctx, o, in)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	rep.WriteText(o.Err)
	if !rep.ProbeEqual {
		return &PolicyError{Err: errors.New("verify: the hardened image does not behave like the original under the probe")}
	}
	return nil
}
