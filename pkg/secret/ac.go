package secret

import "fmt"

// automaton is an Aho-Corasick DFA over ASCII-case-folded bytes. It finds every occurrence of
// a small set of anchors in one pass, with one table lookup per input byte; the verifiers
// then check case and structure at each hit. Bytes that appear in no anchor share one input
// class, so the transition table is small (states × classes bytes) and stays in L1 cache.
type automaton struct {
	class   [256]uint8 // byte → input class (0 = appears in no anchor)
	shift   uint       // log2 of the row width
	delta   []uint8    // state<<shift | class → next state
	accept  uint8      // states >= accept have outputs
	out     [][]uint8  // state → anchors (indices) that end here
	maxLen  int        // longest anchor
	anchors []anchor
}

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
	for a.shift = 0; 1<<a.shift < nclass; a.shift++ {
	}
	width := 1 << a.shift

	// Trie.
	type tnode struct {
		next [64]int // by class; 0 = none (the root is never a child)
		fail int
		out  []uint8
	}
	if nclass > 64 {
		panic(fmt.Sprintf("secret: %d anchor byte classes, at most 64", nclass))
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
	if len(nodes) > 256 {
		panic(fmt.Sprintf("secret: %d automaton states, at most 256", len(nodes)))
	}
	// Breadth-first: fail links, inherited outputs, and the full transition function.
	goto_ := make([][64]int, len(nodes))
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
	// Renumber: states without outputs first, so the hot loop tests one comparison.
	perm := make([]int, len(nodes))
	id := 0
	for s := range nodes {
		if len(nodes[s].out) == 0 {
			perm[s] = id
			id++
		}
	}
	a.accept = uint8(id)
	for s := range nodes {
		if len(nodes[s].out) != 0 {
			perm[s] = id
			id++
		}
	}
	if perm[0] != 0 {
		panic("secret: the root state has outputs")
	}
	a.delta = make([]uint8, len(nodes)*width)
	a.out = make([][]uint8, len(nodes))
	for s := range nodes {
		for c := 0; c < width; c++ {
			a.delta[perm[s]<<a.shift|c] = uint8(perm[goto_[s][c]])
		}
		a.out[perm[s]] = nodes[s].out
	}
	return a
}

// scan reports every anchor occurrence in data as hit(anchor index, start offset). Hits come
// in order of their end offset. Two interleaved walks (front half and back half) keep two
// independent dependency chains in flight, which nearly doubles throughput on one core.
func (a *automaton) scan(data []byte, st *scanner) {
	const split = 1 << 12
	n := len(data)
	if n < split {
		a.scanRange(data, 0, n, 0, st)
		return
	}
	mid := n / 2
	// The back walk starts early enough to see an anchor that crosses mid, and reports
	// only anchors that end at or after mid; the front walk reports those ending before.
	j := mid - (a.maxLen - 1)
	i := 0
	delta, class, shift, accept := a.delta, &a.class, a.shift, a.accept
	var s1, s2 uint8
	for i < mid && j < n {
		s1 = delta[int(s1)<<shift|int(class[data[i]])]
		if s1 >= accept {
			a.emit(s1, i, st)
		}
		s2 = delta[int(s2)<<shift|int(class[data[j]])]
		if s2 >= accept && j >= mid {
			a.emit(s2, j, st)
		}
		i++
		j++
	}
	for ; i < mid; i++ {
		s1 = delta[int(s1)<<shift|int(class[data[i]])]
		if s1 >= accept {
			a.emit(s1, i, st)
		}
	}
	for ; j < n; j++ {
		s2 = delta[int(s2)<<shift|int(class[data[j]])]
		if s2 >= accept && j >= mid {
			a.emit(s2, j, st)
		}
	}
}

func (a *automaton) scanRange(data []byte, from, to int, s uint8, st *scanner) {
	delta, class, shift, accept := a.delta, &a.class, a.shift, a.accept
	for i := from; i < to; i++ {
		s = delta[int(s)<<shift|int(class[data[i]])]
		if s >= accept {
			a.emit(s, i, st)
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
