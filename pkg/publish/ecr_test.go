package publish_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imgharden/imgharden/internal/ecrfake"
	"github.com/imgharden/imgharden/pkg/publish"
)

func TestParseECRHost(t *testing.T) {
	tests := []struct {
		host            string
		ok              bool
		account, region string
	}{
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com", true, "123456789012", "us-east-1"},
		{"123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", true, "123456789012", "us-gov-west-1"},
		{"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", true, "123456789012", "cn-north-1"},
		{"123456789012.dkr-ecr.eu-west-1.on.aws", true, "123456789012", "eu-west-1"},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com:443", true, "123456789012", "us-east-1"},
		{"public.ecr.aws", false, "", ""},
		{"12345.dkr.ecr.us-east-1.amazonaws.com", false, "", ""},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example", false, "", ""},
		{"127.0.0.1:5000", false, "", ""},
		{"registry.example.com", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			r, ok := publish.ParseECRHost(tt.host)
			if ok != tt.ok || r.Account != tt.account || r.Region != tt.region {
				t.Fatalf("ParseECRHost(%q) = %+v, %v", tt.host, r, ok)
			}
		})
	}
}

func TestMatchWildcard(t *testing.T) {
	tests := []struct {
		filter, tag string
		want        bool
	}{
		{"sha256-*", "sha256-abc", true},
		{"sha256-*", "v1", false},
		{"*", "anything", true},
		{"v1", "v1", true},
		{"v1", "v10", false},
		{"dev-*-tmp", "dev-42-tmp", true},
		{"dev-*-tmp", "dev-42-tmpx", false},
		{"a*a", "a", false},
		{"a*a", "aa", true},
		{"*latest", "latest", true},
		{"*.*", "1.2", true},
		{"*.*", "12", false},
	}
	for _, tt := range tests {
		if got := publish.MatchWildcard(tt.filter, tt.tag); got != tt.want {
			t.Errorf("MatchWildcard(%q, %q) = %v", tt.filter, tt.tag, got)
		}
	}
}

// fixture is a double with three keys: a customer key with an alias, another customer key
// and AWS's aws/ecr key.
type fixture struct {
	s                 *ecrfake.Server
	teamKey, otherKey string
	reg               publish.ECRRegistry
}

func newFixture(t *testing.T, opts ...ecrfake.Option) *fixture {
	s := ecrfake.New(t, opts...)
	f := &fixture{s: s, teamKey: s.AddKey("alias/team", false), otherKey: s.AddKey("alias/other", false)}
	reg, ok := publish.ParseECRHost(s.Host)
	if !ok {
		t.Fatalf("the double's host %s is not an ECR host", s.Host)
	}
	f.reg = reg
	return f
}

func (f *fixture) ecr(opts ...publish.Option) *publish.ECR {
	return publish.NewECR(f.reg, f.s.ECR(), f.s.KMS(), opts...)
}

