package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/moby/client"
)

// Image is an opened image with what the reports need to say where it came from.
type Image struct {
	v1.Image
	Ref            Ref
	ManifestDigest string // manifest digest when the source has a real manifest (registry, OCI); else ""
	ID             string // config digest ("image ID")
	Platform       string // os/arch[/variant] from the config
	closeFn        func() error
}

// Close releases files and temporary copies held by the image.
func (i *Image) Close() error {
	if i.closeFn == nil {
		return nil
	}
	err := i.closeFn()
	i.closeFn = nil
	return err
}

// Options configures Open and Write.
type Options struct {
	Platform  *v1.Platform      // for multi-platform indexes; default: DefaultPlatform()
	Insecure  bool              // plain HTTP (and no TLS verification) for non-loopback registries
	Keychain  authn.Keychain    // default authn.DefaultKeychain (~/.docker/config.json, credential helpers)
	Transport http.RoundTripper // default remote.DefaultTransport
	UserAgent string
	TempDir   string // for docker-daemon copies; default os.TempDir()
}

// Option sets an Options field.
type Option func(*Options)

// WithPlatform selects the platform in multi-platform images.
func WithPlatform(p *v1.Platform) Option { return func(o *Options) { o.Platform = p } }

// WithInsecure allows plain HTTP registries that are not on the loopback interface.
func WithInsecure(b bool) Option { return func(o *Options) { o.Insecure = b } }

// WithKeychain sets registry credentials.
func WithKeychain(k authn.Keychain) Option { return func(o *Options) { o.Keychain = k } }

// WithTransport sets the HTTP transport for registries.
func WithTransport(t http.RoundTripper) Option { return func(o *Options) { o.Transport = t } }

// WithUserAgent sets the registry user agent.
func WithUserAgent(ua string) Option { return func(o *Options) { o.UserAgent = ua } }

// WithTempDir sets where temporary copies go (docker-daemon input).
func WithTempDir(d string) Option { return func(o *Options) { o.TempDir = d } }

// DefaultPlatform is linux with the host's architecture (linux/amd64 on most CI runners).
func DefaultPlatform() *v1.Platform {
	return &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
}

func makeOptions(opts []Option) *Options {
	o := &Options{Keychain: authn.DefaultKeychain, UserAgent: "imgharden"}
	for _, f := range opts {
		f(o)
	}
	if o.Platform == nil {
		o.Platform = DefaultPlatform()
	}
	return o
}

// ParsePlatform reads os/arch[/variant].
func ParsePlatform(s string) (*v1.Platform, error) {
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" {
		return nil, fmt.Errorf("%w: platform %q: want os/arch[/variant]", ErrBadReference, s)
	}
	return p, nil
}

// Open opens the image ref names. The caller must Close it.
func Open(ctx context.Context, ref Ref, opts ...Option) (*Image, error) {
	o := makeOptions(opts)
	var (
		img     v1.Image
		closeFn func() error
		real    bool
		err     error
	)
	switch ref.Transport {
	case Registry:
		img, err = openRemote(ctx, ref, o)
		real = true
	case OCILayout:
		if fi, serr := os.Stat(ref.Path); serr != nil || !fi.IsDir() {
			return nil, fmt.Errorf("oci:%s: not a directory", ref.Path)
		}
		img, err = openLayout(dirStore{root: ref.Path}, "oci:"+ref.Path, ref.Name, o.Platform)
		real = true
	case OCIArchive:
		var ts *tarStore
		if ts, err = openTarStore(ref.Path); err == nil {
			closeFn = ts.close
			img, err = openLayout(ts, "oci-archive:"+ref.Path, ref.Name, o.Platform)
			real = true
		}
	case DockerArchive:
		var ts *tarStore
		if ts, err = openTarStore(ref.Path); err == nil {
			closeFn = ts.close
			img, err = openDockerArchive(ts, "docker-archive:"+ref.Path, ref.Name, ref.Index)
		}
	case DockerDaemon:
		img, closeFn, err = openDaemon(ctx, ref, o)
	default:
		return nil, fmt.Errorf("%w: unknown transport %q", ErrBadReference, ref.Transport)
	}
	if err != nil {
		if closeFn != nil {
			closeFn()
		}
		return nil, err
	}
	out := &Image{Image: img, Ref: ref, closeFn: closeFn}
	if cfgName, err := img.ConfigName(); err == nil {
		out.ID = cfgName.String()
	}
	if real {
		if d, err := img.Digest(); err == nil {
			out.ManifestDigest = d.String()
		}
	}
	if cf, err := img.ConfigFile(); err == nil && cf != nil {
		p := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
		out.Platform = p.String()
	} else if err != nil {
		out.Close()
		return nil, fmt.Errorf("%s: image config: %w", ref, err)
	}
	return out, nil
}

func remoteOptions(ctx context.Context, o *Options) []remote.Option {
	ro := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(o.Keychain),
		remote.WithPlatform(*o.Platform),
		remote.WithUserAgent(o.UserAgent),
	}
	if o.Transport != nil {
		ro = append(ro, remote.WithTransport(o.Transport))
	}
	return ro
}

// ParseRegistryRef parses a registry reference, honouring --insecure.
func ParseRegistryRef(s string, insecure bool) (name.Reference, error) {
	var nopts []name.Option
	if insecure {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(s, nopts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadReference, s, err)
	}
	return r, nil
}

func openRemote(ctx context.Context, ref Ref, o *Options) (v1.Image, error) {
	r, err := ParseRegistryRef(ref.Name, o.Insecure)
	if err != nil {
		return nil, err
	}
	img, err := remote.Image(r, remoteOptions(ctx, o)...)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", r.Context().RegistryStr(), err)
	}
	return img, nil
}

// openDaemon asks a Docker-compatible engine (DOCKER_HOST, podman's API socket) to save the
// image, copies the stream to a temporary file (the API offers no random access) and reads
// that as a docker-archive. The copy is removed on Close.
func openDaemon(ctx context.Context, ref Ref, o *Options) (v1.Image, func() error, error) {
	c, err := client.New(client.FromEnv)
	if err != nil {
		return nil, nil, fmt.Errorf("docker-daemon: %w", err)
	}
	if _, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("docker-daemon: engine API not reachable (DOCKER_HOST=%q): %w", os.Getenv("DOCKER_HOST"), err)
	}
	rc, err := c.ImageSave(ctx, []string{ref.Name})
	if err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("docker-daemon:%s: %w", ref.Name, err)
	}
	f, err := os.CreateTemp(o.TempDir, "imgharden-daemon-*.tar")
	if err != nil {
		rc.Close()
		c.Close()
		return nil, nil, fmt.Errorf("docker-daemon: temporary copy: %w", err)
	}
	cleanup := func() error {
		f.Close()
		c.Close()
		return os.Remove(f.Name())
	}
	_, err = io.Copy(f, rc)
	rc.Close()
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("docker-daemon:%s: saving image: %w", ref.Name, err)
	}
	ts, err := openTarStore(f.Name())
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("docker-daemon:%s: %w", ref.Name, err)
	}
	closeAll := func() error { return errors.Join(ts.close(), cleanup()) }
	img, err := openDockerArchive(ts, "docker-daemon:"+ref.Name, "", 0)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return img, closeAll, nil
}
