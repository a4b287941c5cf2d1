package rewrite

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"path"
	"strconv"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// Image is what the rewrite knows about a built image: its config, its merged filesystem
// (metadata only, from analyze's single pass) and, for every ELF file and script, the facts a
// runtime closure needs (interpreter, needed libraries, search paths, shebang).
type Image struct {
	Ref    string // as the user named it
	Digest string // manifest digest ("sha256:..."), "" when the source has none
	Config *v1.ConfigFile
	Size   int64 // sum of the compressed layer sizes

	view   *analyze.View
	facts  *factStore
	img    v1.Image
	clo    *Closure
	cloErr error
}

// fileKey names one version of a path: the same path in two layers are two files.
type fileKey struct {
	path  string
	layer int
}

// elfFacts is what a dynamic loader reads from an ELF file.
type elfFacts struct {
	class   elf.Class
	machine elf.Machine
	interp  string
	needed  []string
	runpath []string
	rpath   []string
	static  bool // no PT_INTERP and no dynamic section
}

// fileFacts is kept per file during the pass.
type fileFacts struct {
	elf     *elfFacts
	shebang []string // interpreter and its argument, for "#!" scripts
	script  []byte   // body of small scripts, to find the commands they run
	data    []byte   // body of the small config files the closure reads (ld.so.cache, passwd...)
	elfErr  error
}

type factStore struct {
	mu sync.Mutex
	m  map[fileKey]*fileFacts
}

func (s *factStore) get(path string, layer int) *fileFacts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[fileKey{path, layer}]
}

// keepData are the files whose whole body the closure reads.
var keepData = map[string]bool{
	"/etc/ld.so.cache": true, "/etc/passwd": true, "/etc/group": true, "/etc/nsswitch.conf": true,
	"/etc/os-release": true, "/usr/lib/os-release": true,
}

const (
	maxScript  = 256 << 10
	maxKept    = 4 << 20
	maxELFBody = 512 << 20
)

// collector is the analyze check that records file facts during the single pass. It emits no
// finding. It is called concurrently for different layers, hence the mutex in the store.
type collector struct{ store *factStore }

func (collector) Rules() []*finding.Rule { return nil }

func (collector) Wants(e *analyze.Entry) bool {
	if !e.IsRegular() || e.Hardlink || e.Size < 4 {
		return false
	}
	return keepData[e.Path] || e.Mode.Perm()&0o111 != 0 || strings.Contains(e.Base(), ".so")
}

func (c collector) CheckFile(_ context.Context, e *analyze.Entry, body analyze.Body, _ analyze.Reporter) error {
	b, err := body.Bytes()
	if err != nil {
		return err
	}
	ff := &fileFacts{}
	switch {
	case keepData[e.Path]:
		if len(b) <= maxKept {
			ff.data = bytes.Clone(b)
		}
	case bytes.HasPrefix(b, []byte("\x7fELF")):
		if body.Truncated() {
			ff.elfErr = fmt.Errorf("%s: larger than the %d MiB read cap", e.Path, maxELFBody>>20)
			break
		}
		ff.elf, ff.elfErr = readELF(b)
	case bytes.HasPrefix(b, []byte("#!")):
		line, _, _ := bytes.Cut(b[2:], []byte("\n"))
		ff.shebang = strings.Fields(strings.TrimSpace(string(line)))
		if len(b) <= maxScript {
			ff.script = bytes.Clone(b)
		}
	default:
		return nil
	}
	c.store.mu.Lock()
	c.store.m[fileKey{e.Path, e.Layer}] = ff
	c.store.mu.Unlock()
	return nil
}

// readELF reads the loader-relevant parts of an ELF file.
func readELF(b []byte) (*elfFacts, error) {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ef := &elfFacts{class: f.Class, machine: f.Machine}
	hasDynamic := false
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			dt := make([]byte, p.Filesz)
			if _, err := p.ReadAt(dt, 0); err != nil {
				return nil, fmt.Errorf("PT_INTERP: %w", err)
			}
			ef.interp = string(bytes.TrimRight(dt, "\x00"))
		case elf.PT_DYNAMIC:
			hasDynamic = true
		}
	}
	if hasDynamic {
		if ef.needed, err = f.DynString(elf.DT_NEEDED); err != nil {
			return nil, fmt.Errorf("DT_NEEDED: %w", err)
		}
		rp, _ := f.DynString(elf.DT_RUNPATH)
		ef.runpath = splitPaths(rp)
		r, _ := f.DynString(elf.DT_RPATH)
		ef.rpath = splitPaths(r)
	}
	ef.static = ef.interp == "" && len(ef.needed) == 0
	return ef, nil
}

