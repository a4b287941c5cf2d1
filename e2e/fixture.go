//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgharden/imgharden/internal/e2eenv"
)

// Transport names one input form of the scanner.
type Transport string

// The input forms every fixture is exported to.
const (
	DockerArchive Transport = "docker-archive" // docker-archive:/path.tar (podman save --format docker-archive)
	OCIArchive    Transport = "oci-archive"    // oci-archive:/path.tar (an OCI layout in a tar)
	OCILayout     Transport = "oci"            // oci:/dir:tag (OCI layout directory)
	Registry      Transport = "registry"       // 127.0.0.1:PORT/imgharden-e2e/name:latest (plain HTTP)
	Daemon        Transport = "docker-daemon"  // docker-daemon:localhost/imgharden-e2e/name:latest (DOCKER_HOST)
)

// Transports lists every input form, in a fixed order.
var Transports = []Transport{DockerArchive, OCIArchive, OCILayout, Registry, Daemon}

// Fixture names, in the order a cold run builds them best (fat-builder first: its apt-get update
// layer is shared by the tools stage of perms and busybox).
const (
	FatBuilder = "fat-builder" // compilers, network tools, package managers, apt lists, root
	Secrets    = "secrets"     // secrets in layers (deleted, overwritten) and config, leftovers, USER 0
	Perms      = "perms"       // capability, setuid, setgid, world-writable, opaque whiteout
	Busybox    = "busybox"     // busybox applet links on scratch
	Clean      = "clean"       // scratch, static binary, non-root: no finding of medium or above
	Stripped   = "stripped"    // secrets with its history removed by ggcr: ENV secrets, no history
)

// Names lists every fixture.
func Names() []string { return []string{FatBuilder, Secrets, Perms, Busybox, Clean, Stripped} }

// Image is a fixture image: built in podman's storage and exported to every input form.
type Image struct {
	Name  string // fixture name, e.g. "perms"
	Local string // name in podman's storage: localhost/imgharden-e2e/perms:latest
	ID    string // config digest, "sha256:<hex>" (podman's image ID)

	DockerArchivePath string // docker-archive tarball
	OCIArchivePath    string // oci-archive tarball
	OCILayoutDir      string // OCI layout directory
	Tag               string // tag in the OCI layout and the oci-archive
	RegistryRef       string // 127.0.0.1:PORT/imgharden-e2e/perms:latest
}

// Ref returns the reference string the scanner accepts for that input form.
func (im *Image) Ref(tr Transport) string {
	switch tr {
	case DockerArchive:
		return "docker-archive:" + im.DockerArchivePath
	case OCIArchive:
		return "oci-archive:" + im.OCIArchivePath
	case OCILayout:
		return "oci:" + im.OCILayoutDir + ":" + im.Tag
	case Registry:
		return im.RegistryRef
	case Daemon:
		return "docker-daemon:" + im.Local
	}
	panic("e2e: unknown transport " + string(tr))
}

const (
	repoPrefix = "imgharden-e2e/"
	localHost  = "localhost/"
	tag        = "latest"
)

type built struct {
	img *Image
	err error
}

var (
	mu    sync.Mutex
	cache = map[string]built{}
)

// Fixture returns the named fixture, building and exporting it on first use in this process.
// buildah's layer cache and an image-ID stamp make a rebuild on a warm machine a matter of
// seconds. A missing prerequisite skips the test (fails it on CI, see e2eenv); a failed build
// fails it, with the tail of the build log.
func Fixture(t testing.TB, name string) *Image {
	t.Helper()
	env := e2eenv.Require(t, "podman", "buildah", "skopeo", "go")
	mu.Lock()
	defer mu.Unlock()
	start := time.Now()
	_, done := cache[name]
	img, err := get(context.Background(), env, name)
	if err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	if !done {
		t.Logf("fixture %s ready in %s: %s", name, time.Since(start).Round(time.Millisecond), img.ID)
	}
	return img
}

// get returns the fixture, building it on first use; it runs under mu.
func get(ctx context.Context, env e2eenv.Env, name string) (*Image, error) {
	if b, ok := cache[name]; ok {
		return b.img, b.err
	}
	img, err := build(ctx, env, name)
	cache[name] = built{img, err}
	return img, err
}

