package rewrite

import (
	"debug/elf"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/imgharden/imgharden/pkg/analyze"
)

// Closure is what an image's entrypoint needs at run time, found statically: the program,
// its ELF interpreter and libraries (DT_NEEDED through RPATH, LD_LIBRARY_PATH, RUNPATH, the
// image's ld.so.cache and the default directories, $ORIGIN expanded), script interpreters and
// the commands a shell script runs, plus the NSS modules, CA bundle and time zone data that
// programs read by convention.
type Closure struct {
	Argv []string // ENTRYPOINT + CMD of the image

	// Opened are the paths the program opens, as it opens them (through symlinks), sorted.
	Opened []string
	// Real maps each opened path to the regular file it resolves to (a directory for trees).
	Real map[string]string
	// Links are the symlinks met while resolving: link path → target as written.
	Links map[string]string
	// Trees are directories copied whole (time zone data).
	Trees []string
	// Flat are extra copies a flattened (symlink-free) rebuild needs: a program started
	// through a symlink into another directory resolves $ORIGIN from where it lands, so the
	// libraries it finds through $ORIGIN are copied next to that place too.
	Flat []copySpec

	// Static is true when the program is one statically linked ELF file.
	Static bool
	// Interpreted names the runtime ("python", "node", "java", ...) when the program runs on an
	// interpreter that loads code by name at run time: a static closure is not enough.
	Interpreted string
	// Notes are things the closure could not resolve (a missing library, an unknown command).
	Notes []string
}

// ErrNoEntrypoint is returned for an image with neither ENTRYPOINT nor CMD.
var ErrNoEntrypoint = errors.New("the image has no ENTRYPOINT or CMD")

// runtime families whose code is loaded by name at run time.
var interpretedKinds = map[string]bool{"python": true, "node": true, "java": true, "ruby": true, "perl": true, "php": true}

