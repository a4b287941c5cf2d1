// Package checks holds imgharden's built-in image checks, one file per rule. The engine in
// pkg/analyze has no checks of its own; compose it with this list:
//
//	analyze.New(analyze.WithChecks(checks.Default()...))
package checks

import (
	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/finding"
)

// Default returns a fresh list of every built-in check, configured by opts.
// Keep one check per line.
func Default(opts ...Option) []analyze.Check {
	o := newOptions(opts)
	return []analyze.Check{
		newSetuid(o),
		fileCapability{},
		shell{},
		networkTool{},
		packageManager{},
		compiler{},
		vcsDirectory{},
		packageCache{},
		buildFile{},
		envFile{},
		worldWritable{},
		unsafeSymlink{},
		rootUser{},
		noHealthcheck{},
		sshPort{},
		remoteAdd{},
		secretConfig{},
		secretContent{},
	}
}

// Rules lists the rules of every built-in check, in Default's order. It is the catalog of
// this package.
func Rules() []*finding.Rule {
	var rules []*finding.Rule
	for _, c := range Default() {
		rules = append(rules, c.Rules()...)
	}
	return rules
}

// Option configures the built-in checks.
type Option func(*options)

type options struct {
	baseLabel  string          // how the base image was given, e.g. "--base alpine:3.20"
	baseSetuid map[string]bool // setuid/setgid paths of the base image; nil = not given
}

func newOptions(opts []Option) options {
	var o options
	for _, fn := range opts {
		fn(&o)
	}
	return o
}

// WithBaseSetuid gives the setuid check the setuid and setgid paths of the base image (see
// SetuidPaths), so it can say which ones this image adds. label says where the base came
// from ("--base alpine:3.20") and appears in findings. Default: the base is identified from
// the image history where possible.
func WithBaseSetuid(label string, paths []string) Option {
	return func(o *options) {
		o.baseLabel = label
		o.baseSetuid = make(map[string]bool, len(paths))
		for _, p := range paths {
			o.baseSetuid[p] = true
		}
	}
}
