package publish

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
)

// tokenRefreshMargin is how long before its expiry a cached ECR token is replaced, so that a
// token never runs out in the middle of an upload.
const tokenRefreshMargin = 5 * time.Minute

// defaultTokenLifetime is assumed when GetAuthorizationToken gives no expiry (ECR's is 12 h).
const defaultTokenLifetime = 12 * time.Hour

// tokenAuth is an authn.Authenticator backed by ecr:GetAuthorizationToken. The token is
// fetched on first use and reused until tokenRefreshMargin before it expires; concurrent
// requests share one fetch. It never prints the token.
type tokenAuth struct {
	api ECRAPI
	now func() time.Time
	log *slog.Logger

	mu      sync.Mutex
	cfg     authn.AuthConfig
	expires time.Time
}

var (
	_ authn.Authenticator        = (*tokenAuth)(nil)
	_ authn.ContextAuthenticator = (*tokenAuth)(nil)
)

// Authorization implements authn.Authenticator.
func (a *tokenAuth) Authorization() (*authn.AuthConfig, error) {
	return a.AuthorizationContext(context.Background())
}

// AuthorizationContext implements authn.ContextAuthenticator.
func (a *tokenAuth) AuthorizationContext(ctx context.Context) (*authn.AuthConfig, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if a.cfg.Password != "" && now.Before(a.expires.Add(-tokenRefreshMargin)) {
		cfg := a.cfg
		return &cfg, nil
	}
	out, err := a.api.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return nil, fmt.Errorf("ecr:GetAuthorizationToken: %w", err)
	}
	if len(out.AuthorizationData) == 0 || out.AuthorizationData[0].AuthorizationToken == nil {
		return nil, errors.New("ecr:GetAuthorizationToken returned no token")
	}
	d := out.AuthorizationData[0]
	user, pass, err := decodeToken(*d.AuthorizationToken)
	if err != nil {
		return nil, err
	}
	a.cfg = authn.AuthConfig{Username: user, Password: pass}
	a.expires = now.Add(defaultTokenLifetime)
	if d.ExpiresAt != nil {
		a.expires = *d.ExpiresAt
	}
	a.log.Debug("ecr authorization token fetched", "expires", a.expires.UTC().Format(time.RFC3339), "proxyEndpoint", deref(d.ProxyEndpoint))
	cfg := a.cfg
	return &cfg, nil
}

// String never shows the token.
func (a *tokenAuth) String() string { return "ecr-authorization-token(redacted)" }

// decodeToken splits ECR's base64("AWS:password"). Errors never quote the token.
func decodeToken(tok string) (user, pass string, err error) {
	b, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		return "", "", errors.New("ecr:GetAuthorizationToken: the token is not base64")
	}
	user, pass, ok := strings.Cut(string(b), ":")
	if !ok || user == "" || pass == "" {
		return "", "", errors.New("ecr:GetAuthorizationToken: the token is not USER:PASSWORD")
	}
	return user, pass, nil
}
