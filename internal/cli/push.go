package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/imgharden/imgharden/internal/catalog"
	"github.com/imgharden/imgharden/internal/cli/options"
	"github.com/imgharden/imgharden/pkg/analyze/checks"
	"github.com/imgharden/imgharden/pkg/policy"
	"github.com/imgharden/imgharden/pkg/publish"
	"github.com/imgharden/imgharden/pkg/report"
	"github.com/imgharden/imgharden/pkg/sbom"
	"github.com/imgharden/imgharden/pkg/source"
)

// ECRClientsFunc returns the ECR and KMS API clients for a region. Commands take one so tests
// can reach the ECR test double.
type ECRClientsFunc func(ctx context.Context, region string) (publish.ECRAPI, publish.KMSAPI, error)

// defaultECRClients uses the AWS SDK's default configuration: credentials from the
// environment, shared files, SSO, web identity or the instance role; AWS_ENDPOINT_URL_ECR and
// AWS_CA_BUNDLE are honoured as everywhere in the SDK.
func defaultECRClients(ctx context.Context, region string) (publish.ECRAPI, publish.KMSAPI, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return nil, nil, err
	}
	return ecr.NewFromConfig(cfg), kms.NewFromConfig(cfg), nil
}

// PushOptions are the inputs of `imgharden push`, and the push half of `imgharden promote`.
type PushOptions struct {
	Out, ErrOut io.Writer
	Progress    bool // stderr is a terminal: draw upload progress

	Src, Dest    string
	KMSKey       string
	CreateRepo   bool
	ReferrerTags bool // --referrer-tag-exclusion
	Region       string
	DigestFile   string
	Jobs         int
	Verbose      bool
	Quiet        bool // no warnings (promote's -q)
	Registry     options.RegistryFlags

	LoadImage LoadImageFunc
	ECR       ECRClientsFunc
	Transport http.RoundTripper // registry transport; nil = go-containerregistry's default
	Keychain  authn.Keychain    // credentials for registries other than ECR; nil = ~/.docker/config.json
	Now       func() time.Time
	Version   string
}

func newPushOptions(version string) PushOptions {
	return PushOptions{Jobs: publish.DefaultJobs, LoadImage: source.Open, ECR: defaultECRClients, Now: time.Now, Version: version}
}

const pushHelp = `DEST is REGISTRY/REPOSITORY:TAG with an explicit registry and tag. For an Amazon ECR
registry (ACCOUNT.dkr.ecr.REGION.amazonaws.com) the repository must keep its tags immutable
and encrypt with a customer-managed KMS key; imgharden checks both before writing anything
(DescribeRepositories, and kms:DescribeKey for aliases) and refuses otherwise. --create-repo
creates a missing repository that way. Credentials come from the AWS SDK's default chain
(environment, shared files, SSO, instance role); the registry token from
GetAuthorizationToken is kept for its lifetime.

On every registry the tag is resolved first: the same digest succeeds with nothing written,
another digest is refused (both digests printed) before any blob is uploaded. Only the blobs
the repository lacks are uploaded, several at once; the manifest is put last, so the tag never
names a partial image.`

func addPushFlags(f *pflag.FlagSet, o *PushOptions) {
	f.StringVar(&o.KMSKey, "kms-key", "", "customer-managed KMS key the ECR repository must use: key ARN, key ID, alias/NAME or alias ARN (required with --create-repo)")
	f.BoolVar(&o.CreateRepo, "create-repo", false, "create a missing ECR repository: IMMUTABLE tags, KMS encryption with --kms-key")
	f.BoolVar(&o.ReferrerTags, "referrer-tag-exclusion", false, "with --create-repo: IMMUTABLE_WITH_EXCLUSION with a sha256-* exclusion, so OCI referrer fallback tags can be updated where a registry lacks the referrers API")
	f.StringVar(&o.Region, "region", "", "AWS region of the ECR API (default: the registry host's region)")
	f.StringVar(&o.DigestFile, "digest-file", "", "write the pushed manifest digest (sha256:...) to this file")
	f.IntVar(&o.Jobs, "jobs", publish.DefaultJobs, "blobs uploaded at once")
	f.BoolVarP(&o.Verbose, "verbose", "v", false, "debug log on stderr (never credentials or tokens)")
}

