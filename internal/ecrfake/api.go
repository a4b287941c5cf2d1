package ecrfake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	ecrTargetPrefix = "AmazonEC2ContainerRegistry_V20150921."
	kmsTargetPrefix = "TrentService."
	jsonContentType = "application/x-amz-json-1.1"
)

// apiError is an AWS JSON 1.1 error: HTTP 400 with {"__type": ..., "message": ...}.
type apiError struct{ typ, msg string }

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	target := r.Header.Get("X-Amz-Target")
	var service, op string
	switch {
	case strings.HasPrefix(target, ecrTargetPrefix):
		service, op = "ecr", strings.TrimPrefix(target, ecrTargetPrefix)
	case strings.HasPrefix(target, kmsTargetPrefix):
		service, op = "kms", strings.TrimPrefix(target, kmsTargetPrefix)
	default:
		writeAPIError(w, &apiError{"UnknownOperationException", fmt.Sprintf("unknown X-Amz-Target %q", target)})
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != jsonContentType {
		writeAPIError(w, &apiError{"SerializationException", fmt.Sprintf("Content-Type %q, want %s", ct, jsonContentType)})
		return
	}
	if aerr := s.checkSignature(r, body, service); aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	s.mu.Lock()
	s.ops = append(s.ops, service+":"+op)
	s.mu.Unlock()

	var out any
	var aerr *apiError
	switch service + ":" + op {
	case "ecr:DescribeRepositories":
		out, aerr = s.describeRepositories(body)
	case "ecr:CreateRepository":
		out, aerr = s.createRepository(body)
	case "ecr:GetAuthorizationToken":
		out, aerr = s.getAuthorizationToken()
	case "kms:DescribeKey":
		out, aerr = s.describeKey(body)
	default:
		aerr = &apiError{"UnknownOperationException", "the double does not implement " + service + ":" + op}
	}
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", jsonContentType)
	json.NewEncoder(w).Encode(out)
}

func writeAPIError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", jsonContentType)
	w.Header().Set("X-Amzn-Errortype", e.typ)
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"__type": e.typ, "message": e.msg})
}

