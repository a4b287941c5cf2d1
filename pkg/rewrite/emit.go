package rewrite

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/imgharden/imgharden/pkg/analyze"
)

const srcStage = "src"

// closure returns the image's closure, computed once.
func (im *Image) closure() (*Closure, error) {
	if im.clo == nil && im.cloErr == nil {
		im.clo, im.cloErr = im.Closure()
	}
	return im.clo, im.cloErr
}

// copies are the COPY --from operations that rebuild the closure: each opened path gets the
// file it resolves to (symlinks flattened, as COPY follows a source symlink), each tree is
// copied whole.
func (c *Closure) copies() []copySpec {
	var out []copySpec
	for _, p := range c.Opened {
		out = append(out, copySpec{Src: c.Real[p], Dst: p})
	}
	for _, t := range c.Trees {
		out = append(out, copySpec{Src: t, Dst: t})
	}
	return append(out, c.Flat...)
}

// planFromImage is the final stage of a split when the built image is known: scratch with
// the runtime closure of its entrypoint.
func (im *Image) planFromImage() (*finalPlan, string) {
	c, err := im.closure()
	if err != nil {
		return nil, "the image's runtime closure cannot be computed: " + err.Error()
	}
	if c.Interpreted != "" {
		return nil, "the entrypoint runs " + c.Interpreted + ": " + InterpreterAdvice(c.Interpreted)
	}
	why := fmt.Sprintf("the runtime closure of %s from the image (%d files)", c.Argv[0], len(c.Opened))
	return &finalPlan{from: "scratch", copies: c.copies(), why: why}, ""
}

// envQuote writes an ENV value so buildkit takes it literally.
func envQuote(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`).Replace(v) + `"`
}

// Dockerfile writes the scratch rebuild of the closure: FROM the image pinned by digest,
// the closure copied into scratch, a non-root user, the image's runtime config.
func (im *Image) Dockerfile(c *Closure) []byte {
	var b strings.Builder
	from := im.Ref
	if im.Digest != "" && !strings.Contains(from, "@") {
		from += "@" + im.Digest
	}
	fmt.Fprintf(&b, "# Runtime closure of %s, rebuilt FROM scratch by imgharden.\n", strings.Join(c.Argv, " "))
	fmt.Fprintf(&b, "FROM %s AS %s\n", from, srcStage)
	passwd := im.HasShell()
	if passwd {
		fmt.Fprintf(&b, "\nFROM %s AS %s\nRUN %s\n", srcStage, passwdStage, addUserCmd())
	}
	b.WriteString("\nFROM scratch\n")
	d := &doc{eol: "\n"}
	b.WriteString(copyLines(d, srcStage, c.copies()))
	if passwd {
		fmt.Fprintf(&b, "COPY --from=%s /etc/passwd /etc/group /etc/\n", passwdStage)
	}
	cfg := im.Config.Config
	for _, kv := range cfg.Env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&b, "ENV %s=%s\n", k, envQuote(v))
	}
	if cfg.WorkingDir != "" && cfg.WorkingDir != "/" {
		fmt.Fprintf(&b, "WORKDIR %s\n", cfg.WorkingDir)
	}
	ports := make([]string, 0, len(cfg.ExposedPorts))
	for p := range cfg.ExposedPorts {
		ports = append(ports, p)
	}
	sort.Strings(ports)
	if len(ports) > 0 {
		fmt.Fprintf(&b, "EXPOSE %s\n", strings.Join(ports, " "))
	}
	if cfg.StopSignal != "" {
		fmt.Fprintf(&b, "STOPSIGNAL %s\n", cfg.StopSignal)
	}
	fmt.Fprintf(&b, "USER %d:%d\n", nonRootUID, nonRootUID)
	if len(cfg.Entrypoint) > 0 {
		fmt.Fprintf(&b, "ENTRYPOINT %s\n", jsonArray(cfg.Entrypoint))
	}
	if len(cfg.Cmd) > 0 {
		fmt.Fprintf(&b, "CMD %s\n", jsonArray(cfg.Cmd))
	}
	return []byte(b.String())
}

// passwdFiles are /etc/passwd and /etc/group of the rebuilt image: the image's own plus the
// nonroot user, which is what the Dockerfile's passwd stage writes.
func (im *Image) passwdFiles() (passwd, group []byte) {
	passwd = im.readData("/etc/passwd")
	group = im.readData("/etc/group")
	if len(passwd) == 0 {
		passwd = []byte("root:x:0:0:root:/root:/sbin/nologin\n")
	}
	if len(group) == 0 {
		group = []byte("root:x:0:\n")
	}
	passwd = append(bytes.Clone(passwd), []byte(passwdLine()+"\n")...)
	group = append(bytes.Clone(group), []byte(groupLine()+"\n")...)
	return passwd, group
}