// checkPushFlags validates what the flags alone can tell.
func checkPushFlags(o *PushOptions) error {
	switch {
	case o.CreateRepo && o.KMSKey == "":
		return Usagef("--create-repo needs --kms-key: a repository's encryption cannot be changed after it is created")
	case o.ReferrerTags && !o.CreateRepo:
		return Usagef("--referrer-tag-exclusion applies to repositories created with --create-repo")
	case o.Jobs < 1:
		return Usagef("--jobs %d: want 1 or more", o.Jobs)
	}
	return nil
}

// NewCmdPush builds `imgharden push`. runF replaces pushRun in tests.
func NewCmdPush(version string, runF func(context.Context, *PushOptions) error) *cobra.Command {
	o := newPushOptions(version)
	cmd := &cobra.Command{
		Use:   "push [flags] SRC DEST",
		Short: "Push an image to a registry without ever moving a tag; ECR repositories must be immutable and KMS-encrypted",
		Long: `Copy the image SRC (any form scan reads) to DEST and print DEST's repository with the pushed
digest (REPOSITORY@sha256:...) on stdout.

` + pushHelp + `

` + exitCodeHelp,
		Example: `  imgharden push docker-archive:app.tar 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:1.4.2
  imgharden push --create-repo --kms-key alias/images oci:./out:app \
      123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:$GIT_SHA --digest-file app.digest
  imgharden push docker-daemon:app:dev registry.example.com/team/app:1.4.2`,
		Args: UsageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := options.ApplyEnv(cmd); err != nil {
				return &UsageError{Err: err}
			}
			o.Src, o.Dest = args[0], args[1]
			o.Out, o.ErrOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			o.Progress = isTerminal(o.ErrOut)
			if err := checkPushFlags(&o); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), &o)
			}
			return pushRun(cmd.Context(), &o)
		},
	}
	addPushFlags(cmd.Flags(), &o)
	o.Registry.AddFlags(cmd)
	return cmd
}

func pushRun(ctx context.Context, o *PushOptions) error {
	dst, err := parseDestination(o)
	if err != nil {
		return err
	}
	img, err := openImage(ctx, o.LoadImage, o.Src, o.Registry)
	if err != nil {
		return err
	}
	defer img.Close()
	res, err := pushImage(ctx, o, dst, img, nil)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(o.Out, res.Ref)
	return err
}

// destination is a parsed DEST.
type destination struct {
	tag    name.Tag
	ecr    *publish.ECRRegistry // nil for other registries
	region string
}

func parseDestination(o *PushOptions) (*destination, error) {
	ref, err := source.Parse(o.Dest)
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	if ref.Transport != source.Registry {
		return nil, Usagef("DEST %s: push and promote write to registries (REGISTRY/REPOSITORY:TAG); use a registry reference", o.Dest)
	}
	nopts := []name.Option{name.StrictValidation}
	if o.Registry.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	tag, err := name.NewTag(ref.Name, nopts...)
	if err != nil {
		why := err.Error()
		first, _, hasSlash := strings.Cut(ref.Name, "/")
		switch {
		case strings.Contains(ref.Name, "@"):
			why = "a digest names no tag"
		case !hasSlash || !(strings.ContainsAny(first, ".:") || first == "localhost"):
			why = "no registry host"
		case !strings.Contains(ref.Name[len(first):], ":"):
			why = "no tag"
		}
		return nil, Usagef("DEST %s: want REGISTRY/REPOSITORY:TAG with an explicit registry and tag (%s)", o.Dest, why)
	}
	if publish.MatchWildcard(publish.ReferrerTagFilter, tag.TagStr()) {
		return nil, Usagef("DEST %s: tags like %s belong to the OCI referrers fallback tag schema; choose another tag", o.Dest, publish.ReferrerTagFilter)
	}
	d := &destination{tag: tag}
	if reg, ok := publish.ParseECRHost(tag.RegistryStr()); ok {
		if o.Region != "" && o.Region != reg.Region {
			return nil, Usagef("--region %s does not match the region of %s (%s)", o.Region, reg.Host, reg.Region)
		}
		d.ecr, d.region = &reg, reg.Region
		return d, nil
	}
	var ecrOnly []string
	for _, f := range []struct {
		set  bool
		flag string
	}{{o.KMSKey != "", "--kms-key"}, {o.CreateRepo, "--create-repo"}, {o.ReferrerTags, "--referrer-tag-exclusion"}, {o.Region != "", "--region"}} {
		if f.set {
			ecrOnly = append(ecrOnly, f.flag)
		}
	}
	if len(ecrOnly) > 0 {
		return nil, Usagef("%s apply to Amazon ECR registries; %s is not one", strings.Join(ecrOnly, ", "), tag.RegistryStr())
	}
	return d, nil
}

