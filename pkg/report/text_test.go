package report

import (
	"strings"
	"testing"

	"github.com/imgharden/imgharden/pkg/finding"
)

func TestTextColor(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		want bool
	}{
		{"default is plain", nil, false},
		{"off", []Option{WithColor(false)}, false},
		{"on", []Option{WithColor(true)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := string(write(t, "text", sampleReport(), tc.opts...))
			if got := strings.Contains(out, "\x1b["); got != tc.want {
				t.Errorf("escape sequences present = %v, want %v:\n%s", got, tc.want, out)
			}
		})
	}
}

// Only escape sequences the writer adds itself may reach the terminal: names that come from
// the image are escaped even with colour on.
func TestTextEscapesImageStrings(t *testing.T) {
	for _, tc := range []struct {
		name string
		loc  finding.Location
		msg  string
		ev   string
		want []string
	}{
		{"path", finding.Location{Path: "/tmp/\x1b[2Jevil", LayerIndex: 0}, "m", "", []string{`/tmp/\x1b[2Jevil`}},
		{"newline in message", finding.Location{Path: "/a", LayerIndex: 0}, "one\ntwo", "", []string{`one\x0atwo`}},
		{"evidence", finding.Location{Path: "/a", LayerIndex: 0}, "m", "k\x07ey", []string{`evidence: k\x07ey`}},
		{"env", finding.Location{Env: "A\rB", LayerIndex: -1}, "m", "", []string{`ENV A\x0dB`}},
		{"createdBy", finding.Location{Path: "/a", LayerIndex: 1, CreatedBy: "RUN x\x1b]0;title\x07"}, "m", "", []string{`layer 1: RUN x\x1b]0;title\x07`}},
		{"bidi override", finding.Location{Path: "/a\u202egnp.exe", LayerIndex: 0}, "m", "", []string{`/a\u202egnp.exe`}},
		{"C1 control", finding.Location{Path: "/a\u009bb", LayerIndex: 0}, "m", "", []string{`/a\x9bb`}},
		{"invalid UTF-8", finding.Location{Path: "/a\xffb", LayerIndex: 0}, "m", "", []string{`/a\xffb`}},
		{"plain unicode kept", finding.Location{Path: "/srv/café/日本", LayerIndex: 0}, "m", "", []string{"/srv/café/日本"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{Findings: []finding.Finding{finding.New(ruleSetuid, tc.loc, tc.msg, tc.ev)}}
			out := string(write(t, "text", r, WithColor(true)))
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			// Strip the writer's own colour codes; nothing else may be a control character.
			plain := out
			for _, c := range []string{"\x1b[1;31m", "\x1b[31m", "\x1b[33m", "\x1b[36m", "\x1b[2m", "\x1b[0m"} {
				plain = strings.ReplaceAll(plain, c, "")
			}
			for _, r := range plain {
				if r != '\n' && unsafeRune(r) {
					t.Fatalf("unescaped %U in output:\n%q", r, out)
				}
			}
		})
	}
}

func TestTextLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    finding.Finding
		want string
	}{
		{"file with layer and evidence",
			finding.New(ruleSetuid, at("/usr/bin/su", 0, layer0, diff0, "/bin/sh -c #(nop) ADD file:abc in / ", false), "su is setuid", "mode=04755"),
			"HIGH      IH1001  /usr/bin/su  su is setuid\n          layer 0: ADD file:abc in / · evidence: mode=04755\n"},
		{"removed file",
			finding.New(ruleAWSKey, at("/k", 2, layer2, diff2, "", true), "key", ""),
			"CRITICAL  IH4001  /k  key\n          layer 2 · (removed in a later layer)\n"},
		{"config finding has one line",
			finding.New(ruleRoot, finding.ConfigLocation(), "runs as root", ""),
			"MEDIUM    IH2001  image config  runs as root\n"},
		{"env finding",
			finding.New(ruleEnvSecret, finding.Location{Env: "TOKEN", LayerIndex: -1}, "token", "ab****cd"),
			"CRITICAL  IH2003  ENV TOKEN  token\n          evidence: ab****cd\n"},
		{"label finding",
			finding.New(ruleLabel, finding.Location{Label: "x.token", LayerIndex: -1}, "token", ""),
			"HIGH      IH2004  LABEL x.token  token\n"},
		{"dockerfile line",
			finding.New(ruleLatest, finding.Location{Path: "build/Dockerfile", Line: 7, LayerIndex: -1}, "unpinned", ""),
			"LOW       IH3002  build/Dockerfile:7  unpinned\n"},
		{"info",
			finding.New(ruleHealth, finding.ConfigLocation(), "no HEALTHCHECK", ""),
			"INFO      IH2005  image config  no HEALTHCHECK\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := string(write(t, "text", &Report{Findings: []finding.Finding{tc.f}}))
			body, _, _ := strings.Cut(out, "\n\n")
			if body+"\n" != tc.want {
				t.Errorf("got\n%q\nwant\n%q", body+"\n", tc.want)
			}
		})
	}
}

