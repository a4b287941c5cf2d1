package checks

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// RulePackageCache reports package-manager caches and index lists left in the image.
var RulePackageCache = &finding.Rule{
	ID: "IH1008", Slug: "package-cache", Title: "Package cache or package lists left in the image",
	Severity: finding.SeverityLow, Category: finding.CategoryImageFS,
	Description: "A package manager's download cache or index is in the final root filesystem with content: " +
		"/var/lib/apt/lists, .deb files in /var/cache/apt/archives, apt's *.bin caches, the apk, yum and dnf " +
		"caches, and the per-user caches of pip (~/.cache/pip), npm (~/.npm), yarn, Go (build cache and module " +
		"cache), Cargo, Maven and Gradle, in /root, /home/* and the directories named by HOME, GOPATH, GOMODCACHE, " +
		"GOCACHE, PIP_CACHE_DIR, npm_config_cache and YARN_CACHE_FOLDER. They only make the image larger and " +
		"reveal what the build fetched. One finding per cache directory.",
	Remediation: "Clean up in the same RUN that fills the cache (apt-get install ... && rm -rf /var/lib/apt/lists/*; " +
		"apk add --no-cache; pip install --no-cache-dir; npm ci && npm cache clean --force), use a cache mount " +
		"(RUN --mount=type=cache), or copy only the build output into the final stage.",
	Refs: []string{"ecs:R1"},
}

// A cacheDir is a kind of cache; accept decides which files in it count (nil: all).
type cacheDir struct {
	kind   string
	accept func(rel string) bool
}

var systemCaches = map[string]cacheDir{
	"/var/lib/apt/lists":           {"apt package lists", func(rel string) bool { return path.Base(rel) != "lock" }},
	"/var/cache/apt/archives":      {"downloaded .deb packages", func(rel string) bool { return strings.HasSuffix(rel, ".deb") }},
	"/var/cache/apt":               {"apt package cache", func(rel string) bool { return !strings.Contains(rel, "/") && strings.HasSuffix(rel, ".bin") }},
	"/var/cache/apk":               {"apk package cache", nil},
	"/var/cache/yum":               {"yum cache", nil},
	"/var/cache/dnf":               {"dnf cache", nil},
	"/go/pkg/mod":                  {"Go module cache", nil},
	"/usr/local/share/.cache/yarn": {"yarn cache", nil},
}

// homeCaches are relative to a home directory: /root, /home/NAME or $HOME.
var homeCaches = map[string]cacheDir{
	".cache/pip":      {"pip cache", nil},
	".npm":            {"npm cache", nil},
	".cache/yarn":     {"yarn cache", nil},
	".cache/go-build": {"Go build cache", nil},
	"go/pkg/mod":      {"Go module cache", nil},
	".cargo/registry": {"Cargo registry cache", nil},
	".m2/repository":  {"Maven repository cache", nil},
	".gradle/caches":  {"Gradle cache", nil},
}

// envCaches are directories named by the image's environment.
var envCaches = map[string]cacheDir{
	"GOMODCACHE":        {"Go module cache", nil},
	"GOCACHE":           {"Go build cache", nil},
	"PIP_CACHE_DIR":     {"pip cache", nil},
	"npm_config_cache":  {"npm cache", nil},
	"YARN_CACHE_FOLDER": {"yarn cache", nil},
}

type cacheRoot struct {
	dir string
	cacheDir
}

// cacheFinder maps directories to the cache they are in, memoised per directory.
type cacheFinder struct {
	fixed map[string]cacheDir // system caches and those named by the environment
	homes map[string]bool     // extra home directories ($HOME)
	memo  map[string]*cacheRoot
}

func newCacheFinder(v *analyze.View) *cacheFinder {
	c := &cacheFinder{fixed: map[string]cacheDir{}, homes: map[string]bool{}, memo: map[string]*cacheRoot{}}
	canon := func(p string) string {
		if _, final, err := v.ResolvePath(p); err == nil {
			return final
		}
		return path.Clean(p)
	}
	for d, k := range systemCaches {
		c.fixed[canon(d)] = k
	}
	for name, k := range envCaches {
		if d, ok := configEnv(v, name); ok && path.IsAbs(d) {
			c.fixed[canon(d)] = k
		}
	}
	if gopath, ok := configEnv(v, "GOPATH"); ok {
		for _, d := range strings.Split(gopath, ":") {
			if path.IsAbs(d) {
				c.fixed[canon(path.Join(d, "pkg/mod"))] = cacheDir{kind: "Go module cache"}
			}
		}
	}
	if h, ok := configEnv(v, "HOME"); ok && path.IsAbs(h) && path.Clean(h) != "/" {
		c.homes[canon(h)] = true
	}
	return c
}

func (c *cacheFinder) isHome(d string) bool {
	return d == "/root" || (parentDir(d) == "/home" && d != "/home") || c.homes[d]
}

// classify says whether dir itself is a cache root.
func (c *cacheFinder) classify(dir string) *cacheRoot {
	if k, ok := c.fixed[dir]; ok {
		return &cacheRoot{dir, k}
	}
	for rel, k := range homeCaches {
		if home, ok := strings.CutSuffix(dir, "/"+rel); ok && c.isHome(home) {
			return &cacheRoot{dir, k}
		}
	}
	return nil
}

// root returns the innermost cache directory containing dir (dir included), or nil.
func (c *cacheFinder) root(dir string) *cacheRoot {
	if r, ok := c.memo[dir]; ok {
		return r
	}
	r := c.classify(dir)
	if r == nil && dir != "/" {
		r = c.root(parentDir(dir))
	}
	c.memo[dir] = r
	return r
}

type packageCache struct{}

func (packageCache) Rules() []*finding.Rule { return []*finding.Rule{RulePackageCache} }

func (packageCache) CheckImage(_ context.Context, v *analyze.View, r analyze.Reporter) error {
	c := newCacheFinder(v)
	var found leftovers
	var lastDir string // entries come in path order: files of one directory are consecutive
	var root *cacheRoot
	for _, e := range entries(v) {
		if !e.IsRegular() {
			continue
		}
		if d := parentDir(e.Path); d != lastDir {
			lastDir, root = d, c.root(d)
		}
		if root == nil {
			continue
		}
		if root.accept != nil && !root.accept(strings.TrimPrefix(e.Path, root.dir+"/")) {
			continue
		}
		found.add(root.dir, root.kind, e)
	}
	found.report(r, RulePackageCache, func(t *leftover) string {
		return fmt.Sprintf("%s left in %s (%s, %s)", t.kind, t.root, plural(t.files, "file"), size(t.bytes))
	})
	return nil
}
