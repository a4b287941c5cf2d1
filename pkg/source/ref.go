// Package source turns the image references users type (in skopeo's and crane's conventions)
// into go-containerregistry images, and writes images to the same kinds of destinations.
//
//	NAME[:TAG|@DIGEST], docker://NAME      a registry
//	docker-archive:PATH[:NAME[:TAG]|:@N]  a `docker save` / `podman save` tarball
//	oci-archive:PATH[:TAG]                an OCI image layout in a tar file
//	oci:DIR[:TAG]                         an OCI image layout directory
//	docker-daemon:NAME[:TAG]              a Docker-compatible engine API (DOCKER_HOST; podman's socket)
package source

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Transport is how an image is reached.
type Transport string

// Supported transports.
const (
	Registry      Transport = "docker"
	DockerArchive Transport = "docker-archive"
	OCIArchive    Transport = "oci-archive"
	OCILayout     Transport = "oci"
	DockerDaemon  Transport = "docker-daemon"
)

// ErrBadReference is wrapped by every parse error, so callers can map it to a usage error.
var ErrBadReference = errors.New("bad image reference")

// Ref is a parsed image reference.
type Ref struct {
	Transport Transport
	Path      string // archive file or layout directory
	Name      string // registry/daemon reference, or the tag/name selected inside an archive or layout
	Index     int    // docker-archive:PATH:@N selects the Nth image; -1 when not given
	raw       string
}

// String is the reference as the user wrote it.
func (r Ref) String() string { return r.raw }

// unsupported transports that users may try; they get a clear error instead of being taken
// for a registry name.
var unsupported = []string{"containers-storage", "dir", "ostree", "sif", "tarball", "docker-tar"}

var indexSuffix = regexp.MustCompile(`^@(\d+)$`)

// Parse reads an image reference. Errors wrap ErrBadReference.
func Parse(s string) (Ref, error) {
	r := Ref{raw: s, Index: -1}
	if strings.TrimSpace(s) == "" {
		return r, fmt.Errorf("%w: empty", ErrBadReference)
	}
	transport, rest, ok := strings.Cut(s, ":")
	switch {
	case ok && transport == "docker":
		r.Transport = Registry
		r.Name = strings.TrimPrefix(rest, "//")
	case ok && transport == string(DockerArchive), ok && transport == string(OCIArchive), ok && transport == string(OCILayout):
		r.Transport = Transport(transport)
		r.Path, r.Name = splitPathRef(rest)
		if r.Path == "" {
			return r, fmt.Errorf("%w: %s: missing path", ErrBadReference, s)
		}
		if m := indexSuffix.FindStringSubmatch(r.Name); m != nil {
			if r.Transport != DockerArchive {
				return r, fmt.Errorf("%w: %s: @N selects an image only in docker-archive", ErrBadReference, s)
			}
			r.Index, _ = strconv.Atoi(m[1])
			r.Name = ""
		}
		return r, nil
	case ok && transport == string(DockerDaemon):
		r.Transport = DockerDaemon
		r.Name = rest
		if _, err := name.ParseReference(rest); err != nil || rest == "" {
			return r, fmt.Errorf("%w: %s: %v", ErrBadReference, s, errOrEmpty(err))
		}
		return r, nil
	default:
		for _, u := range unsupported {
			if ok && transport == u {
				return r, fmt.Errorf("%w: transport %q is not supported (use docker://, docker-archive:, oci-archive:, oci: or docker-daemon:)", ErrBadReference, u)
			}
		}
		r.Transport = Registry
		r.Name = s
	}
	if _, err := name.ParseReference(r.Name); err != nil || r.Name == "" {
		return r, fmt.Errorf("%w: %s: %v", ErrBadReference, s, errOrEmpty(err))
	}
	return r, nil
}

func errOrEmpty(err error) error {
	if err == nil {
		return errors.New("empty name")
	}
	return err
}

// splitPathRef splits "PATH[:REF]". A path that exists as written wins, so paths with colons
// work; otherwise the text after the first colon is the reference.
func splitPathRef(s string) (string, string) {
	if _, err := os.Stat(s); err == nil {
		return s, ""
	}
	if p, ref, ok := strings.Cut(s, ":"); ok {
		return p, ref
	}
	return s, ""
}
