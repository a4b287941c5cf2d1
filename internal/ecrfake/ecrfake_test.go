package ecrfake

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The double must behave like ECR where imgharden depends on it; these tests pin that down
// through the real SDK and the real registry client.

func TestControlPlaneThroughTheSDK(t *testing.T) {
	s := New(t)
	ctx := context.Background()
	key := s.AddKey("alias/team", false)
	api := s.ECR()

	_, err := api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"app"}})
	var nf *ecrtypes.RepositoryNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("missing repository: err = %v, want RepositoryNotFoundException", err)
	}
	out, err := api.CreateRepository(ctx, &ecr.CreateRepositoryInput{
		RepositoryName:     aws.String("team/app"),
		ImageTagMutability: ecrtypes.ImageTagMutabilityImmutableWithExclusion,
		ImageTagMutabilityExclusionFilters: []ecrtypes.ImageTagMutabilityExclusionFilter{
			{FilterType: ecrtypes.ImageTagMutabilityExclusionFilterTypeWildcard, Filter: aws.String("sha256-*")}},
		EncryptionConfiguration: &ecrtypes.EncryptionConfiguration{EncryptionType: ecrtypes.EncryptionTypeKms, KmsKey: aws.String("alias/team")},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Repository
	if *r.RepositoryUri != s.Host+"/team/app" || *r.EncryptionConfiguration.KmsKey != key || r.ImageTagMutabilityExclusionFilters[0].FilterType != ecrtypes.ImageTagMutabilityExclusionFilterTypeWildcard {
		t.Fatalf("created %+v (key %s)", r, *r.EncryptionConfiguration.KmsKey)
	}
	d, err := api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"team/app"}})
	if err != nil || len(d.Repositories) != 1 || d.Repositories[0].ImageTagMutability != ecrtypes.ImageTagMutabilityImmutableWithExclusion {
		t.Fatalf("describe: %v %+v", err, d)
	}
	_, err = api.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("team/app")})
	var exists *ecrtypes.RepositoryAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Fatalf("second create: %v", err)
	}
	_, err = api.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("other"),
		EncryptionConfiguration: &ecrtypes.EncryptionConfiguration{EncryptionType: ecrtypes.EncryptionTypeKms, KmsKey: aws.String("alias/nope")}})
	var kmsErr *ecrtypes.KmsException
	if !errors.As(err, &kmsErr) {
		t.Fatalf("unknown key: %v", err)
	}

	k, err := s.KMS().DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/aws/ecr")})
	if err != nil || k.KeyMetadata.KeyManager != "AWS" {
		t.Fatalf("aws/ecr: %v %+v", err, k)
	}
	if got := strings.Join(s.Ops(), ","); got != "ecr:DescribeRepositories,ecr:CreateRepository,ecr:DescribeRepositories,ecr:CreateRepository,ecr:CreateRepository,kms:DescribeKey" {
		t.Errorf("ops = %s", got)
	}
}