// build runs under mu; a file lock keeps several test processes (go test ./... runs packages in
// parallel) from exporting the same fixture at once.
func build(ctx context.Context, env e2eenv.Env, name string) (*Image, error) {
	if !known(name) {
		return nil, fmt.Errorf("unknown fixture (have %s)", strings.Join(Names(), ", "))
	}
	var src *Image
	if name == Stripped {
		var err error
		if src, err = get(ctx, env, Secrets); err != nil {
			return nil, fmt.Errorf("from %s: %w", Secrets, err)
		}
	}
	if err := os.MkdirAll(filepath.Join(env.Dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockFile(filepath.Join(env.Dir, "fixtures.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	im := &Image{
		Name:              name,
		Local:             localHost + repoPrefix + name + ":" + tag,
		Tag:               tag,
		DockerArchivePath: filepath.Join(env.Dir, "fixtures", name, "docker-archive.tar"),
		OCIArchivePath:    filepath.Join(env.Dir, "fixtures", name, "oci-archive.tar"),
		OCILayoutDir:      filepath.Join(env.Dir, "fixtures", name, "oci"),
		RegistryRef:       env.Registry + "/" + repoPrefix + name + ":" + tag,
	}
	if name == Stripped {
		err = buildStripped(ctx, env, im, src)
	} else {
		err = buildDockerfile(ctx, env, im)
	}
	if err != nil {
		return nil, err
	}
	if im.ID, err = imageID(ctx, env, im.Local); err != nil {
		return nil, err
	}
	if err := export(ctx, env, im); err != nil {
		return nil, err
	}
	return im, nil
}

func known(name string) bool {
	for _, n := range Names() {
		if n == name {
			return true
		}
	}
	return false
}

// buildDockerfile builds testdata/images/<name> with buildah from a build context under
// IMGHARDEN_E2E_DIR: the committed files plus the ones made at test time (prepare).
func buildDockerfile(ctx context.Context, env e2eenv.Env, im *Image) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	buildCtx := filepath.Join(env.Dir, "contexts", im.Name)
	if err := syncContext(filepath.Join(root, "testdata", "images", im.Name), buildCtx); err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	if err := prepare(ctx, root, im.Name, buildCtx); err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	if err := stampTimes(buildCtx); err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	// OCI format (buildah's default) so that no input form rewrites the config: skopeo
	// re-marshals a Docker config when it converts a manifest to OCI, which changes the image ID
	// and drops HEALTHCHECK. --pull=never: FROM is localhost/debian:bookworm or scratch only.
	return run(ctx, env, im.Name+".build", "buildah", "bud", "--layers", "--pull=never", "--network", "host",
		"--format", "oci", "-t", im.Local, buildCtx)
}

// prepare adds the files a fixture's build context gets at test time.
func prepare(ctx context.Context, root, name, dir string) error {
	switch name {
	case Secrets:
		if err := writeFile(filepath.Join(dir, "id_ed25519"), OpenSSHPrivateKey("secrets/id_ed25519", "deploy@ci"), 0o600); err != nil {
			return err
		}
		return writeFile(filepath.Join(dir, "tls", "server.key"), PKCS8PrivateKeyPEM("secrets/tls"), 0o600)
	case Clean:
		ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
		if err != nil {
			return fmt.Errorf("CA bundle (Debian package ca-certificates): %w", err)
		}
		if err := writeFile(filepath.Join(dir, "ca-certificates.crt"), ca, 0o644); err != nil {
			return err
		}
		bin := filepath.Join(dir, "hello")
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
			"-ldflags=-s -w -buildid=", "-o", bin+".new", "./testdata/images/clean/src")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build of the clean fixture's binary: %v\n%s", err, out)
		}
		b, err := os.ReadFile(bin + ".new")
		if err != nil {
			return err
		}
		os.Remove(bin + ".new")
		return writeFile(bin, b, 0o755)
	}
	return nil
}

// buildStripped makes the stripped fixture from secrets with ggcr: the same layers and config
// (ENV secrets included) but no history at all. It goes into podman's storage so that it is
// exported like every other fixture, docker-daemon: included.
func buildStripped(ctx context.Context, env e2eenv.Env, im, src *Image) error {
	base, err := openLayout(src.OCILayoutDir, src.Tag)
	if err != nil {
		return fmt.Errorf("from %s: %w", Secrets, err)
	}
	cfg, err := base.ConfigFile()
	if err != nil {
		return err
	}
	cfg = cfg.DeepCopy()
	cfg.History = nil
	img, err := mutate.ConfigFile(base, cfg)
	if err != nil {
		return err
	}
	want, err := img.ConfigName()
	if err != nil {
		return err
	}
	if id, err := imageID(ctx, env, im.Local); err == nil && id == want.String() {
		return nil // already in podman's storage
	}
	tmp := filepath.Join(env.Dir, "contexts", Stripped)
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag})); err != nil {
		return err
	}
	return run(ctx, env, im.Name+".load", "skopeo", "copy", "--quiet", "oci:"+tmp+":"+tag, "containers-storage:"+im.Local)
}

