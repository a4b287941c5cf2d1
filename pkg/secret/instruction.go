package secret

import "strings"

// DetectInstruction finds secrets in a Dockerfile instruction or an image history line
// (created_by). On top of Detect with ModeConfig it reads the name=value pairs of ENV, ARG and
// LABEL (quoted values may contain spaces), the legacy "ENV NAME value" form, and the build
// arguments that BuildKit and the classic builder record before a RUN command
// ("|2 TOKEN=... OTHER=... /bin/sh -c ..."). A pair is a secret when its name is
// SensitiveName and its value is not IsPlaceholder.
//
// Forms understood: "ENV K=V", "ARG K=V", "LABEL k=v", "/bin/sh -c #(nop)  ENV K=V",
// "RUN |1 K=V /bin/sh -c cmd # buildkit", "|1 K=V /bin/sh -c cmd".
func DetectInstruction(s string) []Match {
	d := unsafeBytes(s)
	st := scanner{data: d, mode: ModeConfig}
	parseInstruction(&st, s)
	detector.scan(d, &st)
	return st.finish()
}

// Instruction returns the Dockerfile instruction of a history line in upper case ("ENV",
// "ARG", "RUN", "COPY"...), or "" when the line is not recognisable. Classic builder lines
// ("/bin/sh -c #(nop)  ENV ...") and bare shell commands ("/bin/sh -c apt-get ...", which
// are RUN steps) are understood.
func Instruction(s string) string {
	_, instr := instructionBody(s)
	return instr
}

// instructionBody strips the builder's wrapping from a history line and returns the offset
// where the instruction's arguments start, and the instruction.
func instructionBody(s string) (int, string) {
	i := skipSpaces(s, 0)
	sh := false
	for _, p := range []string{"/bin/sh -c ", "/bin/bash -c ", "cmd /S /C "} {
		if strings.HasPrefix(s[i:], p) {
			i = skipSpaces(s, i+len(p))
			sh = true
			break
		}
	}
	if strings.HasPrefix(s[i:], "#(nop)") {
		i = skipSpaces(s, i+len("#(nop)"))
		sh = false
	} else if sh {
		return i, "RUN"
	}
	if i < len(s) && s[i] == '|' {
		return i, "RUN"
	}
	j := i
	for j < len(s) && (isUpper(s[j]) || isLower(s[j])) {
		j++
	}
	if j == i || j < len(s) && s[j] != ' ' && s[j] != '\t' {
		return i, ""
	}
	return skipSpaces(s, j), strings.ToUpper(s[i:j])
}

func skipSpaces(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func parseInstruction(st *scanner, s string) {
	at, instr := instructionBody(s)
	switch instr {
	case "RUN":
		if at < len(s) && s[at] == '|' {
			parseBuildArgs(st, s, at)
		}
	case "ENV", "ARG", "LABEL":
		parsePairs(st, s, at, instr == "ENV")
	}
}

// parseBuildArgs reads "|N K=V K=V ... cmd": N bare words, each name=value.
func parseBuildArgs(st *scanner, s string, at int) {
	i := at + 1
	n := 0
	for i < len(s) && isDigit(s[i]) && n < 1000 {
		n = n*10 + int(s[i]-'0')
		i++
	}
	for ; n > 0; n-- {
		i = skipSpaces(s, i)
		ws := i
		for i < len(s) && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		if eq := strings.IndexByte(s[ws:i], '='); eq > 0 {
			st.pair(s, ws, ws+eq, ws+eq+1, i)
		}
	}
}

// parsePairs reads "K=V K2="V 2" ..." or, for ENV, the legacy "K V..." form.
func parsePairs(st *scanner, s string, at int, env bool) {
	i := at
	first := true
	for i < len(s) {
		i = skipSpaces(s, i)
		ks := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		ke := i
		if ke == ks {
			return
		}
		if i >= len(s) || s[i] != '=' {
			if first && env {
				vs := skipSpaces(s, i)
				ve := len(s)
				for ve > vs && (s[ve-1] == ' ' || s[ve-1] == '\t' || s[ve-1] == '\n' || s[ve-1] == '\r') {
					ve--
				}
				if ve-vs >= 2 && (s[vs] == '"' || s[vs] == '\'') && s[ve-1] == s[vs] {
					vs, ve = vs+1, ve-1
				}
				st.pair(s, ks, ke, vs, ve)
			}
			return // an ARG without a default, or the end
		}
		first = false
		i++ // '='
		vs, ve := i, i
		if i < len(s) && (s[i] == '"' || s[i] == '\'') {
			q := s[i]
			vs = i + 1
			j := vs
			for j < len(s) && s[j] != q {
				if s[j] == '\\' && q == '"' {
					j++
				}
				j++
			}
			ve = min(j, len(s))
			i = min(j+1, len(s))
		} else {
			for i < len(s) && s[i] != ' ' && s[i] != '\t' {
				if s[i] == '\\' {
					i++
				}
				i++
			}
			i = min(i, len(s))
			ve = i
		}
		st.pair(s, ks, ke, vs, ve)
	}
}

// pair reports s[vs:ve] when the name s[ks:ke] is sensitive and the value is not a placeholder.
func (st *scanner) pair(s string, ks, ke, vs, ve int) {
	if ve <= vs || ke <= ks {
		return
	}
	key, val := st.data[ks:ke], st.data[vs:ve]
	if sensitiveName(key) && !isPlaceholder(val, key) {
		st.add(Match{Kind: KindAssignment, Start: vs, End: ve, Key: s[ks:ke]})
	}
}

// RedactInstruction masks every secret DetectInstruction finds in a Dockerfile instruction or
// a history line, and returns s itself when there is nothing to hide. Anything that prints a
// created_by line (a layer's createdBy in a report) should pass it through this first:
// "RUN |1 NPM_TOKEN=npm_... /bin/sh -c npm ci" prints the token otherwise.
func RedactInstruction(s string) string {
	ms := DetectInstruction(s)
	if ms == nil {
		return s
	}
	return Redact(unsafeBytes(s), ms)
}
