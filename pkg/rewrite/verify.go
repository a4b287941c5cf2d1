package rewrite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
	bkclient "github.com/moby/buildkit/client"

	"github.com/imgharden/imgharden/pkg/analyze"
)

// VerifyInput says what to build and run. Dockerfile mode sets Dockerfile, Original and
// Hardened; image mode sets Image and Hardened (the emitted Dockerfile) or HardenedImage.
type VerifyInput struct {
	Dockerfile    string // path of the original Dockerfile
	Original      []byte
	Hardened      []byte // the hardened Dockerfile
	Image         string // image mode: the original image, as podman names it
	HardenedImage string // image mode: where --emit-image wrote the rebuild
	Context       string // build context; default the Dockerfile's directory (an empty one in image mode)
	Probe         string // container arguments, or an http(s):// URL to GET while the container runs
	Log           io.Writer
	Podman        string        // default "podman"
	Buildah       string        // default "buildah"
	BuildKitAddr  string        // buildkitd's address (unix:///run/buildkit/buildkitd.sock, tcp://...); "" builds with buildah
	Timeout       time.Duration // per probe run; default 60s
}

// ImageFacts are the measurements of one side.
type ImageFacts struct {
	Ref         string
	Size        int64 // bytes, as podman reports the image
	SetuidFiles []string
	Shells      []string
	ProbeExit   int
	ProbeOutput string
}

// VerifyReport compares the original and the hardened image.
type VerifyReport struct {
	Original, Hardened ImageFacts
	ProbeEqual         bool
	BuildTime          time.Duration
}

// WriteText prints the report for people.
func (r *VerifyReport) WriteText(w io.Writer) {
	ratio := 0.0
	if r.Hardened.Size > 0 {
		ratio = float64(r.Original.Size) / float64(r.Hardened.Size)
	}
	eq := "EQUAL"
	if !r.ProbeEqual {
		eq = "DIFFERENT"
	}
	fmt.Fprintf(w, "verify: probe %s (exit %d vs %d)\n", eq, r.Original.ProbeExit, r.Hardened.ProbeExit)
	if !r.ProbeEqual {
		fmt.Fprintf(w, "  original output: %q\n  hardened output: %q\n", clip(r.Original.ProbeOutput), clip(r.Hardened.ProbeOutput))
	}
	fmt.Fprintf(w, "verify: size %s → %s (%.1f× smaller)\n", mb(r.Original.Size), mb(r.Hardened.Size), ratio)
	fmt.Fprintf(w, "verify: setuid/setgid files %d → %d\n", len(r.Original.SetuidFiles), len(r.Hardened.SetuidFiles))
	fmt.Fprintf(w, "verify: shells %d %v → %d %v\n", len(r.Original.Shells), r.Original.Shells, len(r.Hardened.Shells), r.Hardened.Shells)
	fmt.Fprintf(w, "verify: builds and measurements took %s\n", r.BuildTime.Round(time.Millisecond))
}