// The text writer groups by severity even when handed findings in another order, and keeps
// the given order inside a group.
func TestTextGroupsBySeverity(t *testing.T) {
	fs := []finding.Finding{
		finding.New(ruleHealth, finding.ConfigLocation(), "i1", ""),
		finding.New(ruleSetuid, at("/b", 0, "", "", "", false), "h1", ""),
		finding.New(ruleAWSKey, at("/c", 0, "", "", "", false), "c1", ""),
		finding.New(ruleSetuid, at("/a", 0, "", "", "", false), "h2", ""),
	}
	out := string(write(t, "text", &Report{Findings: fs}))
	var order []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && (f[0] == "CRITICAL" || f[0] == "HIGH" || f[0] == "INFO") {
			order = append(order, f[len(f)-1])
		}
	}
	if got, want := strings.Join(order, " "), "c1 h1 h2 i1"; got != want {
		t.Errorf("order %q, want %q\n%s", got, want, out)
	}
	if !strings.Contains(out, "/c  c1\n          layer 0\n\nHIGH") {
		t.Errorf("groups are not separated by a blank line:\n%s", out)
	}
}

func TestSummary(t *testing.T) {
	mk := func(sevs ...finding.Severity) []finding.Finding {
		var fs []finding.Finding
		for _, s := range sevs {
			fs = append(fs, finding.Finding{RuleID: "IH1001", Severity: s})
		}
		return fs
	}
	c, h, m, l, i := finding.SeverityCritical, finding.SeverityHigh, finding.SeverityMedium, finding.SeverityLow, finding.SeverityInfo
	for _, tc := range []struct {
		name       string
		fs         []finding.Finding
		suppressed int
		want       string
	}{
		{"none", nil, 0, "0 findings"},
		{"none, some suppressed", nil, 3, "0 findings (3 suppressed)"},
		{"one", mk(h), 0, "1 finding: 0 critical, 1 high, 0 medium, 0 low, 0 info"},
		{"mixed", mk(c, h, h, h, m, m, m, m, m, l, l, i), 2, "12 findings: 1 critical, 3 high, 5 medium, 2 low, 1 info (2 suppressed)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := summary(tc.fs, tc.suppressed); got != tc.want {
				t.Errorf("summary = %q, want %q", got, tc.want)
			}
			out := string(write(t, "text", &Report{Findings: tc.fs, Suppressed: tc.suppressed}))
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if last := lines[len(lines)-1]; last != tc.want {
				t.Errorf("last line = %q, want %q", last, tc.want)
			}
		})
	}
}

func TestShortCreatedBy(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"/bin/sh -c #(nop)  COPY file:0123abcd in /app ", "COPY file:0123abcd in /app"},
		{"/bin/sh -c #(nop)  CMD [\"sh\"]", `CMD ["sh"]`},
		{"/bin/sh -c apt-get update &&     apt-get install -y curl", "RUN apt-get update && apt-get install -y curl"},
		{"RUN /bin/sh -c apk add --no-cache git # buildkit", "RUN apk add --no-cache git"},
		{"COPY . /app # buildkit", "COPY . /app"},
		{"|2 VERSION=1.2 TOKEN=x /bin/sh -c make install", "RUN make install"},
		{"|1 A=b echo hi", "|1 A=b echo hi"},
		{"RUN " + strings.Repeat("a", 100), "RUN " + strings.Repeat("a", createdByWidth-5) + "…"},
		{"ENV X=日本語" + strings.Repeat("語", 80), "ENV X=日本語" + strings.Repeat("語", createdByWidth-10) + "…"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := shortCreatedBy(tc.in); got != tc.want {
				t.Errorf("shortCreatedBy(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestHeader(t *testing.T) {
	for _, tc := range []struct {
		name string
		img  Image
		want string
	}{
		{"empty", Image{}, ""},
		{"ref only", Image{Ref: "alpine"}, "alpine"},
		{"all", Image{Ref: "a:1", Digest: "sha256:" + strings.Repeat("0", 64), Platform: "linux/arm64/v8", User: "app"},
			"a:1 · sha256:000000000000 · linux/arm64/v8 · user app"},
		{"short digest kept", Image{Digest: "sha256:abc"}, "sha256:abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := header(tc.img); got != tc.want {
				t.Errorf("header = %q, want %q", got, tc.want)
			}
		})
	}
}
