// Package ecrfake is a TEST DOUBLE of Amazon ECR, for imgharden's tests only. It is not ECR and
// not a mock of imgharden's code: imgharden's real AWS SDK clients and its real registry client
// talk to it over HTTPS on 127.0.0.1, so the requests, the wire formats and the error mapping
// are exercised as they would be against AWS. Nothing but _test.go files may import it
// (TestOnlyTestsImportTheDouble checks the imgharden binary does not).
//
// One httptest TLS server plays three parts:
//
//   - the ECR control plane: the JSON 1.1 API (POST /, X-Amz-Target:
//     AmazonEC2ContainerRegistry_V20150921.<Op>, application/x-amz-json-1.1) for
//     DescribeRepositories, CreateRepository and GetAuthorizationToken, reached through the SDK's
//     BaseEndpoint. Requests must carry a SigV4 signature made with the double's credentials.
//   - the one KMS call imgharden makes, TrentService.DescribeKey, on the same endpoint.
//   - the registry ACCOUNT.dkr.ecr.REGION.amazonaws.com: go-containerregistry's pkg/registry
//     behind a middleware that does what ECR does and the plain registry does not: it requires
//     the Basic credentials GetAuthorizationToken issued (AWS:<token>, until the token expires),
//     answers 404 NAME_UNKNOWN for repositories that were not created, refuses a manifest PUT to
//     an existing tag of an IMMUTABLE repository with HTTP 400
//     {"errors":[{"code":"TAG_INVALID",...}]} even when the digest is the same (honouring
//     *_WITH_EXCLUSION wildcard filters), and refuses an image manifest whose blobs are not all
//     in the repository (400 MANIFEST_BLOB_UNKNOWN). It serves the OCI 1.1 referrers API
//     (GET /v2/NAME/referrers/DIGEST, with the manifests' artifactType) as ECR does, unless
//     WithoutReferrersAPI asks for a registry that predates it.
//
// Transport routes the registry's host name to the server, so the code under test uses the
// real ECR host name. Faults can be injected: DropUploads cuts blob uploads mid-body.
package ecrfake

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Defaults of a new double.
const (
	DefaultAccount = "123456789012"
	DefaultRegion  = "us-east-1"
	// TokenTTL is how long an authorization token lives, as in ECR.
	TokenTTL = 12 * time.Hour
	// AWSManagedKeyAlias is the AWS-managed key ECR uses for KMS encryption without a key.
	AWSManagedKeyAlias = "alias/aws/ecr"
)

// Repository is a repository of the double, with ECR's settings.
type Repository struct {
	Name           string
	Mutability     string   // MUTABLE (ECR's default), IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION
	Exclusions     []string // WILDCARD filters of the *_WITH_EXCLUSION settings
	EncryptionType string   // AES256 (ECR's default), KMS or KMS_DSSE
	KMSKey         string   // key ARN (KMS types); "" = the AWS-managed aws/ecr key
	created        time.Time
}

// Key is a KMS key of the double.
type Key struct {
	ID, ARN string
	Alias   string // "alias/NAME", "" for none
	AWS     bool   // AWS-managed (like aws/ecr) rather than customer-managed
}

// Write is one write request to the registry (POST, PATCH, PUT, DELETE) and its status; the
// status is 0 for a connection the double dropped.
type Write struct {
	Method, Path string
	Status       int
}

// Server is the double. Create it with New; it stops when the test ends.
type Server struct {
	URL             string // https://127.0.0.1:PORT: the SDK BaseEndpoint
	Account, Region string
	Host            string // ACCOUNT.dkr.ecr.REGION.amazonaws.com, the registry's name
	AccessKeyID     string // the credentials the JSON API accepts
	SecretAccessKey string

	srv *httptest.Server
	reg http.Handler

	mu        sync.Mutex
	now       func() time.Time
	repos     map[string]*Repository
	keys      map[string]*Key // by ARN
	tokens    map[string]time.Time
	issued    []string // every token and password handed out
	ops       []string
	writes    []Write
	dropN     int
	dropAfter int64
	dropped   int
	denyKMS   bool
	referrers map[string][]referrer // by "REPO@SUBJECT-DIGEST"; nil = no referrers API
}

type referrer struct{ desc v1.Descriptor }

// Option configures New.
type Option func(*config)

type config struct {
	referrers bool
	now       func() time.Time
}

// WithoutReferrersAPI makes the registry answer 404 on /v2/NAME/referrers/DIGEST, like
// registries that predate OCI 1.1, so clients fall back to the sha256-<hex> tag schema. ECR has
// the API, so the default has it too.
func WithoutReferrersAPI() Option { return func(c *config) { c.referrers = false } }

