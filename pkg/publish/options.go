package publish

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Option configures NewECR, Push, Attach and Referrers. Each option says which it applies to.
type Option func(*options)

type options struct {
	auth      authn.Authenticator
	keychain  authn.Keychain
	transport http.RoundTripper
	jobs      int
	progress  func(Progress)
	log       *slog.Logger
	backoff   *remote.Backoff
	userAgent string
	now       func() time.Time
}

// DefaultJobs is how many blobs are uploaded at once unless WithJobs says otherwise.
const DefaultJobs = 4

func makeOptions(opts []Option) *options {
	o := &options{
		keychain:  authn.DefaultKeychain,
		jobs:      DefaultJobs,
		log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		userAgent: "imgharden",
		now:       time.Now,
	}
	for _, f := range opts {
		f(o)
	}
	if o.jobs < 1 {
		o.jobs = 1
	}
	return o
}

// WithAuth authenticates registry requests with a (Push, Attach, Referrers). ECR destinations
// take ECR.Authenticator. It wins over WithKeychain.
func WithAuth(a authn.Authenticator) Option { return func(o *options) { o.auth = a } }

// WithKeychain resolves registry credentials (Push, Attach, Referrers). Default:
// authn.DefaultKeychain (~/.docker/config.json and its credential helpers).
func WithKeychain(k authn.Keychain) Option { return func(o *options) { o.keychain = k } }

// WithTransport sets the HTTP transport for registry requests (Push, Attach, Referrers).
// Default: go-containerregistry's remote.DefaultTransport.
func WithTransport(t http.RoundTripper) Option { return func(o *options) { o.transport = t } }

// WithJobs sets how many blobs are uploaded at once (Push). Default DefaultJobs; values below
// 1 mean 1.
func WithJobs(n int) Option { return func(o *options) { o.jobs = n } }

// WithProgress receives upload progress (Push). It is called from several goroutines, one
// call at a time. Default: none.
func WithProgress(f func(Progress)) Option { return func(o *options) { o.progress = f } }

// WithLogger receives debug records: requests decided, blobs skipped, tokens refreshed (never
// the tokens themselves). Default: discard. Applies to everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// WithRetryBackoff sets how failed registry requests (a dropped connection, a 5xx) are
// retried (Push, Attach). Default: go-containerregistry's, three tries 1 s and 3 s apart.
func WithRetryBackoff(b remote.Backoff) Option { return func(o *options) { o.backoff = &b } }

// WithUserAgent sets the registry User-Agent (Push, Attach, Referrers). Default "imgharden".
func WithUserAgent(ua string) Option { return func(o *options) { o.userAgent = ua } }

// WithClock sets the clock that decides when a cached ECR token has expired (NewECR).
// Default time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// remoteOptions are the go-containerregistry options every registry call shares.
func (o *options) remoteOptions(ctx context.Context) []remote.Option {
	ro := []remote.Option{
		remote.WithContext(ctx),
		remote.WithJobs(o.jobs),
		remote.WithUserAgent(o.userAgent),
	}
	if o.auth != nil {
		ro = append(ro, remote.WithAuth(o.auth))
	} else {
		ro = append(ro, remote.WithAuthFromKeychain(o.keychain))
	}
	if o.transport != nil {
		ro = append(ro, remote.WithTransport(o.transport))
	}
	if o.backoff != nil {
		ro = append(ro, remote.WithRetryBackoff(*o.backoff))
	}
	return ro
}
