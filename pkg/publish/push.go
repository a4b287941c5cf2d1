package publish

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

// Result is a finished push.
type Result struct {
	Tag        name.Tag
	Ref        name.Digest   // REPO@sha256:..., what to deploy
	Descriptor v1.Descriptor // the pushed manifest: the subject for Attach
	Unchanged  bool          // the tag already pointed at this image; nothing was written

	Uploaded      int   // blobs uploaded
	UploadedBytes int64 // their compressed size
	Existing      int   // blobs the repository already had
}

// Progress is the state of a push's uploads.
type Progress struct {
	Blobs, BlobsDone int   // blobs missing in the destination, and those uploaded so far
	Bytes, BytesDone int64 // their compressed size, and how much of it has been sent
}

// Push writes img to tag, never moving an existing tag:
//
//  1. The tag is resolved. The same digest returns a Result with Unchanged set and nothing
//     written; another digest returns a *TagExistsError before any blob is uploaded.
//  2. The blobs the repository lacks (HEAD per blob) are uploaded, WithJobs at a time. A dropped
//     connection or a 5xx is retried (WithRetryBackoff), restarting that blob's upload.
//  3. The tag is resolved again, and only then the manifest is put, so the tag never names an
//     image whose blobs are not all in place. A registry that refuses the manifest because the
//     tag exists (ECR's TAG_INVALID) gives a *TagExistsError too.
//
// Between the second look at the tag and the manifest PUT another client can still move it in a
// registry with mutable tags; ECR's IMMUTABLE setting closes that gap.
//
// Options: WithAuth or WithKeychain, WithTransport, WithJobs, WithProgress, WithLogger,
// WithRetryBackoff, WithUserAgent.
func Push(ctx context.Context, img v1.Image, tag name.Tag, opts ...Option) (*Result, error) {
	o := makeOptions(opts)
	desc, err := manifestDescriptor(img)
	if err != nil {
		return nil, fmt.Errorf("image manifest: %w", err)
	}
	repo := tag.Context()
	res := &Result{Tag: tag, Ref: repo.Digest(desc.Digest.String()), Descriptor: desc}

	if done, err := checkTag(ctx, tag, desc.Digest, o, false); err != nil || done {
		res.Unchanged = done
		if err != nil {
			return nil, err
		}
		return res, nil
	}

	blobs, err := imageBlobs(img)
	if err != nil {
		return nil, err
	}
	ropts := o.remoteOptions(ctx)
	puller, err := remote.NewPuller(ropts...)
	if err != nil {
		return nil, err
	}
	missing, err := missingBlobs(ctx, puller, repo, blobs, o.jobs)
	if err != nil {
		return nil, err
	}
	res.Existing = len(blobs) - len(missing)
	pusher, err := remote.NewPusher(ropts...)
	if err != nil {
		return nil, err
	}
	if err := upload(ctx, pusher, repo, missing, o); err != nil {
		return nil, err
	}
	res.Uploaded = len(missing)
	for _, b := range missing {
		res.UploadedBytes += b.size
	}

	// Look again: the uploads may have taken a while.
	if done, err := checkTag(ctx, tag, desc.Digest, o, false); err != nil || done {
		res.Unchanged = done
		if err != nil {
			return nil, err
		}
		return res, nil
	}
	if err := pusher.Put(ctx, tag, img); err != nil {
		if isTagInvalid(err) {
			o.log.Debug("registry refused the manifest: the tag exists", "tag", tag.String())
			if done, cerr := checkTag(ctx, tag, desc.Digest, o, true); cerr != nil || done {
				res.Unchanged = done
				if cerr != nil {
					return nil, cerr
				}
				return res, nil
			}
			return nil, &TagExistsError{Tag: tag, Pushed: desc.Digest, Registry: true}
		}
		return nil, fmt.Errorf("putting the manifest of %s: %w", tag, err)
	}
	o.log.Debug("pushed", "ref", res.Ref.String(), "uploaded", res.Uploaded, "existing", res.Existing)
	return res, nil
}

// checkTag resolves the tag: done when it already names want, a *TagExistsError when it names
// another image, neither when it is absent.
func checkTag(ctx context.Context, tag name.Tag, want v1.Hash, o *options, byRegistry bool) (bool, error) {
	cur, err := headTag(ctx, tag, o)
	switch {
	case err != nil:
		return false, err
	case cur == nil:
		return false, nil
	case cur.Digest == want:
		o.log.Debug("tag already points at the image; nothing to write", "tag", tag.String(), "digest", want.String())
		return true, nil
	default:
		return false, &TagExistsError{Tag: tag, Existing: cur.Digest, Pushed: want, Registry: byRegistry}
	}
}