// Build writes the closure into a one-layer image FROM scratch with ggcr, no builder needed:
// the closure's files at their real paths, the symlinks that lead to them, the time zone
// tree, /etc/passwd and /etc/group with the nonroot user, and the image's runtime config
// running as that user. Setuid and setgid bits are dropped.
func (im *Image) Build(ctx context.Context, c *Closure) (v1.Image, error) {
	if c.Interpreted != "" {
		return nil, fmt.Errorf("the entrypoint runs %s: %s", c.Interpreted, InterpreterAdvice(c.Interpreted))
	}
	type item struct {
		hdr  tar.Header
		from *analyze.Entry // body source
	}
	items := map[string]*item{}
	var addDirs func(p string)
	addDirs = func(p string) {
		for d := path.Dir(p); d != "/" && items[d] == nil; d = path.Dir(d) {
			mode := int64(0o755)
			if e, ok := im.view.Lookup(d); ok && e.IsDir() {
				mode = int64(e.Mode.Perm())
			}
			items[d] = &item{hdr: tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: mode}}
		}
	}
	addFile := func(p string, e *analyze.Entry) {
		items[p] = &item{hdr: tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: int64(e.Mode.Perm()), Size: e.Size}, from: e}
		addDirs(p)
	}
	for _, p := range c.Opened {
		real := c.Real[p]
		e, err := im.view.Resolve(real)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", real, err)
		}
		addFile(real, e)
	}
	for l, t := range c.Links {
		items[l] = &item{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: l, Linkname: t, Mode: 0o777}}
		addDirs(l)
	}
	for _, t := range c.Trees {
		err := im.view.Walk(func(e *analyze.Entry) error {
			if e.Path != t && !strings.HasPrefix(e.Path, t+"/") {
				return nil
			}
			switch {
			case e.IsDir():
				items[e.Path] = &item{hdr: tar.Header{Typeflag: tar.TypeDir, Name: e.Path, Mode: int64(e.Mode.Perm())}}
				addDirs(e.Path)
			case e.IsSymlink():
				items[e.Path] = &item{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: e.Path, Linkname: e.Linkname, Mode: 0o777}}
				addDirs(e.Path)
			case e.IsRegular():
				src := e
				if e.Hardlink {
					r, err := im.view.Resolve(e.Path)
					if err != nil {
						return err
					}
					src = r
				}
				items[e.Path] = &item{hdr: tar.Header{Typeflag: tar.TypeReg, Name: e.Path, Mode: int64(e.Mode.Perm()), Size: src.Size}, from: src}
				addDirs(e.Path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	passwd, group := im.passwdFiles()
	for p, body := range map[string][]byte{"/etc/passwd": passwd, "/etc/group": group} {
		items[p] = &item{hdr: tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: 0o644, Size: int64(len(body))}}
		addDirs(p)
	}
	items["/tmp"] = &item{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "/tmp", Mode: 0o1777}}
	if wd := im.Config.Config.WorkingDir; wd != "" && wd != "/" && items[path.Clean(wd)] == nil {
		items[path.Clean(wd)] = &item{hdr: tar.Header{Typeflag: tar.TypeDir, Name: path.Clean(wd), Mode: 0o755}}
		addDirs(path.Clean(wd))
	}

	// Bodies come from the layers that hold them, read once each.
	want := map[fileKey][]byte{}
	for _, it := range items {
		if it.from != nil {
			want[fileKey{it.from.Path, it.from.Layer}] = nil
		}
	}
	if err := im.readBodies(ctx, want); err != nil {
		return nil, err
	}

	names := make([]string, 0, len(items))
	for p := range items {
		names = append(names, p)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range names {
		it := items[p]
		h := it.hdr
		h.Name = strings.TrimPrefix(p, "/")
		if h.Typeflag == tar.TypeDir {
			h.Name += "/"
		}
		h.Mode &^= 0o6000 // no setuid/setgid in a hardened image
		h.ModTime = time.Unix(0, 0)
		h.Format = tar.FormatPAX
		var body []byte
		switch {
		case it.from != nil:
			body = want[fileKey{it.from.Path, it.from.Layer}]
		case p == "/etc/passwd":
			body = passwd
		case p == "/etc/group":
			body = group
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	})
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer, History: v1.History{
		CreatedBy: "imgharden rewrite: runtime closure of " + strings.Join(c.Argv, " "),
		Comment:   "from " + im.Ref,
	}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	src := im.Config
	cf.OS, cf.Architecture, cf.Variant, cf.OSVersion = src.OS, src.Architecture, src.Variant, src.OSVersion
	cf.Config = v1.Config{
		Env: src.Config.Env, Entrypoint: src.Config.Entrypoint, Cmd: src.Config.Cmd,
		WorkingDir: src.Config.WorkingDir, ExposedPorts: src.Config.ExposedPorts, Labels: src.Config.Labels,
		StopSignal: src.Config.StopSignal, User: strconv.Itoa(nonRootUID) + ":" + strconv.Itoa(nonRootUID),
	}
	return mutate.ConfigFile(img, cf)
}

// readBodies fills want with the content of each (path, layer), reading only the layers
// that hold one of them.
func (im *Image) readBodies(ctx context.Context, want map[fileKey][]byte) error {
	byLayer := map[int]bool{}
	for k := range want {
		byLayer[k.layer] = true
	}
	layers, err := im.img.Layers()
	if err != nil {
		return err
	}
	for i, l := range layers {
		if !byLayer[i] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rc, err := l.Uncompressed()
		if err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				rc.Close()
				return fmt.Errorf("layer %d: %w", i, err)
			}
			p := path.Clean("/" + h.Name)
			k := fileKey{p, i}
			if _, ok := want[k]; !ok || h.Typeflag != tar.TypeReg {
				continue
			}
			body, err := io.ReadAll(tr)
			if err != nil {
				rc.Close()
				return fmt.Errorf("layer %d %s: %w", i, p, err)
			}
			want[k] = body
		}
		rc.Close()
	}
	for k, v := range want {
		if v == nil {
			if e, ok := im.view.Lookup(k.path); !ok || e.Size != 0 {
				return fmt.Errorf("%s: content not found in layer %d", k.path, k.layer)
			}
		}
	}
	return nil
}