var authHeader = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$`)

// checkSignature verifies the request's SigV4 signature with the double's credentials, by
// signing a copy of the signed parts with the SDK's signer and comparing.
func (s *Server) checkSignature(r *http.Request, body []byte, service string) *apiError {
	m := authHeader.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return &apiError{"MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	akid, region, svc, signed, sig := m[1], m[3], m[4], m[5], m[6]
	if akid != s.AccessKeyID {
		return &apiError{"UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	if region != s.Region || svc != service {
		return &apiError{"InvalidSignatureException", fmt.Sprintf("credential scope %s/%s, want %s/%s", region, svc, s.Region, service)}
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return &apiError{"InvalidSignatureException", "bad X-Amz-Date"}
	}
	cp, err := http.NewRequest(r.Method, "https://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return &apiError{"InvalidSignatureException", err.Error()}
	}
	for _, h := range strings.Split(signed, ";") {
		switch h {
		case "host", "content-length":
		default:
			cp.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, cp, hex.EncodeToString(sum[:]), service, region, when); err != nil {
		return &apiError{"InvalidSignatureException", err.Error()}
	}
	if mm := authHeader.FindStringSubmatch(cp.Header.Get("Authorization")); mm == nil || mm[6] != sig {
		return &apiError{"InvalidSignatureException", "The request signature we calculated does not match the signature you provided."}
	}
	return nil
}

// ---- ECR ----

type filterJSON struct {
	FilterType string `json:"filterType"`
	Filter     string `json:"filter"`
}

type encryptionJSON struct {
	EncryptionType string `json:"encryptionType"`
	KMSKey         string `json:"kmsKey,omitempty"`
}

type repoJSON struct {
	RepositoryArn      string          `json:"repositoryArn"`
	RegistryID         string          `json:"registryId"`
	RepositoryName     string          `json:"repositoryName"`
	RepositoryURI      string          `json:"repositoryUri"`
	CreatedAt          float64         `json:"createdAt"`
	ImageTagMutability string          `json:"imageTagMutability"`
	Exclusions         []filterJSON    `json:"imageTagMutabilityExclusionFilters,omitempty"`
	Encryption         *encryptionJSON `json:"encryptionConfiguration"`
	Scanning           map[string]bool `json:"imageScanningConfiguration"`
}

func (s *Server) repoJSONLocked(r *Repository) repoJSON {
	out := repoJSON{
		RepositoryArn:      fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", s.Region, s.Account, r.Name),
		RegistryID:         s.Account,
		RepositoryName:     r.Name,
		RepositoryURI:      s.Host + "/" + r.Name,
		CreatedAt:          float64(r.created.UnixMilli()) / 1000,
		ImageTagMutability: r.Mutability,
		Encryption:         &encryptionJSON{EncryptionType: r.EncryptionType, KMSKey: r.KMSKey},
		Scanning:           map[string]bool{"scanOnPush": false},
	}
	for _, f := range r.Exclusions {
		out.Exclusions = append(out.Exclusions, filterJSON{FilterType: "WILDCARD", Filter: f})
	}
	return out
}

func notFound(name, registry string) *apiError {
	return &apiError{"RepositoryNotFoundException", fmt.Sprintf("The repository with name '%s' does not exist in the registry with id '%s'", name, registry)}
}

func (s *Server) describeRepositories(body []byte) (any, *apiError) {
	var in struct {
		RegistryID      string   `json:"registryId"`
		RepositoryNames []string `json:"repositoryNames"`
	}
	if err := strictJSON(body, &in); err != nil {
		return nil, &apiError{"InvalidParameterException", err.Error()}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	registry := in.RegistryID
	if registry == "" {
		registry = s.Account
	}
	out := struct {
		Repositories []repoJSON `json:"repositories"`
	}{Repositories: []repoJSON{}}
	names := in.RepositoryNames
	if len(names) == 0 {
		for n := range s.repos {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	for _, n := range names {
		r, ok := s.repos[n]
		if !ok || registry != s.Account {
			return nil, notFound(n, registry)
		}
		out.Repositories = append(out.Repositories, s.repoJSONLocked(r))
	}
	return out, nil
}

var (
	repoName     = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
	filterSyntax = regexp.MustCompile(`^[0-9a-zA-Z._*-]{1,128}$`)
)

func (s *Server) createRepository(body []byte) (any, *apiError) {
	var in struct {
		RegistryID         string          `json:"registryId"`
		RepositoryName     string          `json:"repositoryName"`
		ImageTagMutability string          `json:"imageTagMutability"`
		Exclusions         []filterJSON    `json:"imageTagMutabilityExclusionFilters"`
		Encryption         *encryptionJSON `json:"encryptionConfiguration"`
		Scanning           map[string]bool `json:"imageScanningConfiguration"`
		Tags               []map[string]string
	}
	if err := strictJSON(body, &in); err != nil {
		return nil, &apiError{"InvalidParameterException", err.Error()}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.RegistryID != "" && in.RegistryID != s.Account {
		return nil, &apiError{"InvalidParameterException", "registryId " + in.RegistryID + " is not this registry"}
	}
	if len(in.RepositoryName) < 2 || len(in.RepositoryName) > 256 || !repoName.MatchString(in.RepositoryName) {
		return nil, &apiError{"InvalidParameterException", fmt.Sprintf("Invalid parameter at 'repositoryName' failed to satisfy constraint: '%s'", in.RepositoryName)}
	}
	if _, ok := s.repos[in.RepositoryName]; ok {
		return nil, &apiError{"RepositoryAlreadyExistsException", fmt.Sprintf("The repository with name '%s' already exists in the registry with id '%s'", in.RepositoryName, s.Account)}
	}
	r := &Repository{Name: in.RepositoryName, Mutability: in.ImageTagMutability, EncryptionType: "AES256", created: s.now()}
	switch r.Mutability {
	case "":
		r.Mutability = "MUTABLE"
	case "MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION":
	default:
		return nil, &apiError{"InvalidParameterException", "invalid imageTagMutability " + r.Mutability}
	}
	withExclusion := strings.HasSuffix(r.Mutability, "_WITH_EXCLUSION")
	if withExclusion != (len(in.Exclusions) > 0) {
		return nil, &apiError{"InvalidParameterException", "imageTagMutabilityExclusionFilters go with, and only with, a *_WITH_EXCLUSION mutability"}
	}
	for _, f := range in.Exclusions {
		if f.FilterType != "WILDCARD" || !filterSyntax.MatchString(f.Filter) {
			return nil, &apiError{"InvalidParameterException", fmt.Sprintf("invalid exclusion filter %+v", f)}
		}
		r.Exclusions = append(r.Exclusions, f.Filter)
	}
	if e := in.Encryption; e != nil {
		switch e.EncryptionType {
		case "AES256":
			if e.KMSKey != "" {
				return nil, &apiError{"InvalidParameterException", "kmsKey is only valid with KMS encryption"}
			}
		case "KMS", "KMS_DSSE":
			r.EncryptionType = e.EncryptionType
			id := e.KMSKey
			if id == "" {
				id = AWSManagedKeyAlias
			}
			k := s.keyLocked(id)
			if k == nil {
				return nil, &apiError{"KmsException", fmt.Sprintf("KMS key %s was not found", id)}
			}
			r.KMSKey = k.ARN
		default:
			return nil, &apiError{"InvalidParameterException", "invalid encryptionType " + e.EncryptionType}
		}
	}
	s.repos[r.Name] = r
	return map[string]repoJSON{"repository": s.repoJSONLocked(r)}, nil
}

func (s *Server) getAuthorizationToken() (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, exp := s.newTokenLocked()
	type data struct {
		AuthorizationToken string  `json:"authorizationToken"`
		ExpiresAt          float64 `json:"expiresAt"`
		ProxyEndpoint      string  `json:"proxyEndpoint"`
	}
	return map[string][]data{"authorizationData": {{AuthorizationToken: tok, ExpiresAt: float64(exp.Unix()), ProxyEndpoint: "https://" + s.Host}}}, nil
}

// ---- KMS ----

// keyLocked finds a key by ARN, key ID, alias name or alias ARN.
func (s *Server) keyLocked(id string) *Key {
	aliasARN := fmt.Sprintf("arn:aws:kms:%s:%s:", s.Region, s.Account)
	for _, k := range s.keys {
		if id == k.ARN || id == k.ID || (k.Alias != "" && (id == k.Alias || id == aliasARN+k.Alias)) {
			return k
		}
	}
	return nil
}

func (s *Server) describeKey(body []byte) (any, *apiError) {
	var in struct {
		KeyID       string `json:"KeyId"`
		GrantTokens []string
	}
	if err := strictJSON(body, &in); err != nil {
		return nil, &apiError{"ValidationException", err.Error()}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.denyKMS {
		return nil, &apiError{"AccessDeniedException", "User is not authorized to perform: kms:DescribeKey"}
	}
	k := s.keyLocked(in.KeyID)
	if k == nil {
		return nil, &apiError{"NotFoundException", fmt.Sprintf("Key '%s' does not exist", in.KeyID)}
	}
	manager := "CUSTOMER"
	if k.AWS {
		manager = "AWS"
	}
	return map[string]any{"KeyMetadata": map[string]any{
		"AWSAccountId": s.Account, "KeyId": k.ID, "Arn": k.ARN, "KeyManager": manager,
		"KeyState": "Enabled", "Enabled": true, "KeyUsage": "ENCRYPT_DECRYPT", "KeySpec": "SYMMETRIC_DEFAULT",
		"Origin": "AWS_KMS", "CreationDate": float64(s.now().Unix()), "Description": "",
	}}, nil
}

// strictJSON decodes an API request, refusing fields the double does not know, so a client
// that sends something unexpected fails loudly.
func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil && err != io.EOF {
		return err
	}
	return nil
}