// pushImage checks an ECR destination, pushes the image and attaches the artifacts. Policy
// refusals come back as *PolicyError.
func pushImage(ctx context.Context, o *PushOptions, dst *destination, img *source.Image, arts []publish.Artifact) (*publish.Result, error) {
	logger := slog.New(slog.DiscardHandler)
	if o.Verbose {
		logger = slog.New(slog.NewTextHandler(o.ErrOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	popts := []publish.Option{publish.WithJobs(o.Jobs), publish.WithLogger(logger), publish.WithUserAgent("imgharden/" + o.Version)}
	if o.Transport != nil {
		popts = append(popts, publish.WithTransport(o.Transport))
	}
	if dst.ecr != nil {
		api, kmsAPI, err := o.ECR(ctx, dst.region)
		if err != nil {
			return nil, fmt.Errorf("AWS configuration: %w", err)
		}
		e := publish.NewECR(*dst.ecr, api, kmsAPI, publish.WithLogger(logger), publish.WithClock(now))
		repo, err := e.EnsureRepository(ctx, publish.Requirements{
			Name: dst.tag.RepositoryStr(), Tag: dst.tag.TagStr(), KMSKey: o.KMSKey, Create: o.CreateRepo, ReferrerTagExclusion: o.ReferrerTags,
		})
		if err != nil {
			return nil, refusal(err)
		}
		if repo.Created {
			fmt.Fprintf(o.ErrOut, "imgharden: created ECR repository %s (%s, %s encryption with %s)\n", repo.URI, repo.Mutability, repo.EncryptionType, repo.KMSKey)
		}
		popts = append(popts, publish.WithAuth(e.Authenticator()))
	} else {
		kc := o.Keychain
		if kc == nil {
			kc = authn.DefaultKeychain
		}
		popts = append(popts, publish.WithKeychain(kc))
		if !o.Quiet {
			fmt.Fprintf(o.ErrOut, "imgharden: warning: %s is not an Amazon ECR registry: imgharden still never moves a tag, but the repository's tag immutability and encryption are not checked\n", dst.tag.RegistryStr())
		}
	}
	var bar *progressBar
	if o.Progress {
		bar = &progressBar{w: o.ErrOut, label: dst.tag.String()}
		popts = append(popts, publish.WithProgress(bar.update))
	}
	res, err := publish.Push(ctx, img.Image, dst.tag, popts...)
	bar.finish()
	if err != nil {
		return nil, refusal(err)
	}
	if res.Unchanged {
		fmt.Fprintf(o.ErrOut, "imgharden: %s already points at %s; nothing pushed\n", dst.tag, res.Descriptor.Digest)
	} else {
		fmt.Fprintf(o.ErrOut, "imgharden: pushed %s (%d %s uploaded, %s; %d already there)\n",
			res.Ref, res.Uploaded, plural(res.Uploaded, "blob", "blobs"), humanBytes(res.UploadedBytes), res.Existing)
	}
	if len(arts) > 0 {
		descs, err := publish.Attach(ctx, res.Ref, res.Descriptor, arts, popts...)
		for _, d := range descs {
			fmt.Fprintf(o.ErrOut, "imgharden: attached %s %s to %s\n", d.ArtifactType, d.Digest, res.Ref)
		}
		if err != nil {
			return nil, err
		}
	}
	if o.DigestFile != "" {
		if err := writeFileAtomic(o.DigestFile, func(w io.Writer) error {
			_, err := fmt.Fprintln(w, res.Descriptor.Digest)
			return err
		}); err != nil {
			return nil, fmt.Errorf("--digest-file %s: %w", o.DigestFile, err)
		}
	}
	return res, nil
}

// refusal maps publish's policy refusals to exit code 1 and adds what to do to a missing
// repository.
func refusal(err error) error {
	var re *publish.RepositoryError
	var te *publish.TagExistsError
	switch {
	case errors.As(err, &re), errors.As(err, &te):
		return &PolicyError{Err: err}
	case errors.Is(err, publish.ErrRepositoryNotFound):
		return fmt.Errorf("%w; create it with --create-repo --kms-key KEY", err)
	}
	return err
}

// PromoteOptions are the inputs of `imgharden promote`: a scan gate in front of a push.
type PromoteOptions struct {
	PushOptions
	IsTTY bool // stdout is a terminal: colour the text report

	GateOptions
	Attach []attachment // --attach MEDIATYPE=PATH
	SBOM   sbom.Format  // --sbom: the SBOM attached as a referrer; "" attaches none

	// Artifacts returns more referrer artifacts for the promoted image, after the gate passed
	// and before the push. It is the hook for the SBOM: the sbom command sets it (for example
	// to an SPDX document of img) without promote depending on how SBOMs are made.
	Artifacts func(ctx context.Context, img *source.Image) ([]publish.Artifact, error)
}

type attachment struct{ mediaType, path string }

// NewCmdPromote builds `imgharden promote`. runF replaces promoteRun in tests.
func NewCmdPromote(version string, runF func(context.Context, *PromoteOptions) error) *cobra.Command {
	o := &PromoteOptions{PushOptions: newPushOptions(version)}
	var (
		sbomFormat string
		attachs    []string
	)
	cmd := &cobra.Command{
		Use:   "promote [flags] SRC DEST",
		Short: "Scan an image and push it only when it passes the gate, with the report attached",
		Long: `Scan SRC with the same engine, policy and gate as imgharden scan. When a finding is at or
above --fail-on, print the report and stop (exit 1): nothing is pushed and no AWS call is made.
Otherwise push SRC to DEST as imgharden push does, attach the JSON scan report (and every
--attach file) to the pushed manifest as OCI 1.1 referrer artifacts, and print the report on
stdout. Refusals by the destination (IH5001-IH5004) are added to the report.

The SBOM of SRC (syft, from the same read of the image; --sbom spdx-json by default,
cyclonedx-json or syft-json, none to skip) is attached the same way. Registries without the
referrers API get the OCI fallback tag sha256-DIGEST, so an ECR repository then needs
IMMUTABLE_WITH_EXCLUSION with a sha256-* wildcard exclusion.

` + pushHelp + `

` + exitCodeHelp,
		Example: `  imgharden promote docker-archive:app.tar 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:1.4.2
  imgharden promote --fail-on critical -o sarif=scan.sarif --kms-key alias/images --create-repo \
      oci:./out:app 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:$GIT_SHA
  imgharden promote --attach application/spdx+json=sbom.spdx.json docker-archive:app.tar registry.example.com/team/app:1.4.2`,
		Args: UsageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := options.ApplyEnv(cmd); err != nil {
				return &UsageError{Err: err}
			}
			o.Src, o.Dest = args[0], args[1]
			o.Out, o.ErrOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			o.IsTTY, o.Progress = isTerminal(o.Out), isTerminal(o.ErrOut)
			if err := checkPushFlags(&o.PushOptions); err != nil {
				return err
			}
			if err := o.parseFlags(); err != nil {
				return err
			}
			o.Attach = nil
			for _, s := range attachs {
				a, err := parseAttachment(s)
				if err != nil {
					return &UsageError{Err: err}
				}
				o.Attach = append(o.Attach, a)
			}
			o.SBOM = ""
			if sbomFormat != "none" {
				var err error
				if o.SBOM, err = sbom.ParseFormat(sbomFormat); err != nil {
					return Usagef("--sbom: %v (or none)", err)
				}
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return promoteRun(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	o.addFlags(f, "refuse to promote when a finding is")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "print no report on stdout and no warnings; the exit code still gates")
	f.StringVar(&sbomFormat, "sbom", string(sbom.SPDXJSON), "attach an SBOM of SRC in this format: "+strings.Join(sbom.FormatNames(), ", ")+" or none")
	f.StringArrayVar(&attachs, "attach", nil, "also attach a file as a referrer artifact, MEDIATYPE=PATH (repeatable), e.g. application/spdx+json=sbom.json")
	addPushFlags(f, &o.PushOptions)
	o.Registry.AddFlags(cmd)
	return cmd
}

func parseAttachment(s string) (attachment, error) {
	mt, path, ok := strings.Cut(s, "=")
	if !ok || path == "" {
		return attachment{}, fmt.Errorf("--attach %q: want MEDIATYPE=PATH", s)
	}
	if parsed, _, err := mime.ParseMediaType(mt); err != nil || !strings.Contains(parsed, "/") || parsed != mt {
		return attachment{}, fmt.Errorf("--attach %q: %q is not a media type like application/spdx+json", s, mt)
	}
	return attachment{mediaType: mt, path: path}, nil
}

func promoteRun(ctx context.Context, o *PromoteOptions) error {
	dst, err := parseDestination(&o.PushOptions)
	if err != nil {
		return err
	}
	cat, err := catalog.Catalog()
	if err != nil {
		return fmt.Errorf("rule catalog: %w", err)
	}
	cfg, err := loadPolicy(o.Config, cat)
	if err != nil {
		return err
	}
	var arts []publish.Artifact
	for _, a := range o.Attach {
		b, err := os.ReadFile(a.path)
		if err != nil {
			return &UsageError{Err: fmt.Errorf("--attach %s: %w", a.path, err)}
		}
		arts = append(arts, publish.Artifact{ArtifactType: a.mediaType, Data: b})
	}
	img, err := openImage(ctx, o.LoadImage, o.Src, o.Registry)
	if err != nil {
		return err
	}
	defer img.Close()
	if o.SBOM != "" && o.Artifacts == nil {
		// Read the registry image once: scan and syft share the verified copies.
		if err := prepareSBOM(img, []sbomOutput{{format: o.SBOM}}); err != nil {
			return err
		}
	}
	out, err := scanImage(ctx, img, cat, cfg, scanEngineOptions{checks: checks.Default(), maxFile: o.MaxFile, layerConc: o.LayerConc, now: o.Now, version: o.Version})
	if err != nil {
		return err
	}
	if !o.Quiet {
		for _, w := range out.Warnings {
			fmt.Fprintf(o.ErrOut, "imgharden: warning: %s\n", w)
		}
	}
	rep := out.Report
	if policy.Gate(rep.Findings, o.FailOn) {
		if err := writeReports(o.Out, rep, o.Format, o.Outputs, o.Quiet, o.IsTTY); err != nil {
			return err
		}
		fmt.Fprintf(o.ErrOut, "imgharden: %s not promoted: findings at or above %s; nothing was pushed\n", o.Src, o.FailOn)
		return ErrFindings
	}

	var js bytes.Buffer
	w, err := report.NewWriter("json")
	if err == nil {
		err = w.Write(&js, rep)
	}
	if err != nil {
		return fmt.Errorf("JSON report for the referrer: %w", err)
	}
	reportArt := publish.Artifact{ArtifactType: publish.ReportArtifactType, Data: js.Bytes(),
		Annotations: map[string]string{"org.opencontainers.image.title": "imgharden-report.json"}}
	arts = append([]publish.Artifact{reportArt}, arts...)
	artifacts := o.Artifacts
	if artifacts == nil && o.SBOM != "" {
		artifacts = sbomArtifact(o.SBOM, o.Version)
	}
	if artifacts != nil {
		more, err := artifacts(ctx, img)
		if err != nil {
			return fmt.Errorf("referrer artifacts: %w", err)
		}
		arts = append(arts, more...)
	}

	_, perr := pushImage(ctx, &o.PushOptions, dst, img, arts)
	var re *publish.RepositoryError
	var te *publish.TagExistsError
	switch {
	case errors.As(perr, &re):
		rep.Findings = append(rep.Findings, re.Findings()...)
	case errors.As(perr, &te):
		rep.Findings = append(rep.Findings, te.Finding())
	}
	if err := writeReports(o.Out, rep, o.Format, o.Outputs, o.Quiet, o.IsTTY); err != nil {
		return errors.Join(perr, err)
	}
	return perr
}

// progressBar draws upload progress on one terminal line, at most ten times a second.
type progressBar struct {
	w     io.Writer
	label string

	mu    sync.Mutex
	last  time.Time
	drawn bool
}

func (p *progressBar) update(pr publish.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr.Blobs == 0 || (time.Since(p.last) < 100*time.Millisecond && pr.BlobsDone < pr.Blobs) {
		return
	}
	p.last, p.drawn = time.Now(), true
	fmt.Fprintf(p.w, "\r\x1b[Kpushing %s  %s / %s  %d/%d blobs", p.label, humanBytes(pr.BytesDone), humanBytes(pr.Bytes), pr.BlobsDone, pr.Blobs)
}

func (p *progressBar) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 3; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGT"[exp])
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
