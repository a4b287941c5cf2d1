package analyze

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgharden/imgharden/pkg/finding"
)

// ErrDiffIDMismatch means a layer's content does not match the diff ID the config lists:
// the blob is corrupt or was swapped.
var ErrDiffIDMismatch = errors.New("layer content does not match its diff ID")

// ErrTooLarge is returned by Body.Bytes when a check needs the whole file but it exceeds the cap.
var ErrTooLarge = errors.New("file larger than the maximum file size")

// hashingReader hashes what passes through it, so the diff ID is verified in the same pass.
type hashingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if n > 0 {
		h.h.Write(p[:n])
		h.n += int64(n)
	}
	return n, err
}

// readBufferSize is the read-ahead buffer of each layer walk.
const readBufferSize = 1 << 20

// bufPool holds body buffers; each layer walk borrows one for its lifetime.
var bufPool = sync.Pool{New: func() any { return new([]byte) }}

func (e *Engine) walkLayer(ctx context.Context, l v1.Layer, info *LayerInfo, res *layerResult) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return fmt.Errorf("opening layer: %w", err)
	}
	defer rc.Close()
	// A large buffer turns the tar reader's small reads into few big ones.
	var in io.Reader = bufio.NewReaderSize(rc, readBufferSize)
	var hr *hashingReader
	if !verifiesDiffID(l) {
		hr = &hashingReader{r: in, h: sha256.New()}
		in = hr
	}
	tr := tar.NewReader(in)

	bufp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bufp)
	body := &lazyBody{tr: tr, buf: bufp, max: e.maxFileSize}

	seen := 0
	for {
		if seen%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return &LayerError{Index: res.index, Digest: info.Digest, Entry: lastName(res), Err: fmt.Errorf("reading tar: %w", err)}
		}
		seen++
		if len(hdr.Name) > maxPathLen || len(hdr.Linkname) > maxPathLen {
			res.found.Report(nil, finding.New(RuleUnsafeEntry, finding.Location{LayerIndex: res.index},
				fmt.Sprintf("layer entry name or link target is longer than %d bytes; entry skipped", maxPathLen), truncate(hdr.Name, 80)))
			continue
		}
		p, unsafe := cleanName(hdr.Name)
		if unsafe {
			res.found.Report(nil, finding.New(RuleUnsafeEntry, finding.Location{Path: p, LayerIndex: res.index},
				fmt.Sprintf("layer entry name %q points outside the image root; it is analyzed as %s", hdr.Name, p), hdr.Name))
		}
		dir, base := path.Split(p)
		switch {
		case base == opaqueMarker:
			res.opaques = append(res.opaques, path.Clean(dir))
			continue
		case strings.HasPrefix(base, whiteoutMeta):
			continue // other AUFS metadata (.wh..wh.plnk, .wh..wh.aufs): not files
		case strings.HasPrefix(base, whiteoutPrefix):
			res.whiteouts = append(res.whiteouts, path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix)))
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo, tar.TypeGNUSparse:
		default:
			continue // PAX/GNU meta headers are folded into the next header by archive/tar
		}
		ent := newEntry(hdr, p, res.index)
		if ent.Hardlink {
			if _, unsafe := cleanName(hdr.Linkname); unsafe {
				res.found.Report(ent, finding.New(RuleUnsafeEntry, finding.Location{},
					fmt.Sprintf("hardlink %s points outside the image root (%q)", p, hdr.Linkname), hdr.Linkname))
			}
		}
		res.entries = append(res.entries, ent)
		body.reset(ent, hdr.Size)
		for _, c := range e.fileChecks {
			if !c.Wants(ent) {
				continue
			}
			if err := c.CheckFile(ctx, ent, body, &res.found); err != nil {
				if body.ioErr != nil {
					return &LayerError{Index: res.index, Digest: info.Digest, Entry: hdr.Name, Err: body.ioErr}
				}
				res.found.Report(ent, checkFailed(c, p, err))
			}
		}
		if body.ioErr != nil {
			return &LayerError{Index: res.index, Digest: info.Digest, Entry: hdr.Name, Err: body.ioErr}
		}
		if ent.IsRegular() && !ent.Hardlink && len(e.retainers) > 0 && hdr.Size <= e.retainLimit(ent) {
			b, err := body.Bytes()
			if err != nil {
				return &LayerError{Index: res.index, Digest: info.Digest, Entry: hdr.Name, Err: err}
			}
			if !body.Truncated() {
				ent.retained = append([]byte(nil), b...)
				ent.kept = true
			}
		}
	}
	info.Entries = seen
	// Read what follows the end-of-archive marker too: the diff ID covers the whole stream,
	// and a verifying source reports a mismatch only at the end.
	if _, err := io.Copy(io.Discard, in); err != nil {
		return &LayerError{Index: res.index, Digest: info.Digest, Err: fmt.Errorf("reading layer: %w", err)}
	}
	if hr != nil && info.DiffID != "" {
		got := "sha256:" + hex.EncodeToString(hr.h.Sum(nil))
		if got != info.DiffID {
			return &LayerError{Index: res.index, Digest: info.Digest,
				Err: fmt.Errorf("%w: config says %s, content hashes to %s", ErrDiffIDMismatch, info.DiffID, got)}
		}
	}
	return nil
}

// retainLimit is the largest body any retainer wants kept for ent, or -1 when none wants it.
func (e *Engine) retainLimit(ent *Entry) int64 {
	limit := int64(-1)
	for _, r := range e.retainers {
		if !r.Retain(ent) {
			continue
		}
		l := e.retainSize
		if sr, ok := r.(SizedRetainer); ok {
			l = max(l, sr.RetainSize(ent))
		}
		limit = max(limit, min(l, e.maxFileSize))
	}
	return limit
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func lastName(res *layerResult) string {
	if n := len(res.entries); n > 0 {
		return strings.TrimPrefix(res.entries[n-1].Path, "/")
	}
	return ""
}

// lazyBody reads the current tar entry on first use and shares the bytes with every check.
type lazyBody struct {
	tr        *tar.Reader
	buf       *[]byte
	max       int64
	size      int64
	ent       *Entry
	read      bool
	data      []byte
	truncated bool
	ioErr     error
}

func (b *lazyBody) reset(e *Entry, size int64) {
	b.ent, b.size, b.read, b.data, b.truncated, b.ioErr = e, size, false, nil, false, nil
}

func (b *lazyBody) Bytes() ([]byte, error) {
	if b.read {
		return b.data, b.ioErr
	}
	b.read = true
	if !b.ent.IsRegular() || b.ent.Hardlink {
		return nil, nil
	}
	n := b.size
	if n > b.max {
		n = b.max
		b.truncated = true
	}
	if int64(cap(*b.buf)) < n {
		*b.buf = make([]byte, n, max(n, 64<<10))
	}
	data := (*b.buf)[:n]
	if _, err := io.ReadFull(b.tr, data); err != nil {
		b.ioErr = fmt.Errorf("reading file body: %w", err)
		return nil, b.ioErr
	}
	b.data = data
	return data, nil
}

func (b *lazyBody) Truncated() bool { return b.truncated }