// conventional files: included when present and the program links glibc (NSS) or at all.
var (
	caFiles    = []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem", "/usr/lib/ssl/openssl.cnf"}
	tzFiles    = []string{"/etc/localtime", "/etc/timezone"}
	tzTree     = "/usr/share/zoneinfo"
	glibcFiles = []string{"/etc/ld.so.cache", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf"}
)

type closureWalk struct {
	im      *Image
	c       *Closure
	seen    map[string]bool
	cache   []ldCacheEntry
	mainELF *elfFacts
	glibc   bool
	loaded  map[string]bool // library names already loaded (DT_NEEDED is loaded once per name)
}

// Closure computes the runtime closure of the image's ENTRYPOINT and CMD.
func (im *Image) Closure() (*Closure, error) {
	argv := append(append([]string{}, im.Config.Config.Entrypoint...), im.Config.Config.Cmd...)
	if len(argv) == 0 {
		return nil, ErrNoEntrypoint
	}
	c := &Closure{Argv: argv, Real: map[string]string{}, Links: map[string]string{}}
	w := &closureWalk{im: im, c: c, seen: map[string]bool{}, loaded: map[string]bool{}}
	if b := im.readData("/etc/ld.so.cache"); b != nil {
		cache, err := parseLdCache(b)
		if err != nil {
			c.Notes = append(c.Notes, err.Error())
		}
		w.cache = cache
	}
	prog, ok := im.lookPath(argv[0])
	if !ok {
		return nil, fmt.Errorf("entrypoint %q: not found in the image", argv[0])
	}
	if k := interpreterOf(prog); interpretedKinds[k] {
		c.Interpreted = k
	}
	// `sh -c 'cmd ...'`: the commands matter, not just the shell.
	if interpreterOf(prog) == "shell" && len(argv) >= 3 && argv[1] == "-c" {
		w.commands(argv[2])
	}
	w.program(prog, true)
	if c.Interpreted != "" {
		return c, nil
	}
	if w.mainELF != nil && w.mainELF.static && len(c.Opened) == 1 {
		c.Static = true
	}
	if w.glibc {
		for _, p := range glibcFiles {
			w.optional(p)
		}
		w.nss()
	}
	for _, p := range append(append([]string{}, caFiles...), tzFiles...) {
		w.optional(p)
	}
	if e, err := im.view.Resolve(tzTree); err == nil && e.IsDir() {
		c.Trees = append(c.Trees, tzTree)
	}
	sort.Strings(c.Opened)
	return c, nil
}

// add records an opened path: its symlinks and the file it resolves to.
func (w *closureWalk) add(p string) (*analyze.Entry, string, error) {
	real, links, err := w.im.trace(p)
	if err != nil {
		return nil, "", err
	}
	for l, t := range links {
		w.c.Links[l] = t
	}
	e, err := w.im.view.Resolve(real)
	if err != nil {
		return nil, "", err
	}
	if !w.seen[p] {
		w.seen[p] = true
		w.c.Opened = append(w.c.Opened, p)
		w.c.Real[p] = real
	}
	return e, real, nil
}

func (w *closureWalk) optional(p string) {
	if e, err := w.im.view.Resolve(p); err == nil && e.IsRegular() {
		_, _, _ = w.add(p)
	}
}

// program adds an executable (ELF or script) and what it needs.
func (w *closureWalk) program(p string, main bool) {
	if w.seen[p] || w.c.Interpreted != "" {
		return
	}
	_, real, err := w.add(p)
	if err != nil {
		w.c.Notes = append(w.c.Notes, fmt.Sprintf("%s: %v", p, err))
		return
	}
	_, _, ff, _ := w.im.factsOf(real)
	switch {
	case ff == nil:
		w.c.Notes = append(w.c.Notes, p+": neither ELF nor a script with #!; copied as is")
	case ff.elfErr != nil:
		w.c.Notes = append(w.c.Notes, fmt.Sprintf("%s: %v", p, ff.elfErr))
	case ff.elf != nil:
		if main {
			w.mainELF = ff.elf
		}
		// The loader takes an executable's $ORIGIN from /proc/self/exe: its real path. A
		// flattened copy at p has its $ORIGIN in p's directory instead.
		w.elfWithFlat(p, path.Dir(real), path.Dir(p), ff.elf, nil)
	case ff.shebang != nil:
		interp := ff.shebang[0]
		if path.Base(interp) == "env" && len(ff.shebang) > 1 {
			w.program(interp, false)
			args := ff.shebang[1:]
			if args[0] == "-S" && len(args) > 1 {
				args = args[1:]
			}
			if ip, ok := w.im.lookPath(args[0]); ok {
				interp = ip
			} else {
				w.c.Notes = append(w.c.Notes, p+": interpreter "+args[0]+" not found in PATH")
				return
			}
		}
		kind := interpreterOf(interp)
		if interpretedKinds[kind] {
			w.c.Interpreted = kind
			return
		}
		w.program(interp, false)
		if kind == "shell" && ff.script != nil {
			w.commands(string(ff.script))
		}
	}
}

// elf adds the interpreter and the needed libraries of an ELF object loaded from p.
// parents are the RPATHs of the objects that loaded it (DT_RPATH is inherited).
func (w *closureWalk) elf(p, origin string, ef *elfFacts, parents []string) {
	w.elfWithFlat(p, origin, origin, ef, parents)
}

func (w *closureWalk) elfWithFlat(p, origin, flatOrigin string, ef *elfFacts, parents []string) {
	if ef.interp != "" {
		if _, _, err := w.add(ef.interp); err != nil {
			w.c.Notes = append(w.c.Notes, fmt.Sprintf("%s: ELF interpreter %s: %v", p, ef.interp, err))
		}
	}
	expand := func(dirs []string) []string {
		out := make([]string, 0, len(dirs))
		for _, d := range dirs {
			d = strings.NewReplacer("$ORIGIN", origin, "${ORIGIN}", origin, "$LIB", libDir(ef),
				"${LIB}", libDir(ef), "$PLATFORM", platformName(ef), "${PLATFORM}", platformName(ef)).Replace(d)
			if !path.IsAbs(d) {
				d = path.Join(origin, d)
			}
			out = append(out, d)
		}
		return out
	}
	var rpath []string
	if len(ef.runpath) == 0 {
		rpath = append(expand(ef.rpath), parents...)
	}
	runpath := expand(ef.runpath)
	if ef.interp != "" {
		w.loaded[path.Base(ef.interp)] = true // the loader is already in memory under its name
	}
	for _, lib := range ef.needed {
		if strings.HasPrefix(lib, "libc.so") || strings.HasPrefix(lib, "ld-linux") {
			w.glibc = true
		}
		if w.loaded[lib] {
			continue
		}
		found := w.findLib(lib, ef, rpath, runpath)
		if found == "" {
			w.c.Notes = append(w.c.Notes, fmt.Sprintf("%s: library %s not found", p, lib))
			continue
		}
		w.loaded[lib] = true
		if flatOrigin != origin && strings.HasPrefix(found, origin+"/") {
			rel := strings.TrimPrefix(found, origin+"/")
			if real, _, err := w.im.trace(found); err == nil {
				w.c.Flat = append(w.c.Flat, copySpec{Src: real, Dst: path.Join(flatOrigin, rel)})
			}
		}
		if w.seen[found] {
			continue
		}
		_, real, err := w.add(found)
		if err != nil {
			w.c.Notes = append(w.c.Notes, fmt.Sprintf("%s: %v", found, err))
			continue
		}
		_, _, ff, _ := w.im.factsOf(real)
		if ff == nil || ff.elf == nil {
			continue
		}
		w.elf(found, path.Dir(found), ff.elf, rpath)
	}
}

// findLib searches for a needed library the way glibc's loader does: a name with a slash is
// a path; otherwise DT_RPATH (when there is no DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH,
// ld.so.cache, then the default directories. Candidates of another ELF class or machine are
// skipped, as the loader does.
func (w *closureWalk) findLib(name string, ef *elfFacts, rpath, runpath []string) string {
	if strings.Contains(name, "/") {
		return name
	}
	try := func(dir string) string {
		p := path.Join(dir, name)
		if _, real, ff, err := w.im.factsOf(p); err == nil && real != "" && (ff == nil || ff.elf == nil ||
			ff.elf.class == ef.class && ff.elf.machine == ef.machine) {
			return p
		}
		return ""
	}
	var ldPath []string
	if v := w.im.envValue("LD_LIBRARY_PATH"); v != "" {
		ldPath = strings.Split(v, ":")
	}
	for _, dirs := range [][]string{rpath, ldPath, runpath} {
		for _, d := range dirs {
			if p := try(d); p != "" {
				return p
			}
		}
	}
	for _, e := range w.cache {
		if e.name == name {
			if p := try(path.Dir(e.path)); p != "" && path.Base(e.path) == name {
				return e.path
			}
		}
	}
	for _, d := range defaultLibDirs(ef) {
		if p := try(d); p != "" {
			return p
		}
	}
	return ""
}

func triplet(ef *elfFacts) string {
	switch ef.machine {
	case elf.EM_X86_64:
		return "x86_64-linux-gnu"
	case elf.EM_AARCH64:
		return "aarch64-linux-gnu"
	case elf.EM_386:
		return "i386-linux-gnu"
	case elf.EM_ARM:
		return "arm-linux-gnueabihf"
	case elf.EM_PPC64:
		return "powerpc64le-linux-gnu"
	case elf.EM_S390:
		return "s390x-linux-gnu"
	}
	return ""
}

func libDir(ef *elfFacts) string {
	if t := triplet(ef); t != "" {
		return "lib/" + t
	}
	return "lib"
}

func platformName(ef *elfFacts) string {
	switch ef.machine {
	case elf.EM_X86_64:
		return "x86_64"
	case elf.EM_AARCH64:
		return "aarch64"
	}
	return ""
}

func defaultLibDirs(ef *elfFacts) []string {
	var out []string
	if t := triplet(ef); t != "" {
		out = append(out, "/lib/"+t, "/usr/lib/"+t)
	}
	if ef.class == elf.ELFCLASS64 {
		out = append(out, "/lib64", "/usr/lib64")
	}
	return append(out, "/lib", "/usr/local/lib", "/usr/lib")
}

// nss adds the NSS service modules /etc/nsswitch.conf names (files and dns are built into
// glibc since 2.34, older ones ship them as libnss_*.so.2).
func (w *closureWalk) nss() {
	conf := w.im.readData("/etc/nsswitch.conf")
	services := map[string]bool{"files": true, "dns": true}
	for _, l := range strings.Split(string(conf), "\n") {
		l, _, _ = strings.Cut(l, "#")
		_, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		for _, f := range strings.Fields(v) {
			if !strings.HasPrefix(f, "[") {
				services[f] = true
			}
		}
	}
	ef := w.mainELF
	if ef == nil {
		ef = &elfFacts{class: elf.ELFCLASS64, machine: elf.EM_X86_64}
	}
	names := make([]string, 0, len(services))
	for s := range services {
		names = append(names, s)
	}
	sort.Strings(names)
	for _, s := range names {
		lib := "libnss_" + s + ".so.2"
		if p := w.findLib(lib, ef, nil, nil); p != "" && !w.seen[p] {
			if _, real, err := w.add(p); err == nil {
				if _, _, ff, _ := w.im.factsOf(real); ff != nil && ff.elf != nil {
					w.elf(p, path.Dir(p), ff.elf, nil)
				}
			}
		}
	}
}

// shellBuiltins are words in command position that are not programs.
var shellBuiltins = map[string]bool{
	"if": true, "then": true, "else": true, "elif": true, "fi": true, "for": true, "do": true, "done": true,
	"while": true, "until": true, "case": true, "esac": true, "in": true, "function": true, "return": true,
	"exit": true, "set": true, "export": true, "local": true, "readonly": true, "shift": true, "cd": true,
	"echo": true, "printf": true, "read": true, "test": true, "[": true, "[[": true, "]]": true, "true": true,
	"false": true, "eval": true, ".": true, "source": true, "trap": true, "wait": true, "unset": true,
	"ulimit": true, "umask": true, "alias": true, "command": true, "type": true, "getopts": true, "break": true,
	"continue": true, "let": true, "declare": true, "typeset": true, "{": true, "}": true, "!": true, ":": true,
	"pwd": true, "kill": true, "times": true, "hash": true, "jobs": true, "fg": true, "bg": true,
}

var (
	reCmdSplit  = regexp.MustCompile(`&&|\|\||[;|&(){}` + "`" + `]|\$\(|\bthen\b|\bdo\b|\belse\b`)
	reAssign    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
	reHeredocOp = regexp.MustCompile(`<<-?\s*['"]?(\w+)['"]?`)
)

// commands adds the programs a shell script runs: the first word of every simple command
// that names a program in the image (PATH lookup as the script would do). Variables, builtins
// and words the image does not have are skipped; a word that looks like a program but is
// missing is noted.
func (w *closureWalk) commands(script string) {
	lines := strings.Split(script, "\n")
	var heredocEnd string
	for i, line := range lines {
		if i == 0 && strings.HasPrefix(line, "#!") {
			continue
		}
		if heredocEnd != "" {
			if strings.TrimSpace(line) == heredocEnd {
				heredocEnd = ""
			}
			continue
		}
		if m := reHeredocOp.FindStringSubmatch(line); m != nil {
			heredocEnd = m[1]
		}
		line = stripShellComment(line)
		for _, seg := range reCmdSplit.Split(line, -1) {
			f := strings.Fields(seg)
			for len(f) > 0 && (reAssign.MatchString(f[0]) || f[0] == "exec" || f[0] == "nohup" || f[0] == "time") {
				f = f[1:]
			}
			if len(f) == 0 {
				continue
			}
			word := strings.Trim(f[0], `"'`)
			if word == "" || shellBuiltins[word] || strings.ContainsAny(word, "$*?=<>\\") || strings.HasSuffix(word, ")") {
				continue
			}
			if p, ok := w.im.lookPath(word); ok {
				w.program(p, false)
				if w.c.Interpreted != "" {
					return
				}
			}
		}
	}
}

// stripShellComment removes a # comment that starts a word, outside quotes.
func stripShellComment(s string) string {
	var q byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '\'' || c == '"':
			q = c
		case c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return s[:i]
		}
	}
	return s
}

