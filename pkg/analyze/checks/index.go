package checks

import (
	"runtime"
	"sync"
	"weak"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/pkgdb"
)

// viewIndex holds what several checks derive from the same View: its entries in Walk order
// the executables of its bin directories and the package index. The engine runs the image checks of a run one
// after the other on one View; computing these once per View instead of once per check
// saves a full walk of the tree per check (BenchmarkImageChecks shows the cost of a walk).
type viewIndex struct {
	entriesOnce sync.Once
	entries     []*analyze.Entry
	toolsOnce   sync.Once
	tools       []tool
	ownersOnce  sync.Once
	owners      *pkgdb.DB
}

// indexes maps a weak pointer to a View to its *viewIndex. An index is removed when its
// View is garbage-collected, so nothing outlives the run that made it.
var indexes sync.Map

func indexOf(v *analyze.View) *viewIndex {
	k := weak.Make(v)
	if x, ok := indexes.Load(k); ok {
		return x.(*viewIndex)
	}
	x, loaded := indexes.LoadOrStore(k, &viewIndex{})
	if !loaded {
		runtime.AddCleanup(v, func(k weak.Pointer[analyze.View]) { indexes.Delete(k) }, k)
	}
	return x.(*viewIndex)
}

// entries returns every entry of v's final root filesystem, in lexical path order.
func entries(v *analyze.View) []*analyze.Entry {
	ix := indexOf(v)
	ix.entriesOnce.Do(func() {
		_ = v.Walk(func(e *analyze.Entry) error { // the callback never fails
			ix.entries = append(ix.entries, e)
			return nil
		})
	})
	return ix.entries
}