// export writes the fixture to every input form. The registry is pushed unless its tag
// already names this image (the registry may be a fresh one from a new set-up); the files are
// rewritten when the image ID changed or the registry got a new push. Registry first: skopeo
// compresses each layer once per registry, and the OCI layout and oci-archive are copied from
// the registry without recompressing, so all three carry the same manifest digest.
//
// A second push of an image the registry has is not harmless: skopeo's blob-info cache may
// mount a layer another test pushed, compressed differently, into the repository, and the
// tag would then name a manifest the OCI layout does not have.
func export(ctx context.Context, env e2eenv.Env, im *Image) error {
	dir := filepath.Join(env.Dir, "fixtures", im.Name)
	stamp := filepath.Join(dir, "image-id")
	pushed := false
	if registryConfig(im.RegistryRef) != im.ID {
		if err := run(ctx, env, im.Name+".push", "skopeo", "copy", "--quiet", "--dest-tls-verify=false",
			"containers-storage:"+im.Local, "docker://"+im.RegistryRef); err != nil {
			return err
		}
		pushed = true
	}
	if b, err := os.ReadFile(stamp); !pushed && err == nil && string(b) == im.ID && exists(im.DockerArchivePath, im.OCIArchivePath, im.OCILayoutDir) {
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	steps := [][]string{
		{"podman", "save", "--quiet", "--format", "docker-archive", "-o", im.DockerArchivePath, im.Local},
		{"skopeo", "copy", "--quiet", "--src-tls-verify=false", "docker://" + im.RegistryRef, "oci:" + im.OCILayoutDir + ":" + im.Tag},
		{"skopeo", "copy", "--quiet", "oci:" + im.OCILayoutDir + ":" + im.Tag, "oci-archive:" + im.OCIArchivePath + ":" + im.Tag},
	}
	for _, s := range steps {
		if err := run(ctx, env, im.Name+".export", s[0], s[1:]...); err != nil {
			return err
		}
	}
	return os.WriteFile(stamp, []byte(im.ID), 0o644)
}

// registryConfig is the config digest of the image ref names in the (plain-HTTP, loopback)
// registry, or "" when it has none or cannot say.
func registryConfig(ref string) string {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return ""
	}
	img, err := remote.Image(r)
	if err != nil {
		return ""
	}
	cfg, err := img.ConfigName()
	if err != nil {
		return ""
	}
	return cfg.String()
}

func imageID(ctx context.Context, env e2eenv.Env, ref string) (string, error) {
	out, err := exec.CommandContext(ctx, "podman", "image", "inspect", "--format", "{{.Id}}", ref).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("podman image inspect %s: %v: %s", ref, err, bytes.TrimSpace(ee.Stderr))
		}
		return "", err
	}
	return "sha256:" + strings.TrimSpace(string(out)), nil
}

// run runs a command with the set-up's environment, appending its output to
// IMGHARDEN_E2E_DIR/logs/<logName>.log; an error carries the command and the log's tail.
func run(ctx context.Context, env e2eenv.Env, logName, name string, args ...string) error {
	logPath := filepath.Join(env.Dir, "logs", logName+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(f, "\n$ %s %s   # %s\n", name, strings.Join(args, " "), time.Now().Format(time.RFC3339))
	var tail tailBuffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout = io.MultiWriter(f, &tail)
	cmd.Stderr = cmd.Stdout
	start := time.Now()
	err = cmd.Run()
	fmt.Fprintf(f, "# %s, %s\n", exitStatus(err), time.Since(start).Round(time.Millisecond))
	if err != nil {
		return fmt.Errorf("%s %s: %v (log %s):\n%s", name, strings.Join(args, " "), err, logPath, tail.String())
	}
	return nil
}

func exitStatus(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// tailBuffer keeps the last 4 KiB written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

// RepoRoot returns the directory of the module's go.mod, searching up from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// syncContext makes dst a fresh copy of src with normalised modes (0644, or 0755 if executable).
func syncContext(src, dst string) error {
	if _, err := os.Stat(filepath.Join(src, "Dockerfile")); err != nil {
		return err
	}
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: only regular files may be in a fixture directory", p)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if info.Mode()&0o111 != 0 {
			mode = 0o755
		}
		return writeFile(target, b, mode)
	})
}

// fixedTime is the mtime of every file in a build context: buildah's COPY cache then depends on
// the content only, whatever the checkout's times.
var fixedTime = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

func stampTimes(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, fixedTime, fixedTime)
	})
}

func writeFile(path string, b []byte, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, b, mode); err != nil {
		return err
	}
	return os.Chmod(path, mode) // WriteFile keeps an existing file's mode and honours umask
}

func exists(paths ...string) bool {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}

func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
