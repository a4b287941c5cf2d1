package checks

import (
	"path"

	"github.com/imgharden/imgharden/pkg/analyze"
	"github.com/imgharden/imgharden/pkg/pkgdb"
)

// maxPackageDB caps the package database files kept for owner lookups (dpkg's status grows
// to a few MiB on large images); the engine's maximum file size caps it too.
const maxPackageDB = 64 << 20

// packageOwners is embedded by the checks whose findings name the package a file comes
// from (shells, network tools, package managers, compilers). It asks the engine to keep the
// package databases; any one of them asking is enough.
type packageOwners struct{}

func (packageOwners) Retain(e *analyze.Entry) bool    { return pkgdb.NeedsContent(e.Path) }
func (packageOwners) RetainSize(*analyze.Entry) int64 { return maxPackageDB }

// owners returns the package index of v, built once per View.
func owners(v *analyze.View) *pkgdb.DB {
	ix := indexOf(v)
	ix.ownersOnce.Do(func() { ix.owners = pkgdb.Load(viewFS{v}) })
	return ix.owners
}

// viewFS is the final root filesystem as pkgdb reads it.
type viewFS struct{ v *analyze.View }

func (f viewFS) ReadFile(p string) ([]byte, error) { return f.v.ReadFile(p) }

func (f viewFS) Exists(p string) bool {
	_, err := f.v.Resolve(p)
	return err == nil
}

func (f viewFS) List(dir string) []string {
	dir = f.Canonical(dir)
	var out []string
	for _, e := range entries(f.v) {
		if e.IsRegular() && parentDir(e.Path) == dir {
			out = append(out, e.Path)
		}
	}
	return out
}

func (f viewFS) Canonical(p string) string {
	p = path.Clean("/" + p)
	if _, final, err := f.v.ResolvePath(p); err == nil {
		return final
	}
	return p
}

// ownerOf looks up the package of a tool: the path as found, then what it resolves to
// (alternatives and applet links belong to no package; their targets do).
func ownerOf(v *analyze.View, entryPath, targetPath string) (*pkgdb.DB, pkgdb.Owner) {
	db := owners(v)
	fs := viewFS{v}
	p := path.Join(fs.Canonical(path.Dir(entryPath)), path.Base(entryPath))
	return db, db.Lookup(p, targetPath)
}

// ownerDetails adds the package facts of o to a finding's details.
func ownerDetails(d map[string]string, db *pkgdb.DB, o pkgdb.Owner) {
	if o.Manager == "" {
		return
	}
	d["packageManager"] = string(o.Manager)
	if len(o.Packages) > 0 {
		d["package"] = o.Names()
	}
	if cmd := db.RemoveCommand(o); cmd != "" {
		d["remove"] = cmd
	}
}