func clip(s string) string {
	if len(s) > 400 {
		return s[:400] + "..."
	}
	return s
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// measured caches the measurements of image IDs: an ID names immutable content, and saving
// and walking a large original takes seconds.
var measured sync.Map

type verifier struct {
	in  VerifyInput
	tmp string
	bk  *bkclient.Client // connected on the first BuildKit build
}

// Verify builds the original and the hardened version (with BuildKit when BuildKitAddr is
// set, otherwise with buildah), runs both under podman with the probe, and measures them.
func Verify(ctx context.Context, in VerifyInput) (*VerifyReport, error) {
	if in.Podman == "" {
		in.Podman = "podman"
	}
	if in.Buildah == "" {
		in.Buildah = "buildah"
	}
	if in.Timeout == 0 {
		in.Timeout = 60 * time.Second
	}
	if in.Log == nil {
		in.Log = io.Discard
	}
	tmp, err := os.MkdirTemp("", "imgharden-verify-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	v := &verifier{in: in, tmp: tmp}
	defer func() {
		if v.bk != nil {
			v.bk.Close()
		}
	}()
	start := time.Now()
	tag := "localhost/imgharden-verify:" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
	var orig, hard string
	switch {
	case in.Dockerfile != "":
		ctxDir := in.Context
		if ctxDir == "" {
			ctxDir = filepath.Dir(in.Dockerfile)
		}
		if orig, err = v.build(ctx, in.Original, ctxDir, tag+"-orig", true); err != nil {
			return nil, fmt.Errorf("building the original: %w", err)
		}
		if hard, err = v.build(ctx, in.Hardened, ctxDir, tag+"-hard", false); err != nil {
			return nil, fmt.Errorf("building the hardened Dockerfile: %w", err)
		}
	case in.Image != "":
		if orig, err = v.pull(ctx, in.Image); err != nil {
			return nil, fmt.Errorf("loading %s: %w", in.Image, err)
		}
		if in.HardenedImage != "" {
			hard, err = v.pull(ctx, in.HardenedImage)
		} else {
			empty := filepath.Join(tmp, "context")
			if err = os.Mkdir(empty, 0o755); err == nil {
				hard, err = v.build(ctx, in.Hardened, empty, tag+"-hard", false)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("the hardened image: %w", err)
		}
	default:
		return nil, errors.New("nothing to verify: no Dockerfile and no image")
	}
	defer v.podman(context.WithoutCancel(ctx), "rmi", "--force", tag+"-orig", tag+"-hard") //nolint:errcheck // best effort

	rep := &VerifyReport{}
	for _, side := range []struct {
		id    string
		facts *ImageFacts
	}{{orig, &rep.Original}, {hard, &rep.Hardened}} {
		side.facts.Ref = side.id
		if err := v.measure(ctx, side.id, side.facts); err != nil {
			return nil, err
		}
		if err := v.probe(ctx, side.id, side.facts); err != nil {
			return nil, err
		}
	}
	rep.ProbeEqual = rep.Original.ProbeExit == rep.Hardened.ProbeExit && rep.Original.ProbeOutput == rep.Hardened.ProbeOutput
	rep.BuildTime = time.Since(start)
	return rep, nil
}

func (v *verifier) run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	fmt.Fprintf(v.in.Log, "verify: %s %s\n", name, strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, args[0], err, lastLines(errb.String()))
	}
	return out.String(), nil
}

func (v *verifier) podman(ctx context.Context, args ...string) (string, error) {
	return v.run(ctx, v.in.Podman, args...)
}

// lastLines is the last few non-empty lines of a command's output, on one line.
func lastLines(s string) string {
	var t logTail
	t.add([]byte(s))
	return t.String()
}

// build builds a Dockerfile body with BuildKit when the input names buildkitd (layers does not
// apply: buildkitd keeps its own cache), otherwise with buildah, and returns the image ID.
// layers keeps buildah's
// per-instruction cache, which makes a second verify of the same original fast. The hardened
// build goes without it: its stages start FROM the per-run "-orig" tag, so every run would
// leave another cached copy of the original image behind in the user's storage.
func (v *verifier) build(ctx context.Context, dockerfile []byte, ctxDir, tag string, layers bool) (string, error) {
	if v.in.BuildKitAddr != "" {
		return v.buildKit(ctx, dockerfile, ctxDir, tag)
	}
	f := filepath.Join(v.tmp, strings.ReplaceAll(path.Base(tag), ":", "_")+".Dockerfile")
	if err := os.WriteFile(f, dockerfile, 0o644); err != nil {
		return "", err
	}
	iid := f + ".iid"
	if _, err := v.run(ctx, v.in.Buildah, "bud", "--layers="+strconv.FormatBool(layers), "--tls-verify=false", "--pull=missing",
		"--iidfile", iid, "-f", f, "-t", tag, ctxDir); err != nil {
		return "", err
	}
	id, err := os.ReadFile(iid)
	return strings.TrimSpace(string(id)), err
}

// pull brings an image into podman's storage and returns its ID. Transports are podman's
// (docker-archive:, oci-archive:, oci:, or a registry name).
func (v *verifier) pull(ctx context.Context, ref string) (string, error) {
	out, err := v.podman(ctx, "pull", "--quiet", "--tls-verify=false", ref)
	if err != nil {
		return "", err
	}
	lines := strings.Fields(out)
	if len(lines) == 0 {
		return "", fmt.Errorf("podman pull %s printed no image ID", ref)
	}
	return lines[len(lines)-1], nil
}

// measure records the size, setuid files and shells of an image.
func (v *verifier) measure(ctx context.Context, id string, f *ImageFacts) error {
	out, err := v.podman(ctx, "image", "inspect", "--format", "{{.Size}}", id)
	if err != nil {
		return err
	}
	if f.Size, err = strconv.ParseInt(strings.TrimSpace(out), 10, 64); err != nil {
		return fmt.Errorf("image size %q: %w", out, err)
	}
	if cached, ok := measured.Load(id); ok {
		m := cached.(ImageFacts)
		f.Size, f.SetuidFiles, f.Shells = m.Size, m.SetuidFiles, m.Shells
		return nil
	}
	if err := v.measureMounted(ctx, id, f); err == nil {
		measured.Store(id, *f)
		return nil
	}
	f.SetuidFiles, f.Shells = nil, nil
	defer func() { measured.Store(id, *f) }()
	archive := filepath.Join(v.tmp, "image-"+strconv.FormatInt(time.Now().UnixNano(), 36)+".tar")
	if _, err := v.podman(ctx, "save", "--quiet", "--format", "docker-archive", "-o", archive, id); err != nil {
		return err
	}
	defer os.Remove(archive)
	img, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		return err
	}
	res, err := analyze.New().Run(ctx, img)
	if err != nil {
		return err
	}
	err = res.View.Walk(func(e *analyze.Entry) error {
		if e.IsRegular() && e.Mode&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
			f.SetuidFiles = append(f.SetuidFiles, e.Path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, s := range shells {
		if e, err := res.View.Resolve(s); err == nil && e.IsRegular() {
			if !containsStr(f.Shells, s) {
				f.Shells = append(f.Shells, s)
			}
		}
	}
	return nil
}

// measureMounted walks the image's root filesystem through `podman image mount` (rootful
// podman): much faster than saving a large image to an archive and reading it back.
func (v *verifier) measureMounted(ctx context.Context, id string, f *ImageFacts) error {
	out, err := v.podman(ctx, "image", "mount", id)
	if err != nil {
		return err
	}
	defer v.podman(context.WithoutCancel(ctx), "image", "unmount", id) //nolint:errcheck // best effort
	root := strings.TrimSpace(out)
	if root == "" {
		return errors.New("podman image mount printed no path")
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode()&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
			f.SetuidFiles = append(f.SetuidFiles, "/"+strings.TrimPrefix(p, root+"/"))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, s := range shells {
		// Resolve inside the mounted root, never the host's.
		if real, err := securePath(root, s); err == nil {
			if st, err := os.Stat(real); err == nil && st.Mode().IsRegular() && !containsStr(f.Shells, s) {
				f.Shells = append(f.Shells, s)
			}
		}
	}
	return nil
}

// securePath resolves p's symlinks inside root (absolute targets are taken from root).
func securePath(root, p string) (string, error) {
	cur := "/"
	parts := splitClean(p)
	for hops := 0; len(parts) > 0; {
		part := parts[0]
		parts = parts[1:]
		if part == "" || part == "." {
			continue
		}
		if part == ".." {
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, part)
		st, err := os.Lstat(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			if hops++; hops > 40 {
				return "", errors.New("too many links")
			}
			t, err := os.Readlink(filepath.Join(root, next))
			if err != nil {
				return "", err
			}
			if strings.HasPrefix(t, "/") {
				cur = "/"
			}
			parts = append(splitClean(t), parts...)
			continue
		}
		cur = next
	}
	return filepath.Join(root, cur), nil
}

func containsStr(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// probe runs the container once: with the probe as its arguments, or serving while the probe
// URL is fetched from the host (host network), or with its own command for a few seconds.
func (v *verifier) probe(ctx context.Context, id string, f *ImageFacts) error {
	p := v.in.Probe
	if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		name := "imgharden-probe-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		if _, err := v.podman(ctx, "run", "-d", "--name", name, "--network=host", id); err != nil {
			return err
		}
		defer v.podman(context.WithoutCancel(ctx), "rm", "--force", name) //nolint:errcheck // best effort
		client := &http.Client{Timeout: 2 * time.Second}
		deadline := time.Now().Add(v.in.Timeout)
		for {
			resp, err := client.Get(p)
			if err == nil {
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
				resp.Body.Close()
				f.ProbeExit = resp.StatusCode
				f.ProbeOutput = string(body)
				return nil
			}
			if time.Now().After(deadline) {
				logs, _ := v.podman(ctx, "logs", name)
				return fmt.Errorf("probe %s: no answer from %s within %s: %v (logs: %s)", p, id, v.in.Timeout, err, lastLines(logs))
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	args := []string{"run", "--rm", "--network=none", "--timeout", strconv.Itoa(int(v.in.Timeout.Seconds())), id}
	if p != "" {
		words, err := splitWords(p)
		if err != nil {
			return fmt.Errorf("--probe: %w", err)
		}
		args = append(args, words...)
	}
	cmd := exec.CommandContext(ctx, v.in.Podman, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	fmt.Fprintf(v.in.Log, "verify: %s %s\n", v.in.Podman, strings.Join(args, " "))
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		f.ProbeExit = ee.ExitCode()
	default:
		return err
	}
	f.ProbeOutput = out.String()
	return nil
}

// splitWords splits a probe command line: white space separates words, single and double
// quotes group them.
func splitWords(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	var q rune
	in := false
	for _, r := range s {
		switch {
		case q != 0:
			if r == q {
				q = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			q, in = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if q != 0 {
		return nil, errors.New("unterminated quote")
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}
