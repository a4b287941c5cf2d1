package rewrite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	bkclient "github.com/moby/buildkit/client"
	"github.com/tonistiigi/fsutil"
)

// buildKitInfoTimeout bounds the first call to buildkitd, which tells an unreachable address
// from a failing build.
const buildKitInfoTimeout = 15 * time.Second

// buildKit builds a Dockerfile body with buildkitd's built-in dockerfile frontend, exports the
// result as a docker-archive under the verifier's tmp dir, loads it into podman's storage as
// tag and returns the image ID: measure, probe and rmi then work as for a buildah build.
// Every FROM must be something buildkitd can pull itself (a registry), not podman's storage.
func (v *verifier) buildKit(ctx context.Context, dockerfile []byte, ctxDir, tag string) (string, error) {
	addr := v.in.BuildKitAddr
	c, err := v.buildKitClient(ctx)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(v.tmp, "buildkit-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	dfDir := filepath.Join(dir, "dockerfile")
	if err := os.Mkdir(dfDir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dfDir, "Dockerfile"), dockerfile, 0o644); err != nil {
		return "", err
	}
	ctxFS, err := fsutil.NewFS(ctxDir)
	if err != nil {
		return "", fmt.Errorf("build context %s: %w", ctxDir, err)
	}
	dfFS, err := fsutil.NewFS(dfDir)
	if err != nil {
		return "", err
	}
	archive := filepath.Join(dir, "image.tar")
	opt := bkclient.SolveOpt{
		Frontend:      "dockerfile.v0",
		FrontendAttrs: map[string]string{"filename": "Dockerfile"},
		LocalMounts:   map[string]fsutil.FS{"context": ctxFS, "dockerfile": dfFS},
		Exports: []bkclient.ExportEntry{{
			Type:  bkclient.ExporterDocker,
			Attrs: map[string]string{"name": tag},
			Output: func(map[string]string) (io.WriteCloser, error) {
				return os.Create(archive)
			},
		}},
	}
	status := make(chan *bkclient.SolveStatus)
	var tail logTail
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		v.followBuildKit(status, &tail)
	}()
	fmt.Fprintf(v.in.Log, "verify: buildkit %s: build %s (context %s)\n", addr, tag, ctxDir)
	_, err = c.Solve(ctx, nil, opt, status) // closes status
	wg.Wait()
	if err != nil {
		msg := joinLines(err.Error())
		if t := tail.String(); t != "" && !strings.Contains(msg, t) {
			msg += " (output: " + t + ")"
		}
		return "", fmt.Errorf("buildkitd at %s: %s", addr, msg)
	}
	if _, err := v.podman(ctx, "load", "--quiet", "--input", archive); err != nil {
		return "", err
	}
	out, err := v.podman(ctx, "image", "inspect", "--format", "{{.Id}}", tag)
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(out)
	if id == "" {
		return "", fmt.Errorf("podman image inspect %s printed no image ID", tag)
	}
	return id, nil
}

// buildKitClient connects once per Verify and checks that buildkitd answers.
func (v *verifier) buildKitClient(ctx context.Context) (*bkclient.Client, error) {
	if v.bk != nil {
		return v.bk, nil
	}
	addr := v.in.BuildKitAddr
	c, err := bkclient.New(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("buildkitd at %s: %s", addr, joinLines(err.Error()))
	}
	ictx, cancel := context.WithTimeout(ctx, buildKitInfoTimeout)
	defer cancel()
	info, err := c.Info(ictx)
	if err != nil {
		c.Close()
		if errors.Is(ictx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("buildkitd at %s did not answer within %s", addr, buildKitInfoTimeout)
		}
		return nil, fmt.Errorf("buildkitd at %s is not reachable: %s", addr, joinLines(err.Error()))
	}
	fmt.Fprintf(v.in.Log, "verify: buildkit %s: buildkitd %s\n", addr, info.BuildkitVersion.Version)
	v.bk = c
	return c, nil
}

// followBuildKit logs each build step once as it starts, and keeps the last lines the steps
// printed for the error message of a failed build.
func (v *verifier) followBuildKit(status <-chan *bkclient.SolveStatus, tail *logTail) {
	seen := map[string]bool{}
	for s := range status {
		for _, vx := range s.Vertexes {
			if vx.Started == nil || seen[vx.Digest.String()] {
				continue
			}
			seen[vx.Digest.String()] = true
			cached := ""
			if vx.Cached {
				cached = " (cached)"
			}
			fmt.Fprintf(v.in.Log, "verify: buildkit: %s%s\n", vx.Name, cached)
		}
		for _, l := range s.Logs {
			tail.add(l.Data)
		}
	}
}

// logTail keeps the last few lines of build output.
type logTail struct {
	lines []string
	part  string
}

const logTailLines = 5

func (t *logTail) add(b []byte) {
	s := t.part + string(b)
	parts := strings.Split(s, "\n")
	t.part = parts[len(parts)-1]
	for _, l := range parts[:len(parts)-1] {
		if l = strings.TrimSpace(l); l != "" {
			t.lines = append(t.lines, l)
		}
	}
	if len(t.lines) > logTailLines {
		t.lines = append([]string(nil), t.lines[len(t.lines)-logTailLines:]...)
	}
}

func (t *logTail) String() string {
	l := t.lines
	if p := strings.TrimSpace(t.part); p != "" {
		l = append(append([]string(nil), l...), p)
	}
	return joinLines(strings.Join(l, "\n"))
}

// joinLines joins the non-empty lines of s with " | ".
func joinLines(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, " | ")
}