func splitPaths(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ":") {
			if p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// Inspect reads img once (analyze's single pass) and records what the rewrite needs. ref is
// how the user named the image; digest its manifest digest when known.
func Inspect(ctx context.Context, img v1.Image, ref, digest string) (*Image, error) {
	store := &factStore{m: map[fileKey]*fileFacts{}}
	res, err := analyze.New(analyze.WithChecks(collector{store}), analyze.WithMaxFileSize(maxELFBody)).Run(ctx, img)
	if err != nil {
		return nil, err
	}
	im := &Image{Ref: ref, Digest: digest, Config: res.Config, view: res.View, facts: store, img: img}
	if layers, err := img.Layers(); err == nil {
		for _, l := range layers {
			if n, err := l.Size(); err == nil {
				im.Size += n
			}
		}
	}
	return im, nil
}

// factsOf returns the facts of the file the path resolves to, and its real path.
func (im *Image) factsOf(p string) (*analyze.Entry, string, *fileFacts, error) {
	e, real, err := im.view.ResolvePath(p)
	if err != nil {
		return nil, "", nil, err
	}
	return e, real, im.facts.get(e.Path, e.Layer), nil
}

// readData returns one of the small files kept during the pass.
func (im *Image) readData(p string) []byte {
	_, _, ff, err := im.factsOf(p)
	if err != nil || ff == nil {
		return nil
	}
	return ff.data
}

var shells = []string{"/bin/sh", "/bin/bash", "/bin/dash", "/bin/ash", "/usr/bin/sh", "/bin/busybox"}

// HasShell reports whether the image has a shell a RUN could use.
func (im *Image) HasShell() bool {
	for _, s := range shells {
		if e, err := im.view.Resolve(s); err == nil && e.IsRegular() {
			return true
		}
	}
	return false
}

var toolchainPaths = []string{"/usr/bin/gcc", "/usr/bin/cc", "/usr/bin/c++", "/usr/bin/clang", "/usr/bin/make",
	"/usr/local/go/bin/go", "/usr/bin/go", "/usr/local/cargo/bin/cargo", "/usr/bin/cargo", "/usr/bin/rustc",
	"/usr/bin/javac", "/usr/bin/mvn"}

// Toolchain lists the compilers and build tools the image carries.
func (im *Image) Toolchain() []string {
	var out []string
	for _, p := range toolchainPaths {
		if e, err := im.view.Resolve(p); err == nil && e.IsRegular() {
			out = append(out, p)
		}
	}
	return out
}

// NumericUser maps a user name (and optional group name) to "UID:GID" through the image's
// /etc/passwd and /etc/group.
func (im *Image) NumericUser(u string) (string, bool) {
	name, group, hasGroup := strings.Cut(u, ":")
	uid, gid, ok := lookupPasswd(im.readData("/etc/passwd"), name)
	if !ok {
		return "", false
	}
	if hasGroup {
		if _, err := strconv.Atoi(group); err == nil {
			gid = group
		} else if gid, ok = lookupGroup(im.readData("/etc/group"), group); !ok {
			return "", false
		}
	}
	return uid + ":" + gid, true
}

func lookupPasswd(passwd []byte, name string) (uid, gid string, ok bool) {
	for _, l := range strings.Split(string(passwd), "\n") {
		f := strings.Split(l, ":")
		if len(f) >= 4 && (f[0] == name || f[2] == name) {
			return f[2], f[3], true
		}
	}
	return "", "", false
}

func lookupGroup(group []byte, name string) (string, bool) {
	for _, l := range strings.Split(string(group), "\n") {
		f := strings.Split(l, ":")
		if len(f) >= 3 && f[0] == name {
			return f[2], true
		}
	}
	return "", false
}

// hasUID reports whether /etc/passwd has an entry for uid.
func (im *Image) hasUID(uid int) bool {
	_, _, ok := lookupPasswd(im.readData("/etc/passwd"), strconv.Itoa(uid))
	return ok
}

// envValue is a variable of the image config's Env.
func (im *Image) envValue(k string) string {
	for _, kv := range im.Config.Config.Env {
		if key, v, ok := strings.Cut(kv, "="); ok && key == k {
			return v
		}
	}
	return ""
}

// lookPath finds a program name in the image's PATH.
func (im *Image) lookPath(prog string) (string, bool) {
	if strings.Contains(prog, "/") {
		p := prog
		if !path.IsAbs(p) {
			wd := im.Config.Config.WorkingDir
			if wd == "" {
				wd = "/"
			}
			p = path.Join(wd, p)
		}
		e, err := im.view.Resolve(p)
		return p, err == nil && e.IsRegular()
	}
	pathEnv := im.envValue("PATH")
	if pathEnv == "" {
		pathEnv = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	for _, dir := range strings.Split(pathEnv, ":") {
		if dir == "" {
			continue
		}
		p := path.Join(dir, prog)
		if e, err := im.view.Resolve(p); err == nil && e.IsRegular() && e.Mode.Perm()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}