// trace resolves p inside the image like View.Resolve, and also returns every symlink it
// went through (link path → target as written).
func (im *Image) trace(p string) (string, map[string]string, error) {
	links := map[string]string{}
	pending := splitClean(p)
	var cur []string
	for hops := 0; len(pending) > 0; {
		part := pending[0]
		pending = pending[1:]
		switch part {
		case ".", "":
			continue
		case "..":
			if len(cur) > 0 {
				cur = cur[:len(cur)-1]
			}
			continue
		}
		here := "/" + strings.Join(append(append([]string{}, cur...), part), "/")
		e, ok := im.view.Lookup(here)
		if !ok {
			if !im.view.Exists(here) {
				return "", nil, fmt.Errorf("%s: %w", p, analyze.ErrNotExist)
			}
			cur = append(cur, part)
			continue
		}
		if e.IsSymlink() {
			if hops++; hops > 40 {
				return "", nil, fmt.Errorf("%s: %w", p, analyze.ErrLinkLoop)
			}
			links[here] = e.Linkname
			if strings.HasPrefix(e.Linkname, "/") {
				cur = nil
			}
			pending = append(splitClean(e.Linkname), pending...)
			continue
		}
		cur = append(cur, part)
	}
	return "/" + strings.Join(cur, "/"), links, nil
}

func splitClean(p string) []string {
	return strings.Split(strings.Trim(p, "/"), "/")
}