func TestEnsureRepository(t *testing.T) {
	type result struct {
		errIs      []error
		rules      []string
		mutability string
		exclusions []string
		created    bool
		ops        []string
	}
	tests := []struct {
		name     string
		existing *ecrfake.Repository
		key      string // the existing repository's key: team, other or aws
		denyKMS  bool
		req      func(f *fixture) publish.Requirements
		want     result
	}{
		{"create immutable with the key of an alias", nil, "", false,
			func(f *fixture) publish.Requirements {
				return publish.Requirements{Name: "team/app", Tag: "v1", KMSKey: "alias/team", Create: true}
			},
			result{mutability: "IMMUTABLE", created: true, ops: []string{"kms:DescribeKey", "ecr:DescribeRepositories", "ecr:CreateRepository"}}},
		{"create with the referrer-tag exclusion", nil, "", false,
			func(f *fixture) publish.Requirements {
				return publish.Requirements{Name: "app", Tag: "v1", KMSKey: f.teamKey, Create: true, ReferrerTagExclusion: true}
			},
			result{mutability: "IMMUTABLE_WITH_EXCLUSION", exclusions: []string{"sha256-*"}, created: true, ops: []string{"ecr:DescribeRepositories", "ecr:CreateRepository"}}},
		{"refuse to create without a key", nil, "", false,
			func(f *fixture) publish.Requirements {
				return publish.Requirements{Name: "app", Tag: "v1", Create: true}
			},
			result{errIs: []error{publish.ErrKMSKeyRequired}}},
		{"refuse to create with the AWS-managed key", nil, "", false,
			func(f *fixture) publish.Requirements {
				return publish.Requirements{Name: "app", Tag: "v1", KMSKey: "alias/aws/ecr", Create: true}
			},
			result{errIs: []error{publish.ErrNoCMK}, rules: []string{"IH5002"}, ops: []string{"kms:DescribeKey"}}},
		{"missing without create", nil, "", false,
			func(f *fixture) publish.Requirements { return publish.Requirements{Name: "app", Tag: "v1"} },
			result{errIs: []error{publish.ErrRepositoryNotFound}, ops: []string{"ecr:DescribeRepositories"}}},
		{"existing immutable with the key ARN: no KMS call",
			&ecrfake.Repository{Name: "app", Mutability: "IMMUTABLE", EncryptionType: "KMS"}, "team", false,
			func(f *fixture) publish.Requirements {
				return publish.Requirements{Name: "app", Tag: "v1", KMSKey: f.teamKey}
			},
			result{mutability: "IMMUTABLE", ops: []string{"ecr:DescribeRepositories"}}},
		{"existing immutable with the key's alias",
			&ecrfake.Repository{Name: "app", Mutability: "IMMUTABLE", EncryptionType: "KMS_DSSE"}, "team", false,
			func(f *fixture) publish.Requirements {
				return publish.Requirements{Name: "app", Tag: "v1", KMSKey: "alias/team"}
			},
			result{mutability: "IMMUTABLE", ops: []string{"kms:DescribeKey", "ecr:DescribeRepositories"}}},
		{"existing customer key, none required",
			&ecrfake.Repository{Name: "app", Mutability: "IMMUTABLE", EncryptionType: "KMS"}, "team", false,
			func(f *fixture) publish.Requirements { return publish.Requirements{Name: "app", Tag: "v1"} },
			result{mutability: "IMMUTABLE", ops: []string{"ecr:DescribeRepositories", "kms:DescribeKey"}}},
		{"existing mutable", &ecrfake.Repository{Name: "app", Mutability: "MUTABLE", EncryptionType: "KMS"}, "team", false,
			func(f *fixture) publish.Requirements {
				return publish.Requirements{Name: "app", Tag: "v1", KMSKey: f.teamKey}
			},
			result{errIs: []error{publish.ErrMutableRepository}, rules: []string{"IH5001"}, ops: []string{"ecr:DescribeRepositories"}}},
		{"existing mutable with immutable exclusions",
			&ecrfake.Repository{Name: "app", Mutability: "MUTABLE_WITH_EXCLUSION", Exclusions: []string{"v*"}, EncryptionType: "KMS"}, "team", false,
			func(f *fixture) publish.Requirements {
				return publish.Requirements{Name: "app", Tag: "v1", KMSKey: f.teamKey}
			},
			result{errIs: []error{publish.ErrMutableRepository}, rules: []string{"IH5001"}, ops: []string{"ecr:DescribeRepositories"}}},
		{"immutable with an exclusion matching the tag",
			&ecrfake.Repository{Name: "app", Mutability: "IMMUTABLE_WITH_EXCLUSION", Exclusions: []string{"latest", "v*"}, EncryptionType: "KMS"}, "team", false,
			func(f *fixture) publish.Requirements {
				return publish.Requirements{Name: "app", Tag: "v1", KMSKey: f.teamKey}
			},
			result{errIs: []error{publish.ErrMutableRepository}, rules: []string{"IH5001"}, ops: []string{"ecr:DescribeRepositories"}}},
		{"immutable with an exclusion not matching the tag",
			&ecrfake.Repository{Name: "app", Mutability: "IMMUTABLE_WITH_EXCLUSION", Exclusions: []string{"sha256-*"}, EncryptionType: "KMS"}, "team", false,
			func(f *fixture) publish.Requirements {
				return publish.Requirements{Name: "app", Tag: "v1", KMSKey: f.teamKey}
			},
			result{mutability: "IMMUTABLE_WITH_EXCLUSION", exclusions: []string{"sha256-*"}, ops: []string{"ecr:DescribeRepositories"}}},
		{"existing AES256", &ecrfake.Repository{Name: "app", Mutability: "IMMUTABLE", EncryptionType: "AES256"}, "team", false,
			func(f *fixture) publish.Requirements { return publish.Requirements{Name: "app", Tag: "v1"} },
			result{errIs: []error{publish.ErrNoCMK}, rules: []string{"IH5002"}, ops: []string{"ecr:DescribeRepositories"}}},
		{"existing with the AWS-managed key", &ecrfake.Repository{Name: "app", Mutability: "IMMUTABLE", EncryptionType: "KMS"}, "aws", false,
			func(f *fixture) publish.Requirements { return publish.Requirements{Name: "app", Tag: "v1"} },
			result{errIs: []error{publish.ErrNoCMK}, rules: []string{"IH5002"}, ops: []string{"ecr:DescribeRepositories", "kms:DescribeKey"}}},
		{"existing with another key", &ecrfake.Repository{Name: "app", Mutability: "IMMUTABLE", EncryptionType: "KMS"}, "other", false,
			func(f *fixture) publish.Requirements {
				return publish.Requirements{Name: "app", Tag: "v1", KMSKey: f.teamKey}
			},
			result{errIs: []error{publish.ErrKMSKeyMismatch}, rules: []string{"IH5003"}, ops: []string{"ecr:DescribeRepositories"}}},
		{"existing with another key named by alias", &ecrfake.Repository{Name: "app", Mutability: "IMMUTABLE", EncryptionType: "KMS"}, "team", false,
			func(f *fixture) publish.Requirements {
				return publish.Requirements{Name: "app", Tag: "v1", KMSKey: "alias/other"}
			},
			result{errIs: []error{publish.ErrKMSKeyMismatch}, rules: []string{"IH5003"}, ops: []string{"kms:DescribeKey", "ecr:DescribeRepositories"}}},
		{"mutable and AES256: both reported", &ecrfake.Repository{Name: "app"}, "team", false,
			func(f *fixture) publish.Requirements {
				return publish.Requirements{Name: "app", Tag: "v1", KMSKey: f.teamKey}
			},
			result{errIs: []error{publish.ErrMutableRepository, publish.ErrNoCMK}, rules: []string{"IH5001", "IH5002"}, ops: []string{"ecr:DescribeRepositories"}}},
		{"unknown alias", nil, "", false,
			func(f *fixture) publish.Requirements {
				return publish.Requirements{Name: "app", Tag: "v1", KMSKey: "alias/nope", Create: true}
			},
			result{ops: []string{"kms:DescribeKey"}}},
		{"DescribeKey denied and no key given", &ecrfake.Repository{Name: "app", Mutability: "IMMUTABLE", EncryptionType: "KMS"}, "team", true,
			func(f *fixture) publish.Requirements { return publish.Requirements{Name: "app", Tag: "v1"} },
			result{ops: []string{"ecr:DescribeRepositories", "kms:DescribeKey"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.existing != nil {
				r := *tt.existing
				if r.EncryptionType != "AES256" && r.EncryptionType != "" {
					r.KMSKey = map[string]string{"team": f.teamKey, "other": f.otherKey, "aws": ""}[tt.key]
				}
				f.s.AddRepository(r)
			}
			if tt.denyKMS {
				f.s.DenyDescribeKey()
			}
			req := tt.req(f)
			repo, err := f.ecr().EnsureRepository(context.Background(), req)
			if got := f.s.Ops(); !slices.Equal(got, tt.want.ops) {
				t.Errorf("ops = %v, want %v", got, tt.want.ops)
			}
			switch {
			case tt.name == "unknown alias":
				if err == nil || !strings.Contains(err.Error(), "alias/nope") || errors.As(err, new(*publish.RepositoryError)) {
					t.Fatalf("err = %v, want a KMS lookup error naming the alias", err)
				}
				return
			case tt.name == "DescribeKey denied and no key given":
				if err == nil || !strings.Contains(err.Error(), "AccessDenied") || !strings.Contains(err.Error(), "--kms-key") {
					t.Fatalf("err = %v, want the denied lookup and what to do", err)
				}
				return
			case len(tt.want.errIs) > 0:
				for _, target := range tt.want.errIs {
					if !errors.Is(err, target) {
						t.Errorf("err = %v, want errors.Is %v", err, target)
					}
				}
				var re *publish.RepositoryError
				if len(tt.want.rules) > 0 {
					if !errors.As(err, &re) {
						t.Fatalf("err %T is not a *RepositoryError", err)
					}
					var ids []string
					for _, fd := range re.Findings() {
						ids = append(ids, fd.RuleID)
						if fd.Location.Path == "" || fd.Message == "" {
							t.Errorf("finding without location or message: %+v", fd)
						}
					}
					if !slices.Equal(ids, tt.want.rules) {
						t.Errorf("rules = %v, want %v", ids, tt.want.rules)
					}
					for _, id := range tt.want.rules {
						if !strings.Contains(err.Error(), id) {
							t.Errorf("error %q does not name %s", err, id)
						}
					}
				}
				if tt.existing == nil {
					if _, ok := f.s.Repository(req.Name); ok {
						t.Error("a refused repository was created")
					}
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if repo.Mutability != tt.want.mutability || !slices.Equal(repo.Exclusions, tt.want.exclusions) || repo.Created != tt.want.created {
				t.Fatalf("repository %+v", repo)
			}
			if repo.KMSKey != f.teamKey || repo.URI != f.s.Host+"/"+req.Name {
				t.Fatalf("repository %+v, want key %s", repo, f.teamKey)
			}
			stored, _ := f.s.Repository(req.Name)
			if stored.KMSKey != f.teamKey || stored.Mutability != tt.want.mutability {
				t.Fatalf("the double holds %+v", stored)
			}
		})
	}
}

func TestEncryptionFixMessages(t *testing.T) {
	f := newFixture(t)
	f.s.AddRepository(ecrfake.Repository{Name: "app", Mutability: "MUTABLE", EncryptionType: "AES256"})
	_, err := f.ecr().EnsureRepository(context.Background(), publish.Requirements{Name: "app", Tag: "v1", KMSKey: "alias/team"})
	for _, want := range []string{"put-image-tag-mutability", "encryption is fixed when a repository is created", "replicate", "AES256"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock                   { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }
func (c *clock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestAuthenticatorCachesTheTokenForItsLifetime(t *testing.T) {
	c := newClock()
	f := newFixture(t, ecrfake.WithClock(c.now))
	auth := f.ecr(publish.WithClock(c.now)).Authenticator()
	count := func() int {
		n := 0
		for _, op := range f.s.Ops() {
			if op == "ecr:GetAuthorizationToken" {
				n++
			}
		}
		return n
	}
	first, err := auth.Authorization()
	if err != nil {
		t.Fatal(err)
	}
	if first.Username != "AWS" || first.Password == "" {
		t.Fatalf("auth config %+v", first.Username)
	}
	for _, step := range []time.Duration{time.Minute, 6 * time.Hour, 5*time.Hour + 50*time.Minute} {
		c.advance(step)
		again, err := auth.Authorization()
		if err != nil || again.Password != first.Password {
			t.Fatalf("after %v: token changed or %v", step, err)
		}
	}
	if count() != 1 {
		t.Fatalf("GetAuthorizationToken called %d times within the token's lifetime", count())
	}
	c.advance(5 * time.Minute) // inside the refresh margin before the 12 h expiry
	fresh, err := auth.Authorization()
	if err != nil || fresh.Password == first.Password || count() != 2 {
		t.Fatalf("no refresh near expiry: %v, %d calls", err, count())
	}
	if s := auth.(interface{ String() string }).String(); strings.Contains(s, fresh.Password) {
		t.Fatal("the authenticator prints its token")
	}
}