func manifestDescriptor(img v1.Image) (v1.Descriptor, error) {
	raw, err := img.RawManifest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	h, size, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: h, Size: size}, nil
}

type blob struct {
	layer  v1.Layer
	digest v1.Hash
	size   int64
}

// imageBlobs lists the config and the distributable layers, each digest once.
func imageBlobs(img v1.Image) ([]blob, error) {
	cfg, err := partial.ConfigLayer(img)
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("image layers: %w", err)
	}
	seen := map[v1.Hash]bool{}
	var out []blob
	for i, l := range append([]v1.Layer{cfg}, layers...) {
		mt, err := l.MediaType()
		if err != nil {
			return nil, fmt.Errorf("blob %d: %w", i, err)
		}
		if !mt.IsDistributable() {
			continue // foreign layers stay where they are, as go-containerregistry does
		}
		d, err := l.Digest()
		if err != nil {
			return nil, fmt.Errorf("blob %d: %w", i, err)
		}
		if seen[d] {
			continue
		}
		seen[d] = true
		size, err := l.Size()
		if err != nil {
			return nil, fmt.Errorf("blob %s: %w", d, err)
		}
		out = append(out, blob{layer: l, digest: d, size: size})
	}
	return out, nil
}

// missingBlobs asks the repository for each blob (HEAD, jobs at a time) and returns those it
// lacks, in the order given.
func missingBlobs(ctx context.Context, p *remote.Puller, repo name.Repository, blobs []blob, jobs int) ([]blob, error) {
	has := make([]bool, len(blobs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for i, b := range blobs {
		g.Go(func() error {
			l, err := p.Layer(gctx, repo.Digest(b.digest.String()))
			if err != nil {
				return err
			}
			ex, ok := l.(interface{ Exists() (bool, error) })
			if !ok {
				return fmt.Errorf("blob %s: cannot check existence", b.digest)
			}
			has[i], err = ex.Exists()
			if err != nil {
				return fmt.Errorf("checking blob %s in %s: %w", b.digest, repo, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var missing []blob
	for i, b := range blobs {
		if !has[i] {
			missing = append(missing, b)
		}
	}
	return missing, nil
}

// upload sends the missing blobs, jobs at a time, reporting progress.
func upload(ctx context.Context, p *remote.Pusher, repo name.Repository, blobs []blob, o *options) error {
	t := &tracker{f: o.progress}
	for _, b := range blobs {
		t.p.Blobs++
		t.p.Bytes += b.size
	}
	t.report(0, 0)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.jobs)
	for _, b := range blobs {
		g.Go(func() error {
			cl := &countingLayer{Layer: b.layer, t: t}
			var l v1.Layer = cl
			if ml, ok := b.layer.(*remote.MountableLayer); ok {
				// Keep the source reference so registries can mount instead of copy.
				cl.Layer = ml.Layer
				l = &remote.MountableLayer{Layer: cl, Reference: ml.Reference}
			}
			if err := p.Upload(gctx, repo, l); err != nil {
				return fmt.Errorf("uploading blob %s to %s: %w", b.digest, repo, err)
			}
			t.report(1, b.size-cl.sent.Swap(b.size))
			o.log.Debug("blob uploaded", "digest", b.digest.String(), "size", b.size)
			return nil
		})
	}
	return g.Wait()
}

// tracker adds up progress from concurrent uploads.
type tracker struct {
	mu sync.Mutex
	p  Progress
	f  func(Progress)
}

func (t *tracker) report(blobs int, bytes int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.p.BlobsDone += blobs
	t.p.BytesDone += bytes
	if t.f != nil {
		t.f(t.p)
	}
}

// countingLayer counts the bytes of its blob read for an upload; a new read (a retry) starts
// the count again.
type countingLayer struct {
	v1.Layer
	t    *tracker
	sent atomic.Int64
}

func (l *countingLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	if n := l.sent.Swap(0); n != 0 {
		l.t.report(0, -n)
	}
	return &countingReader{rc: rc, l: l}, nil
}

type countingReader struct {
	rc io.ReadCloser
	l  *countingLayer
}

func (r *countingReader) Read(b []byte) (int, error) {
	n, err := r.rc.Read(b)
	if n > 0 {
		r.l.sent.Add(int64(n))
		r.l.t.report(0, int64(n))
	}
	return n, err
}

func (r *countingReader) Close() error { return r.rc.Close() }
