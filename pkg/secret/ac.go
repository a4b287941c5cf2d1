package secret

import "fmt"

// automaton is an Aho-Corasick DFA over ASCII-case-folded bytes. It finds every occurrence of
// a small set of anchors in one pass, with one table lookup per input byte; the verifiers
// then check case and structure at each hit. Bytes that appear in no anchor share one input
// class, so the transition table is small (states × classes bytes) and stays in L1 cache.
type automaton struct {
	class   [256]uint8       // byte → input class (0 = appears in no anchor)
	delta   [tableSize]uint8 // state<<classBits | class → next state
	out     [][]uint8        // state → anchors (indices) that end here
	maxLen  int              // longest anchor
	anchors []anchor
}

// The table holds at most 256 states (uint8) of 32 input classes: 8 KiB, in L1 cache. A
// fixed size lets the hot loop index it without bounds checks.
const (
	classBits = 5
	tableSize = 256 << classBits
	acceptBit = 128 // states with outputs are numbered from here
)

type anchor struct {
	text string // lowercase ASCII
	v    verifier
}

func fold(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

// newAutomaton builds the DFA. It panics on anchors the tables cannot hold: the anchor set
// is a compile-time constant of this package, so that is a programming error.
func newAutomaton(anchors []anchor) *automaton {
	a := &automaton{anchors: anchors}
	nclass := 1
	for _, an := range anchors {
		a.maxLen = max(a.maxLen, len(an.text))
		for i := 0; i < len(an.text); i++ {
			c := fold(an.text[i])
			if a.class[c] == 0 {
				a.class[c] = uint8(nclass)
				nclass++
			}
		}
	}
	for c := 'A'; c <= 'Z'; c++ {
		a.class[c] = a.class[c+'a'-'A']
	}
	width := 1 << classBits

	// Trie.
	type tnode struct {
		next [1 << classBits]int // by class; 0 = none (the root is never a child)
		fail int
		out  []uint8
	}
	if nclass > width {
		panic(fmt.Sprintf("secret: %d anchor byte classes, at most %d", nclass, width))
	}
	nodes := []tnode{{}}
	for i, an := range anchors {
		s := 0
		for j := 0; j < len(an.text); j++ {
			c := a.class[an.text[j]]
			if nodes[s].next[c] == 0 {
				nodes = append(nodes, tnode{})
				nodes[s].next[c] = len(nodes) - 1
			}
			s = nodes[s].next[c]
		}
		nodes[s].out = append(nodes[s].out, uint8(i))
	}
	// Breadth-first: fail links, inherited outputs, and the full transition function.
	goto_ := make([][1 << classBits]int, len(nodes))
	queue := []int{}
	for c := 0; c < width; c++ {
		if n := nodes[0].next[c]; n != 0 {
			goto_[0][c] = n
			queue = append(queue, n)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		nodes[s].out = append(nodes[s].out, nodes[nodes[s].fail].out...)
		for c := 0; c < width; c++ {
			if n := nodes[s].next[c]; n != 0 {
				if s != 0 {
					nodes[n].fail = goto_[nodes[s].fail][c]
				}
				goto_[s][c] = n
				queue = append(queue, n)
			} else {
				goto_[s][c] = goto_[nodes[s].fail][c]
			}
		}
	}
	// Renumber: states without outputs get 0-127, states with outputs 128-255, so bit 7 alone
	// says "accepting" and the hot loop tests four lanes with one OR.
	perm := make([]int, len(nodes))
	plain, accepting := 0, acceptBit
	for s := range nodes {
		if len(nodes[s].out) == 0 {
			perm[s] = plain
			plain++
		} else {
			perm[s] = accepting
			accepting++
		}
	}
	if plain > acceptBit || accepting > 256 {
		panic(fmt.Sprintf("secret: %d plain and %d accepting states, at most 128 each", plain, accepting-acceptBit))
	}
	if perm[0] != 0 {
		panic("secret: the root state has outputs")
	}
	a.out = make([][]uint8, 256)
	for s := range nodes {
		for c := 0; c < width; c++ {
			a.delta[perm[s]<<classBits|c] = uint8(perm[goto_[s][c]])
		}
		a.out[perm[s]] = nodes[s].out
	}
	return a
}

// scan reports every anchor occurrence in data to st.verify. A DFA walk is bound by the
// latency of one table load per byte, so the input is cut into four lanes walked in lockstep:
// four independent dependency chains keep the core busy. Each lane after the first starts
// maxLen-1 bytes early, in the root state, so it sees an anchor that crosses its start, and
// reports only anchors that end inside its own range; nothing is missed or reported twice.
func (a *automaton) scan(data []byte, st *scanner) {
	const lanes = 4
	ov := a.maxLen - 1
	n := len(data)
	q := n / lanes
	if q < 4*ov || q < 64 {
		a.scanRange(data, 0, n, 0, 0, st)
		return
	}
	l0 := data[:q]
	l1 := data[q-ov:][:q]
	l2 := data[2*q-ov:][:q]
	l3 := data[3*q-ov:][:q]
	var ls [4]uint8
	for t := 0; ; t++ {
		t = a.step4(l0, l1, l2, l3, t, &ls)
		if t >= q {
			break
		}
		if ls[0]&acceptBit != 0 {
			a.emit(ls[0], t, st)
		}
		if t >= ov {
			for k := 1; k < lanes; k++ {
				if ls[k]&acceptBit != 0 {
					a.emit(ls[k], k*q-ov+t, st)
				}
			}
		}
	}
	s1, s2, s3 := ls[1], ls[2], ls[3]
	// Lanes 1-3 are ov bytes short of their end; the last lane runs to the end of data.
	a.scanRange(data, 2*q-ov, 2*q, s1, 0, st)
	a.scanRange(data, 3*q-ov, 3*q, s2, 0, st)
	a.scanRange(data, 4*q-ov, n, s3, 0, st)
}

// step4 advances four equally long lanes in lockstep from offset t, with the lane states in
// ls, until a lane enters an accepting state (it returns that offset) or the lanes end (it
// returns their length). It is a leaf with few live values, so the four states stay in
// registers: a state spilled to the stack would add a store-to-load delay to every byte.
func (a *automaton) step4(l0, l1, l2, l3 []byte, t int, ls *[4]uint8) int {
	d, class := &a.delta, &a.class
	n := len(l0)
	l1, l2, l3 = l1[:n], l2[:n], l3[:n]
	s0, s1, s2, s3 := ls[0], ls[1], ls[2], ls[3]
	for ; t < n; t++ {
		s0 = d[(int(s0)<<classBits|int(class[l0[t]]))&(tableSize-1)]
		s1 = d[(int(s1)<<classBits|int(class[l1[t]]))&(tableSize-1)]
		s2 = d[(int(s2)<<classBits|int(class[l2[t]]))&(tableSize-1)]
		s3 = d[(int(s3)<<classBits|int(class[l3[t]]))&(tableSize-1)]
		if (s0|s1|s2|s3)&acceptBit != 0 {
			break
		}
	}
	ls[0], ls[1], ls[2], ls[3] = s0, s1, s2, s3
	return t
}

// scanRange walks data[from:to] from state s, reporting anchors that end at or after report.
func (a *automaton) scanRange(data []byte, from, to int, s uint8, report int, st *scanner) {
	d, class := &a.delta, &a.class
	for i, c := range data[from:to] {
		s = d[(int(s)<<classBits|int(class[c]))&(tableSize-1)]
		if s&acceptBit != 0 && from+i >= report {
			a.emit(s, from+i, st)
		}
	}
}

// emit runs the verifiers of the anchors that end at offset end.
func (a *automaton) emit(s uint8, end int, st *scanner) {
	for _, ai := range a.out[s] {
		an := &a.anchors[ai]
		st.verify(an.v, end-len(an.text)+1, len(an.text))
	}
}
