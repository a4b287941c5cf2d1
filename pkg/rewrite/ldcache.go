package rewrite

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// ldCacheEntry maps a library name (its SONAME) to the path the dynamic loader opens.
type ldCacheEntry struct {
	name, path string
	flags      int32
}

const (
	ldCacheOldMagic = "ld.so-1.7.0"
	ldCacheNewMagic = "glibc-ld.so.cache1.1"
)

// parseLdCache reads /etc/ld.so.cache in either glibc format: the old "ld.so-1.7.0" one
// (optionally followed by a new-format copy) and the new "glibc-ld.so.cache1.1" one that
// Debian bookworm writes alone. Entries keep the file's order, which is the loader's
// preference order.
func parseLdCache(b []byte) ([]ldCacheEntry, error) {
	le := binary.LittleEndian
	if i := bytes.Index(b, []byte(ldCacheNewMagic)); i >= 0 {
		// struct cache_file_new: magic[17] version[3] nlibs len_strings flags(1) pad[3]
		// extension_offset unused[3], then nlibs × {flags, key, value, osversion, hwcap(8)}.
		// String offsets count from the start of this header.
		hdr := b[i:]
		const hdrLen, entLen = 48, 24
		if len(hdr) < hdrLen {
			return nil, errors.New("ld.so.cache: truncated header")
		}
		n := int(le.Uint32(hdr[20:]))
		if n < 0 || hdrLen+n*entLen > len(hdr) {
			return nil, fmt.Errorf("ld.so.cache: %d entries do not fit in %d bytes", n, len(hdr))
		}
		out := make([]ldCacheEntry, 0, n)
		for k := 0; k < n; k++ {
			e := hdr[hdrLen+k*entLen:]
			name, err1 := cString(hdr, le.Uint32(e[4:]))
			p, err2 := cString(hdr, le.Uint32(e[8:]))
			if err := errors.Join(err1, err2); err != nil {
				return nil, fmt.Errorf("ld.so.cache entry %d: %w", k, err)
			}
			out = append(out, ldCacheEntry{name: name, path: p, flags: int32(le.Uint32(e))})
		}
		return out, nil
	}
	if bytes.HasPrefix(b, []byte(ldCacheOldMagic)) {
		// struct cache_file: magic[11] (padded to 12) nlibs, then nlibs × {flags, key, value};
		// string offsets count from the end of the entries.
		const hdrLen, entLen = 16, 12
		if len(b) < hdrLen {
			return nil, errors.New("ld.so.cache: truncated header")
		}
		n := int(le.Uint32(b[12:]))
		strs := hdrLen + n*entLen
		if n < 0 || strs > len(b) {
			return nil, fmt.Errorf("ld.so.cache: %d entries do not fit in %d bytes", n, len(b))
		}
		out := make([]ldCacheEntry, 0, n)
		for k := 0; k < n; k++ {
			e := b[hdrLen+k*entLen:]
			name, err1 := cString(b[strs:], le.Uint32(e[4:]))
			p, err2 := cString(b[strs:], le.Uint32(e[8:]))
			if err := errors.Join(err1, err2); err != nil {
				return nil, fmt.Errorf("ld.so.cache entry %d: %w", k, err)
			}
			out = append(out, ldCacheEntry{name: name, path: p, flags: int32(le.Uint32(e))})
		}
		return out, nil
	}
	return nil, errors.New("ld.so.cache: unknown format")
}

func cString(b []byte, off uint32) (string, error) {
	if int(off) >= len(b) {
		return "", fmt.Errorf("string offset %d outside %d bytes", off, len(b))
	}
	s := b[off:]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		return string(s[:i]), nil
	}
	return "", errors.New("unterminated string")
}
