package checks

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/imgharden/imgharden/pkg/analyze"
)

var dockerfileKeywords = map[string]bool{
	"ADD": true, "ARG": true, "CMD": true, "COPY": true, "ENTRYPOINT": true, "ENV": true,
	"EXPOSE": true, "FROM": true, "HEALTHCHECK": true, "LABEL": true, "MAINTAINER": true,
	"ONBUILD": true, "RUN": true, "SHELL": true, "STOPSIGNAL": true, "USER": true,
	"VOLUME": true, "WORKDIR": true,
}

// instruction splits a history created_by line into its Dockerfile keyword and the rest.
// It understands BuildKit ("ADD src dst # buildkit"), the classic builder and buildah
// ("/bin/sh -c #(nop)  CMD [...]", "/bin/sh -c apt-get ..." for RUN, "|2 A=1 B=2 /bin/sh -c ..."
// for RUN with build args). Lines it cannot read give an empty keyword.
func instruction(createdBy string) (keyword, rest string) {
	s := strings.TrimSpace(createdBy)
	s = strings.TrimSpace(strings.TrimSuffix(s, "# buildkit"))
	if strings.HasPrefix(s, "|") { // RUN with build args, classic builder
		return "RUN", s
	}
	if after, ok := strings.CutPrefix(s, "/bin/sh -c "); ok {
		after = strings.TrimSpace(after)
		nop, isNop := strings.CutPrefix(after, "#(nop)")
		if !isNop {
			return "RUN", after
		}
		s = strings.TrimSpace(nop)
	}
	word, rest, _ := strings.Cut(s, " ")
	if kw := strings.ToUpper(word); dockerfileKeywords[kw] {
		return kw, strings.TrimSpace(rest)
	}
	return "", s
}

// lastInstruction returns the created_by line of the last history entry with keyword kw.
func lastInstruction(v *analyze.View, kw string) string {
	h := v.History()
	for i := len(h) - 1; i >= 0; i-- {
		if k, _ := instruction(h[i].CreatedBy); k == kw {
			return strings.TrimSpace(h[i].CreatedBy)
		}
	}
	return ""
}

// baseInfo says which layers came from the base image.
type baseInfo struct {
	layers int    // layers [0, layers) belong to the base image
	how    string // how the base was identified, for findings
}

// imageIDComment matches the "FROM <image id>" comments buildah writes on the intermediate
// steps of a --layers build, as opposed to "FROM <name>" on the first step.
var imageIDComment = regexp.MustCompile(`^(sha256:)?([0-9a-f]{12}|[0-9a-f]{64})$`)

// identifyBase finds where the base image ends in the history.
//
// buildah records the base as a "FROM <base>" comment on the history entry of the build's
// first step (with --layers) or of the build's single layer (without); the intermediate
// steps of a --layers build carry "FROM <image id>" instead. The last "FROM <name>" comment
// therefore starts this image's own build.
//
// Otherwise, the image config of a Docker-style base ends with an empty-layer CMD or
// ENTRYPOINT, so the last such entry that is followed by more layers ends the base. A
// Dockerfile that sets CMD before its last RUN would move the boundary up; that is why the
// finding says how the base was identified.
func identifyBase(v *analyze.View) (baseInfo, bool) {
	h := v.History()
	layersBefore := func(i int) int {
		n := 0
		for _, e := range h[:i] {
			if !e.EmptyLayer {
				n++
			}
		}
		return min(n, len(v.Layers()))
	}
	for i := len(h) - 1; i >= 0; i-- {
		from, ok := strings.CutPrefix(strings.TrimSpace(h[i].Comment), "FROM ")
		from = strings.TrimSpace(from)
		if !ok || from == "" || imageIDComment.MatchString(from) {
			continue
		}
		return baseInfo{layers: layersBefore(i), how: "history: buildah comment FROM " + from}, true
	}
	laterLayer := false
	for i := len(h) - 1; i >= 0; i-- {
		if !h[i].EmptyLayer {
			laterLayer = true
			continue
		}
		if kw, _ := instruction(h[i].CreatedBy); laterLayer && (kw == "CMD" || kw == "ENTRYPOINT") {
			return baseInfo{layers: layersBefore(i),
				how: fmt.Sprintf("history: base image ends with %s at history entry %d", kw, i)}, true
		}
	}
	return baseInfo{}, false
}
