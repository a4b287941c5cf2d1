package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/imgharden/imgharden/pkg/finding"
)

// ECRAPI is the part of the Amazon ECR API that imgharden calls; *ecr.Client implements it.
type ECRAPI interface {
	DescribeRepositories(context.Context, *ecr.DescribeRepositoriesInput, ...func(*ecr.Options)) (*ecr.DescribeRepositoriesOutput, error)
	CreateRepository(context.Context, *ecr.CreateRepositoryInput, ...func(*ecr.Options)) (*ecr.CreateRepositoryOutput, error)
	GetAuthorizationToken(context.Context, *ecr.GetAuthorizationTokenInput, ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error)
}

// KMSAPI is the one AWS KMS call imgharden makes: DescribeKey, to turn an alias or key ID into
// the key ARN that ECR records, and to tell a customer-managed key from an AWS-managed one.
// *kms.Client implements it. It may be nil when every key is given as a key ARN.
type KMSAPI interface {
	DescribeKey(context.Context, *kms.DescribeKeyInput, ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
}

// The ECR policy rules. Their refusals are *RepositoryError values; the CLI also reports them as
// findings so they show up in promote's report.
var (
	RuleMutableRepository = &finding.Rule{
		ID: "IH5001", Slug: "mutable-repository", Title: "ECR repository lets tags be overwritten",
		Severity: finding.SeverityHigh, Category: finding.CategoryRegistry, Refs: []string{"ecs:R11"},
		Description: "The destination repository's image tag mutability is MUTABLE (or MUTABLE_WITH_EXCLUSION, " +
			"or IMMUTABLE_WITH_EXCLUSION with a filter that matches the tag being pushed): anyone with push " +
			"rights can point an existing tag at another image, so what a task definition deploys can change " +
			"under it.",
		Remediation: "Turn tag immutability on (it can be changed at any time): aws ecr put-image-tag-mutability " +
			"--repository-name NAME --image-tag-mutability IMMUTABLE",
	}
	RuleRepositoryWithoutCMK = &finding.Rule{
		ID: "IH5002", Slug: "repository-without-cmk", Title: "ECR repository is not encrypted with a customer-managed KMS key",
		Severity: finding.SeverityHigh, Category: finding.CategoryRegistry, Refs: []string{"ecs:R14"},
		Description: "The destination repository encrypts images with AES256 (Amazon S3-managed keys) or with the " +
			"AWS-managed aws/ecr KMS key, so the account cannot control, audit or revoke access to the key " +
			"that protects its images.",
		Remediation: "Encryption is fixed when a repository is created: create a new repository with KMS encryption " +
			"and your key (imgharden push --create-repo --kms-key KEY) and push there, or replicate the images into " +
			"such a repository",
	}
	RuleKMSKeyMismatch = &finding.Rule{
		ID: "IH5003", Slug: "kms-key-mismatch", Title: "ECR repository is encrypted with another KMS key than the one required",
		Severity: finding.SeverityHigh, Category: finding.CategoryRegistry, Refs: []string{"ecs:R14"},
		Description: "The destination repository is KMS-encrypted, but not with the key given by --kms-key, so the " +
			"images would be protected by a key whose policy the pipeline does not expect.",
		Remediation: "Push to a repository created with the required key (imgharden push --create-repo --kms-key KEY), " +
			"or replicate into one; a repository's key cannot be changed after it is created",
	}
)

// Sentinel errors a caller can branch on with errors.Is.
var (
	ErrMutableRepository  = errors.New("repository tags are mutable")
	ErrNoCMK              = errors.New("repository is not encrypted with a customer-managed KMS key")
	ErrKMSKeyMismatch     = errors.New("repository is encrypted with another KMS key")
	ErrRepositoryNotFound = errors.New("repository does not exist")
	ErrKMSKeyRequired     = errors.New("creating a repository needs a customer-managed KMS key")
)

// ECRRegistry is an Amazon ECR private registry.
type ECRRegistry struct {
	Host    string // 123456789012.dkr.ecr.us-east-1.amazonaws.com
	Account string // 123456789012, the registry ID
	Region  string // us-east-1
}

// ecrHost matches private ECR registry names, FIPS and dual-stack endpoints and the China
// partition included.
var ecrHost = regexp.MustCompile(`^(\d{12})\.(?:dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?|dkr-ecr(?:-fips)?\.([a-z0-9-]+)\.on\.aws)$`)

// ParseECRHost says whether host (a registry name, optionally with a port) is an ECR private
// registry, and which.
func ParseECRHost(host string) (ECRRegistry, bool) {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	m := ecrHost.FindStringSubmatch(strings.ToLower(h))
	if m == nil {
		return ECRRegistry{}, false
	}
	region := m[2]
	if region == "" {
		region = m[3]
	}
	return ECRRegistry{Host: host, Account: m[1], Region: region}, true
}

// ECR checks and creates repositories of one ECR registry and authenticates pushes to it.
type ECR struct {
	reg  ECRRegistry
	api  ECRAPI
	kms  KMSAPI
	log  *slog.Logger
	auth *tokenAuth
}

// NewECR returns the ECR control plane for reg. kmsAPI may be nil (key aliases then cannot be
// resolved). Options: WithLogger, WithClock.
func NewECR(reg ECRRegistry, api ECRAPI, kmsAPI KMSAPI, opts ...Option) *ECR {
	o := makeOptions(opts)
	return &ECR{reg: reg, api: api, kms: kmsAPI, log: o.log, auth: &tokenAuth{api: api, now: o.now, log: o.log}}
}

// Authenticator returns the registry credentials for pushes to this registry: the
// GetAuthorizationToken token, fetched on first use and reused until shortly before it expires.
func (e *ECR) Authenticator() authn.Authenticator { return e.auth }

// Requirements says what the destination repository must be.
type Requirements struct {
	Name   string // repository name, "team/app"
	Tag    string // the tag that will be pushed; checked against immutability exclusion filters
	KMSKey string // required key: key ARN, key ID, alias/NAME or alias ARN; "" accepts any customer-managed key
	Create bool   // create the repository when it does not exist; needs KMSKey

	// ReferrerTagExclusion creates the repository IMMUTABLE_WITH_EXCLUSION with a sha256-*
	// wildcard exclusion, so that OCI referrer fallback tags ("sha256-<hex>") can be updated
	// where a registry has no referrers API. Tags matching sha256-* are refused as push targets.
	ReferrerTagExclusion bool
}

// Repository is an ECR repository as imgharden checked it.
type Repository struct {
	Name           string
	URI            string // 123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app
	ARN            string
	Mutability     string   // IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, ...
	Exclusions     []string // tag mutability exclusion filters
	EncryptionType string   // KMS, KMS_DSSE or AES256
	KMSKey         string   // key ARN
	Created        bool     // EnsureRepository created it
}

// ReferrerTagFilter is the exclusion filter that lets referrer fallback tags be updated.
const ReferrerTagFilter = "sha256-*"

// EnsureRepository returns the destination repository once it satisfies the policy: tags
// immutable (for req.Tag) and images encrypted with a customer-managed KMS key (req.KMSKey when
// given). A repository that breaks it gives a *RepositoryError. A missing repository is created
// when req.Create is set (IMMUTABLE, KMS with req.KMSKey); otherwise the error wraps
// ErrRepositoryNotFound.
func (e *ECR) EnsureRepository(ctx context.Context, req Requirements) (*Repository, error) {
	if req.Create && req.KMSKey == "" {
		return nil, fmt.Errorf("%s: %w", e.uri(req.Name), ErrKMSKeyRequired)
	}
	var want *kmsKey
	if req.KMSKey != "" {
		k, err := e.resolveKey(ctx, req.KMSKey)
		if err != nil {
			return nil, err
		}
		want = &k
		if k.manager == kmstypes.KeyManagerTypeAws {
			return nil, &RepositoryError{Repository: e.uri(req.Name), Problems: []Problem{{
				Rule: RuleRepositoryWithoutCMK, Err: ErrNoCMK,
				Reason: fmt.Sprintf("KMS key %s (%s) is AWS-managed, not customer-managed", req.KMSKey, k.arn),
				Fix:    "give a customer-managed key",
			}}}
		}
	}
	repo, err := e.describe(ctx, req.Name)
	var nf *ecrtypes.RepositoryNotFoundException
	switch {
	case errors.As(err, &nf) && req.Create:
		repo, err = e.create(ctx, req, want.arn)
		if err != nil {
			return nil, err
		}
	case errors.As(err, &nf):
		return nil, fmt.Errorf("%s: %w in registry %s (%s)", e.uri(req.Name), ErrRepositoryNotFound, e.reg.Account, e.reg.Region)
	case err != nil:
		return nil, fmt.Errorf("%s: DescribeRepositories: %w", e.uri(req.Name), err)
	}
	problems, err := e.check(ctx, repo, req, want)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, &RepositoryError{Repository: repo.URI, Problems: problems}
	}
	e.log.Debug("ecr repository accepted", "repository", repo.URI, "mutability", repo.Mutability,
		"encryption", repo.EncryptionType, "kmsKey", repo.KMSKey, "created", repo.Created)
	return repo, nil
}