// WithClock sets the clock that expires tokens. Default time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// New starts a double with the AWS-managed aws/ecr key and no repositories.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	c := config{referrers: true, now: time.Now}
	for _, o := range opts {
		o(&c)
	}
	s := &Server{
		Account:         DefaultAccount,
		Region:          DefaultRegion,
		AccessKeyID:     "AKIDECRFAKE" + randHex(5),
		SecretAccessKey: "ecrfake-secret-" + randHex(16),
		now:             c.now,
		repos:           map[string]*Repository{},
		keys:            map[string]*Key{},
		tokens:          map[string]time.Time{},
	}
	s.Host = s.Account + ".dkr.ecr." + s.Region + ".amazonaws.com"
	s.issued = append(s.issued, s.SecretAccessKey)
	// The referrers API is the double's own: pkg/registry's reports the config media type as
	// the artifactType even when the manifest has an artifactType field.
	// Blobs are kept per repository, as in ECR (pkg/registry's default store shares them).
	s.reg = registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithBlobHandler(&repoBlobs{m: map[string][]byte{}}))
	if c.referrers {
		s.referrers = map[string][]referrer{}
	}
	s.AddKey(AWSManagedKeyAlias, true)
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return strings.ToUpper(hex.EncodeToString(b))[:2*n]
}

// AddKey creates a KMS key with an optional alias ("alias/NAME") and returns its ARN.
func (s *Server) AddKey(alias string, awsManaged bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := strings.ToLower(randHex(4) + "-" + randHex(2) + "-" + randHex(2) + "-" + randHex(2) + "-" + randHex(6))
	k := &Key{ID: id, ARN: fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", s.Region, s.Account, id), Alias: alias, AWS: awsManaged}
	s.keys[k.ARN] = k
	return k.ARN
}

// AddRepository creates a repository as if someone had made it with these settings.
func (s *Server) AddRepository(r Repository) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Mutability == "" {
		r.Mutability = "MUTABLE"
	}
	if r.EncryptionType == "" {
		r.EncryptionType = "AES256"
	}
	if r.EncryptionType != "AES256" && r.KMSKey == "" {
		r.KMSKey = s.keyLocked(AWSManagedKeyAlias).ARN
	}
	r.created = s.now()
	s.repos[r.Name] = &r
}

// Repository returns a repository's settings.
func (s *Server) Repository(name string) (Repository, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[name]
	if !ok {
		return Repository{}, false
	}
	return *r, true
}

// Ops lists the control-plane operations called so far, as "ecr:CreateRepository" or
// "kms:DescribeKey".
func (s *Server) Ops() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ops...)
}

// Writes lists the registry write requests so far, in the order they finished.
func (s *Server) Writes() []Write {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Write(nil), s.writes...)
}

// ResetLog forgets Ops and Writes.
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops, s.writes = nil, nil
}

// Secrets returns every secret the double knows: the secret access key and each authorization
// token, both encoded and as the bare password. Tests check none reaches output, logs or errors.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// DropUploads makes the next n blob upload bodies (PATCH) lose their connection after the
// registry has stored `after` bytes of them, as a network failure mid-blob would.
func (s *Server) DropUploads(n int, after int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropN, s.dropAfter = n, after
}

// Dropped says how many connections DropUploads has cut.
func (s *Server) Dropped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// DenyDescribeKey makes kms:DescribeKey fail with AccessDeniedException.
func (s *Server) DenyDescribeKey() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denyKMS = true
}

// AWSConfig is an SDK configuration that reaches the double: static credentials, the
// double's region, BaseEndpoint and an HTTP client that trusts its certificate, no retries.
func (s *Server) AWSConfig() aws.Config {
	return aws.Config{
		Region:           s.Region,
		Credentials:      credentials.NewStaticCredentialsProvider(s.AccessKeyID, s.SecretAccessKey, ""),
		BaseEndpoint:     aws.String(s.URL),
		HTTPClient:       s.srv.Client(),
		RetryMaxAttempts: 1,
	}
}

// ECR is a real *ecr.Client reaching the double.
func (s *Server) ECR() *ecr.Client { return ecr.NewFromConfig(s.AWSConfig()) }

// KMS is a real *kms.Client reaching the double.
func (s *Server) KMS() *kms.Client { return kms.NewFromConfig(s.AWSConfig()) }