func TestControlPlaneRequiresTheCredentials(t *testing.T) {
	s := New(t)
	for name, creds := range map[string]aws.CredentialsProvider{
		"wrong secret": credentials.NewStaticCredentialsProvider(s.AccessKeyID, "not-the-secret", ""),
		"unknown key":  credentials.NewStaticCredentialsProvider("AKIDSOMEONEELSE", s.SecretAccessKey, ""),
	} {
		t.Run(name, func(t *testing.T) {
			cfg := s.AWSConfig()
			cfg.Credentials = creds
			_, err := ecr.NewFromConfig(cfg).GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
			if err == nil || !strings.Contains(err.Error(), "Exception") {
				t.Fatalf("err = %v, want a signature error", err)
			}
		})
	}
	if len(s.Ops()) != 0 {
		t.Errorf("unauthenticated calls were served: %v", s.Ops())
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func token(t *testing.T, s *Server) authn.Authenticator {
	t.Helper()
	out, err := s.ECR().GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := base64.StdEncoding.DecodeString(*out.AuthorizationData[0].AuthorizationToken)
	user, pass, _ := strings.Cut(string(b), ":")
	if user != "AWS" || *out.AuthorizationData[0].ProxyEndpoint != "https://"+s.Host {
		t.Fatalf("token data %+v", out.AuthorizationData[0])
	}
	return &authn.Basic{Username: user, Password: pass}
}

func statusOf(err error) (int, string) {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return 0, ""
	}
	code := ""
	if len(terr.Errors) > 0 {
		code = string(terr.Errors[0].Code)
	}
	return terr.StatusCode, code
}

func TestRegistryBehavesLikeECR(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s := New(t, WithClock(c.now))
	s.AddRepository(Repository{Name: "app", Mutability: "IMMUTABLE_WITH_EXCLUSION", Exclusions: []string{"sha256-*", "dev-*"}})
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref := func(s2 string) name.Reference {
		r, err := name.ParseReference(s.Host + "/" + s2)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	auth := token(t, s)
	opts := []remote.Option{remote.WithTransport(s.Transport()), remote.WithAuth(auth)}

	if err := remote.Write(ref("app:v1"), img, remote.WithTransport(s.Transport())); err == nil {
		t.Fatal("anonymous push accepted")
	} else if code, _ := statusOf(err); code != http.StatusUnauthorized {
		t.Fatalf("anonymous push: %v", err)
	}
	if err := remote.Write(ref("missing:v1"), img, opts...); err == nil {
		t.Fatal("push to a repository that was never created accepted")
	} else if code, ec := statusOf(err); code != http.StatusNotFound || ec != "NAME_UNKNOWN" {
		t.Fatalf("missing repository: %v", err)
	}
	if err := remote.Write(ref("app:v1"), img, opts...); err != nil {
		t.Fatal(err)
	}
	raw, _ := img.RawManifest()
	mt, _ := img.MediaType()
	manifest := &rawManifest{raw, string(mt)}
	// Same digest, existing immutable tag: ECR still says TAG_INVALID.
	if err := remote.Put(ref("app:v1"), manifest, opts...); err == nil {
		t.Fatal("re-put of an immutable tag accepted")
	} else if code, ec := statusOf(err); code != http.StatusBadRequest || ec != "TAG_INVALID" {
		t.Fatalf("re-put: %v", err)
	}
	for _, tag := range []string{"dev-1", "sha256-abc"} { // excluded tags stay mutable
		for i := 0; i < 2; i++ {
			if err := remote.Put(ref("app:"+tag), manifest, opts...); err != nil {
				t.Fatalf("%s put %d: %v", tag, i, err)
			}
		}
	}
	// A manifest whose blobs are not in the repository is refused.
	other, _ := random.Image(64, 1)
	if err := remote.Put(ref("app:v2"), other, opts...); err == nil {
		t.Fatal("manifest with missing blobs accepted")
	} else if code, ec := statusOf(err); code != http.StatusBadRequest || ec != "MANIFEST_BLOB_UNKNOWN" {
		t.Fatalf("missing blobs: %v", err)
	}
	// Blobs belong to their repository.
	s.AddRepository(Repository{Name: "other"})
	layers, _ := img.Layers()
	d, _ := layers[0].Digest()
	if l, err := remote.Layer(ref("app@"+d.String()).(name.Digest), opts...); err != nil {
		t.Fatal(err)
	} else if _, err := l.Size(); err != nil {
		t.Fatalf("blob of app: %v", err)
	}
	if l, err := remote.Layer(ref("other@"+d.String()).(name.Digest), opts...); err != nil {
		t.Fatal(err)
	} else if _, err := l.Size(); err == nil {
		t.Fatal("a blob of app is visible in other")
	}
	// Tokens expire after 12 hours.
	c.add(TokenTTL + time.Second)
	if _, err := remote.Head(ref("app:v1"), opts...); err == nil {
		t.Fatal("expired token accepted")
	} else if code, _ := statusOf(err); code != http.StatusUnauthorized {
		t.Fatalf("expired token: %v", err)
	}
}

type rawManifest struct {
	raw []byte
	mt  string
}

func (m *rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m *rawManifest) MediaType() (types.MediaType, error) { return types.MediaType(m.mt), nil }

func TestDropUploadsCutsTheConnection(t *testing.T) {
	s := New(t)
	s.AddRepository(Repository{Name: "app"})
	img, _ := random.Image(256<<10, 1)
	s.DropUploads(1, 1000)
	r, _ := name.ParseReference(s.Host + "/app:v1")
	// One drop, and go-containerregistry retries the blob from the start.
	if err := remote.Write(r, img, remote.WithTransport(s.Transport()), remote.WithAuth(token(t, s)),
		remote.WithRetryBackoff(remote.Backoff{Duration: time.Millisecond, Factor: 1, Steps: 3})); err != nil {
		t.Fatal(err)
	}
	if s.Dropped() != 1 {
		t.Fatalf("dropped %d connections", s.Dropped())
	}
	var dropped bool
	for _, w := range s.Writes() {
		dropped = dropped || (w.Method == http.MethodPatch && w.Status == 0)
	}
	if !dropped {
		t.Fatalf("writes %+v show no dropped PATCH", s.Writes())
	}
}

// TestOnlyTestsImportTheDouble keeps the double out of the imgharden binary.
func TestOnlyTestsImportTheDouble(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/imgharden/imgharden/cmd/imgharden").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "internal/ecrfake") {
		t.Fatal("cmd/imgharden depends on internal/ecrfake, a test double")
	}
	if !strings.Contains(string(out), "github.com/imgharden/imgharden/internal/cli") {
		t.Fatal("go list output does not look like the binary's dependencies")
	}
}