func (e *ECR) uri(name string) string { return e.reg.Host + "/" + name }

func (e *ECR) describe(ctx context.Context, name string) (*Repository, error) {
	out, err := e.api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{
		RegistryId:      &e.reg.Account,
		RepositoryNames: []string{name},
	})
	if err != nil {
		return nil, err
	}
	for _, r := range out.Repositories {
		if deref(r.RepositoryName) == name {
			return repository(r), nil
		}
	}
	return nil, &ecrtypes.RepositoryNotFoundException{Message: &name}
}

func (e *ECR) create(ctx context.Context, req Requirements, keyARN string) (*Repository, error) {
	in := &ecr.CreateRepositoryInput{
		RegistryId:         &e.reg.Account,
		RepositoryName:     &req.Name,
		ImageTagMutability: ecrtypes.ImageTagMutabilityImmutable,
		EncryptionConfiguration: &ecrtypes.EncryptionConfiguration{
			EncryptionType: ecrtypes.EncryptionTypeKms,
			KmsKey:         &keyARN,
		},
	}
	if req.ReferrerTagExclusion {
		in.ImageTagMutability = ecrtypes.ImageTagMutabilityImmutableWithExclusion
		in.ImageTagMutabilityExclusionFilters = []ecrtypes.ImageTagMutabilityExclusionFilter{{
			FilterType: ecrtypes.ImageTagMutabilityExclusionFilterTypeWildcard,
			Filter:     strPtr(ReferrerTagFilter),
		}}
	}
	out, err := e.api.CreateRepository(ctx, in)
	var exists *ecrtypes.RepositoryAlreadyExistsException
	if errors.As(err, &exists) {
		// Created by someone else since we looked: check that one like any other.
		e.log.Debug("repository appeared while creating it", "repository", e.uri(req.Name))
		return e.describe(ctx, req.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: CreateRepository: %w", e.uri(req.Name), err)
	}
	if out.Repository == nil {
		return nil, fmt.Errorf("%s: CreateRepository returned no repository", e.uri(req.Name))
	}
	r := repository(*out.Repository)
	r.Created = true
	return r, nil
}

func repository(r ecrtypes.Repository) *Repository {
	out := &Repository{
		Name:       deref(r.RepositoryName),
		URI:        deref(r.RepositoryUri),
		ARN:        deref(r.RepositoryArn),
		Mutability: string(r.ImageTagMutability),
	}
	for _, f := range r.ImageTagMutabilityExclusionFilters {
		out.Exclusions = append(out.Exclusions, deref(f.Filter))
	}
	if ec := r.EncryptionConfiguration; ec != nil {
		out.EncryptionType = string(ec.EncryptionType)
		out.KMSKey = deref(ec.KmsKey)
	}
	return out
}

// check compares a repository with the requirements. It returns every problem found; err is
// for checks that could not be made (a KMS call failed).
func (e *ECR) check(ctx context.Context, repo *Repository, req Requirements, want *kmsKey) ([]Problem, error) {
	var problems []Problem
	mutable := func(reason string) {
		problems = append(problems, Problem{Rule: RuleMutableRepository, Err: ErrMutableRepository, Reason: reason,
			Fix: fmt.Sprintf("make the tags immutable: aws ecr put-image-tag-mutability --repository-name %s --image-tag-mutability IMMUTABLE", repo.Name)})
	}
	switch ecrtypes.ImageTagMutability(repo.Mutability) {
	case ecrtypes.ImageTagMutabilityImmutable:
	case ecrtypes.ImageTagMutabilityImmutableWithExclusion:
		for _, f := range repo.Exclusions {
			if MatchWildcard(f, req.Tag) {
				mutable(fmt.Sprintf("tag %q matches the exclusion filter %q of IMMUTABLE_WITH_EXCLUSION, so it can be overwritten", req.Tag, f))
				break
			}
		}
	default:
		m := repo.Mutability
		if m == "" {
			m = "not reported"
		}
		mutable(fmt.Sprintf("image tag mutability is %s", m))
	}

	noCMK := func(reason string) {
		problems = append(problems, Problem{Rule: RuleRepositoryWithoutCMK, Err: ErrNoCMK, Reason: reason,
			Fix: "encryption is fixed when a repository is created: push to a new repository created with KMS and a customer-managed key (--create-repo --kms-key KEY), or replicate into one"})
	}
	switch ecrtypes.EncryptionType(repo.EncryptionType) {
	case ecrtypes.EncryptionTypeKms, ecrtypes.EncryptionTypeKmsDsse:
		switch {
		case repo.KMSKey == "":
			noCMK(fmt.Sprintf("encrypted with %s and the AWS-managed aws/ecr key", repo.EncryptionType))
		case want != nil:
			have := repo.KMSKey
			if !isKeyARN(have) {
				k, err := e.resolveKey(ctx, have)
				if err != nil {
					return nil, err
				}
				have = k.arn
			}
			if have != want.arn {
				problems = append(problems, Problem{Rule: RuleKMSKeyMismatch, Err: ErrKMSKeyMismatch,
					Reason: fmt.Sprintf("encrypted with KMS key %s, not the required %s", repo.KMSKey, want.String()),
					Fix:    "a repository's key cannot be changed: push to a repository created with the required key (--create-repo --kms-key KEY), or replicate into one"})
			}
		default:
			k, err := e.describeKey(ctx, repo.KMSKey)
			if err != nil {
				return nil, fmt.Errorf("%s: cannot tell whether its KMS key %s is customer-managed: %w (give the expected key with --kms-key to compare ARNs instead)", repo.URI, repo.KMSKey, err)
			}
			if k.manager == kmstypes.KeyManagerTypeAws {
				noCMK(fmt.Sprintf("encrypted with the AWS-managed KMS key %s", k.arn))
			}
		}
	default:
		t := repo.EncryptionType
		if t == "" {
			t = "AES256"
		}
		noCMK(fmt.Sprintf("encrypted with %s (Amazon S3-managed keys), not a KMS key", t))
	}
	return problems, nil
}

// kmsKey is a resolved KMS key.
type kmsKey struct {
	given   string // as the user wrote it
	arn     string
	manager kmstypes.KeyManagerType // "" when not looked up
}

func (k kmsKey) String() string {
	if k.given == k.arn {
		return k.arn
	}
	return k.given + " (" + k.arn + ")"
}

var keyARN = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$`)

func isKeyARN(s string) bool { return keyARN.MatchString(s) }

// resolveKey turns a key ARN, key ID, alias or alias ARN into the key ARN. A key ARN is taken as
// it is (no KMS call); everything else needs kms:DescribeKey.
func (e *ECR) resolveKey(ctx context.Context, id string) (kmsKey, error) {
	if isKeyARN(id) {
		return kmsKey{given: id, arn: id}, nil
	}
	k, err := e.describeKey(ctx, id)
	if err != nil {
		return kmsKey{}, fmt.Errorf("KMS key %s: %w", id, err)
	}
	return k, nil
}

func (e *ECR) describeKey(ctx context.Context, id string) (kmsKey, error) {
	if e.kms == nil {
		return kmsKey{}, errors.New("kms:DescribeKey is needed and no KMS client was given (pass the key ARN)")
	}
	out, err := e.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: &id})
	if err != nil {
		return kmsKey{}, fmt.Errorf("kms:DescribeKey: %w", err)
	}
	if out.KeyMetadata == nil || deref(out.KeyMetadata.Arn) == "" {
		return kmsKey{}, errors.New("kms:DescribeKey returned no key ARN")
	}
	e.log.Debug("kms key resolved", "key", id, "arn", deref(out.KeyMetadata.Arn), "manager", out.KeyMetadata.KeyManager)
	return kmsKey{given: id, arn: deref(out.KeyMetadata.Arn), manager: out.KeyMetadata.KeyManager}, nil
}

// Problem is one way a repository breaks the policy.
type Problem struct {
	Rule   *finding.Rule
	Err    error  // ErrMutableRepository, ErrNoCMK or ErrKMSKeyMismatch
	Reason string // what was found
	Fix    string // what to do
}

// RepositoryError refuses a destination repository. errors.Is matches the sentinel of each
// problem.
type RepositoryError struct {
	Repository string // URI
	Problems   []Problem
}

func (e *RepositoryError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = fmt.Sprintf("%s [%s %s]: %s", p.Reason, p.Rule.ID, p.Rule.Slug, p.Fix)
	}
	return fmt.Sprintf("refusing ECR repository %s: %s", e.Repository, strings.Join(parts, "; "))
}

// Is reports whether any problem is target.
func (e *RepositoryError) Is(target error) bool {
	for _, p := range e.Problems {
		if p.Err == target {
			return true
		}
	}
	return false
}

// Findings returns the problems as findings located at the repository.
func (e *RepositoryError) Findings() []finding.Finding {
	out := make([]finding.Finding, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = finding.New(p.Rule, finding.Location{Path: e.Repository, LayerIndex: -1}, p.Reason+"; "+p.Fix, "")
	}
	return out
}

// MatchWildcard reports whether tag matches an ECR WILDCARD filter, where * stands for any run
// of characters (ECR filters hold letters, digits, '.', '_', '-' and '*').
func MatchWildcard(filter, tag string) bool {
	parts := strings.Split(filter, "*")
	if len(parts) == 1 {
		return filter == tag
	}
	if !strings.HasPrefix(tag, parts[0]) {
		return false
	}
	rest := tag[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(rest, p)
		if i < 0 {
			return false
		}
		rest = rest[i+len(p):]
	}
	return len(rest) >= len(last) && strings.HasSuffix(rest, last)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func strPtr(s string) *string { return &s }