// CertPEM is the server's certificate, for AWS_CA_BUNDLE.
func (s *Server) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// Transport is an HTTP transport that sends every connection to the double and trusts its
// certificate, so registry clients can use the real ECR host name (Host).
func (s *Server) Transport() http.RoundTripper {
	tr := s.srv.Client().Transport.(*http.Transport).Clone()
	addr := s.srv.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
	tr.TLSClientConfig.ServerName = "example.com" // the name httptest's certificate is for
	return tr
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/v2" || strings.HasPrefix(r.URL.Path, "/v2/"):
		s.registry(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/":
		s.api(w, r)
	default:
		http.NotFound(w, r)
	}
}

// ---- registry ----

// repoBlobs stores blobs per repository.
type repoBlobs struct {
	mu sync.Mutex
	m  map[string][]byte // "REPO@DIGEST"
}

func (b *repoBlobs) get(repo string, h v1.Hash) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, ok := b.m[repo+"@"+h.String()]
	return data, ok
}

func (b *repoBlobs) Get(_ context.Context, repo string, h v1.Hash) (io.ReadCloser, error) {
	data, ok := b.get(repo, h)
	if !ok {
		return nil, registry.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func (b *repoBlobs) Stat(_ context.Context, repo string, h v1.Hash) (int64, error) {
	data, ok := b.get(repo, h)
	if !ok {
		return 0, registry.ErrNotFound
	}
	return int64(len(data)), nil
}

func (b *repoBlobs) Put(_ context.Context, repo string, h v1.Hash, rc io.ReadCloser) error {
	defer rc.Close()
	// pkg/registry names the repository of PUT /v2/NAME/blobs/uploads/ID "NAME/blobs".
	repo = strings.TrimSuffix(repo, "/blobs")
	data, err := io.ReadAll(rc) // rc verifies size and digest; its error reaches the client
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[repo+"@"+h.String()] = data
	return nil
}

var repoPath = regexp.MustCompile(`^/v2/(.+)/(blobs|manifests|tags|referrers)/(.*)$`)

func (s *Server) registry(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Basic realm="https://%s/",service="ecr.amazonaws.com"`, s.Host))
		regError(w, http.StatusUnauthorized, "DENIED", "Your authorization token is missing, invalid or has expired. Reauthenticate and try again.")
		return
	}
	m := repoPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		s.reg.ServeHTTP(w, r)
		return
	}
	name, kind, rest := m[1], m[2], m[3]
	s.mu.Lock()
	repo, ok := s.repos[name]
	var rc Repository
	if ok {
		rc = *repo
	}
	s.mu.Unlock()
	if !ok {
		regError(w, http.StatusNotFound, "NAME_UNKNOWN", fmt.Sprintf("The repository with name '%s' does not exist in the registry with id '%s'", name, s.Account))
		return
	}
	rec := &recorder{ResponseWriter: w}
	defer func() {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.mu.Lock()
			s.writes = append(s.writes, Write{Method: r.Method, Path: r.URL.Path, Status: rec.status})
			s.mu.Unlock()
		}
	}()
	switch {
	case kind == "manifests" && r.Method == http.MethodPut:
		s.putManifest(rec, r, rc, rest)
	case kind == "referrers" && r.Method == http.MethodGet && s.referrers != nil:
		s.listReferrers(rec, r, name, rest)
	case kind == "blobs" && r.Method == http.MethodPatch && s.takeDrop():
		s.dropUpload(rec, r)
	default:
		s.reg.ServeHTTP(rec, r)
	}
}

func (s *Server) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok || user != "AWS" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[pass]
	return ok && s.now().Before(exp)
}

func (s *Server) putManifest(w *recorder, r *http.Request, repo Repository, ref string) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		regError(w, http.StatusBadRequest, "MANIFEST_INVALID", err.Error())
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if !strings.HasPrefix(ref, "sha256:") && repo.tagImmutable(ref) && s.exists(r, "/manifests/"+ref) {
		regError(w, http.StatusBadRequest, "TAG_INVALID", fmt.Sprintf(
			"The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable.", ref, repo.Name))
		return
	}
	var m struct {
		MediaType string `json:"mediaType"`
		Config    *struct {
			MediaType string `json:"mediaType"`
			Digest    string `json:"digest"`
		} `json:"config"`
		Layers []struct {
			Digest string `json:"digest"`
			URLs   []string
		} `json:"layers"`
		Subject      *v1.Descriptor    `json:"subject"`
		ArtifactType string            `json:"artifactType"`
		Annotations  map[string]string `json:"annotations"`
	}
	if json.Unmarshal(body, &m) == nil && m.Config != nil {
		need := []string{m.Config.Digest}
		for _, l := range m.Layers {
			if len(l.URLs) == 0 {
				need = append(need, l.Digest)
			}
		}
		for _, d := range need {
			if !s.exists(r, "/blobs/"+d) {
				regError(w, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN", fmt.Sprintf("blob %s referenced by the manifest is not in the repository", d))
				return
			}
		}
	}
	if m.Subject != nil && s.referrers != nil {
		w.Header().Set("OCI-Subject", m.Subject.Digest.String()) // this registry indexes referrers
	}
	s.reg.ServeHTTP(w, r)
	if w.status != http.StatusCreated || m.Subject == nil || s.referrers == nil {
		return
	}
	// Index the referrer as the distribution spec says: artifactType, else the config's media type.
	h, size, _ := v1.SHA256(bytes.NewReader(body))
	at := m.ArtifactType
	if at == "" && m.Config != nil {
		at = m.Config.MediaType
	}
	mt := r.Header.Get("Content-Type")
	if mt == "" {
		mt = m.MediaType
	}
	key := repo.Name + "@" + m.Subject.Digest.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.referrers[key] {
		if x.desc.Digest == h {
			return
		}
	}
	s.referrers[key] = append(s.referrers[key], referrer{desc: v1.Descriptor{MediaType: types.MediaType(mt), Size: size, Digest: h,
		ArtifactType: at, Annotations: m.Annotations}})
}

// listReferrers answers GET /v2/NAME/referrers/DIGEST[?artifactType=T] with an OCI index.
func (s *Server) listReferrers(w http.ResponseWriter, r *http.Request, name, subject string) {
	if _, err := v1.NewHash(subject); err != nil {
		regError(w, http.StatusBadRequest, "DIGEST_INVALID", "invalid digest "+subject)
		return
	}
	filter := r.URL.Query().Get("artifactType")
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{}}
	s.mu.Lock()
	for _, x := range s.referrers[name+"@"+subject] {
		if filter == "" || x.desc.ArtifactType == filter {
			idx.Manifests = append(idx.Manifests, x.desc)
		}
	}
	s.mu.Unlock()
	if filter != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	w.Header().Set("Content-Type", string(types.OCIImageIndex))
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(idx)
}

// tagImmutable says whether ECR would refuse to overwrite tag in this repository.
func (r Repository) tagImmutable(tag string) bool {
	matched := false
	for _, f := range r.Exclusions {
		if wildcard(f, tag) {
			matched = true
		}
	}
	switch r.Mutability {
	case "IMMUTABLE":
		return true
	case "IMMUTABLE_WITH_EXCLUSION":
		return !matched
	case "MUTABLE_WITH_EXCLUSION":
		return matched
	}
	return false
}

// wildcard matches ECR WILDCARD filters ('*' is any run of characters) with a regexp.
func wildcard(filter, tag string) bool {
	parts := strings.Split(filter, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$").MatchString(tag)
}

// exists asks the wrapped registry whether /v2/NAME<suffix> exists.
func (s *Server) exists(r *http.Request, suffix string) bool {
	m := repoPath.FindStringSubmatch(r.URL.Path)
	req := httptest.NewRequest(http.MethodHead, "/v2/"+m[1]+suffix, nil)
	rec := httptest.NewRecorder()
	s.reg.ServeHTTP(rec, req)
	return rec.Code == http.StatusOK
}

func (s *Server) takeDrop() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropN == 0 {
		return false
	}
	s.dropN--
	s.dropped++
	return true
}

// dropUpload lets the registry store the first dropAfter bytes of the body, then closes the
// connection without an answer.
func (s *Server) dropUpload(w *recorder, r *http.Request) {
	s.mu.Lock()
	after := s.dropAfter
	s.mu.Unlock()
	r.Body = &cutBody{r: r.Body, left: after}
	s.reg.ServeHTTP(&discard{h: http.Header{}}, r)
	conn, _, err := w.ResponseWriter.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}

type cutBody struct {
	r    io.ReadCloser
	left int64
}

func (c *cutBody) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

func (c *cutBody) Close() error { return c.r.Close() }

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func regError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
}

// newToken issues a registry password valid for TokenTTL and returns ECR's encoded token.
func (s *Server) newTokenLocked() (token string, expires time.Time) {
	pass := "ecrfake-token-" + randHex(24)
	expires = s.now().Add(TokenTTL)
	s.tokens[pass] = expires
	token = base64.StdEncoding.EncodeToString([]byte("AWS:" + pass))
	s.issued = append(s.issued, pass, token)
	return token, expires
}
