package publish_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/imgharden/imgharden/internal/ecrfake"
	"github.com/imgharden/imgharden/pkg/publish"
)

var fastRetry = publish.WithRetryBackoff(remote.Backoff{Duration: time.Millisecond, Factor: 2, Steps: 3})

// pushFixture is a double with an IMMUTABLE, KMS-encrypted repository "app" and push options
// that reach it with ECR token auth.
type pushFixture struct {
	*fixture
	opts []publish.Option
}

func newPushFixture(t *testing.T, repo ecrfake.Repository, opts ...ecrfake.Option) *pushFixture {
	f := newFixture(t, opts...)
	if repo.Name == "" {
		repo = ecrfake.Repository{Name: "app", Mutability: "IMMUTABLE", EncryptionType: "KMS"}
	}
	repo.KMSKey = f.teamKey
	f.s.AddRepository(repo)
	return &pushFixture{fixture: f, opts: []publish.Option{
		publish.WithAuth(f.ecr().Authenticator()), publish.WithTransport(f.s.Transport()), fastRetry}}
}

func (f *pushFixture) tag(t *testing.T, s string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(f.s.Host+"/"+s, name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

func (f *pushFixture) remote() []remote.Option {
	return []remote.Option{remote.WithTransport(f.s.Transport()), remote.WithAuth(f.ecr().Authenticator())}
}

func randomImage(t *testing.T, size int64, layers int) v1.Image {
	t.Helper()
	img, err := random.Image(size, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// manifestPuts returns the registry writes that put a manifest by tag.
func manifestPuts(ws []ecrfake.Write, tag string) []ecrfake.Write {
	var out []ecrfake.Write
	for _, w := range ws {
		if w.Method == http.MethodPut && strings.HasSuffix(w.Path, "/manifests/"+tag) {
			out = append(out, w)
		}
	}
	return out
}

func TestPushThenIdempotentRerun(t *testing.T) {
	f := newPushFixture(t, ecrfake.Repository{})
	img := randomImage(t, 4096, 3)
	tag := f.tag(t, "app:v1")
	ctx := context.Background()

	res, err := publish.Push(ctx, img, tag, f.opts...)
	if err != nil {
		t.Fatal(err)
	}
	if res.Unchanged || res.Uploaded != 4 || res.Existing != 0 || res.Ref.String() != f.s.Host+"/app@"+digest(t, img).String() {
		t.Fatalf("result %+v", res)
	}
	ws := f.s.Writes()
	if puts := manifestPuts(ws, "v1"); len(puts) != 1 || ws[len(ws)-1] != puts[0] || puts[0].Status != http.StatusCreated {
		t.Fatalf("the tag's manifest PUT must come once, last: %+v", ws)
	}
	got, err := remote.Head(tag, f.remote()...)
	if err != nil || got.Digest != digest(t, img) {
		t.Fatalf("tag resolves to %v (%v)", got, err)
	}

	f.s.ResetLog()
	again, err := publish.Push(ctx, img, tag, f.opts...)
	if err != nil {
		t.Fatalf("re-run of the same image: %v", err)
	}
	if !again.Unchanged || again.Uploaded != 0 || again.Ref != res.Ref {
		t.Fatalf("re-run result %+v", again)
	}
	if ws := f.s.Writes(); len(ws) != 0 {
		t.Fatalf("re-run wrote %+v", ws)
	}
}

func TestPushRefusesAnotherDigestBeforeWriting(t *testing.T) {
	f := newPushFixture(t, ecrfake.Repository{})
	a, b := randomImage(t, 1024, 1), randomImage(t, 1024, 2)
	tag := f.tag(t, "app:v1")
	if _, err := publish.Push(context.Background(), a, tag, f.opts...); err != nil {
		t.Fatal(err)
	}
	f.s.ResetLog()
	_, err := publish.Push(context.Background(), b, tag, f.opts...)
	var te *publish.TagExistsError
	if !errors.As(err, &te) || !errors.Is(err, publish.ErrTagExists) {
		t.Fatalf("err = %v, want *TagExistsError", err)
	}
	if te.Existing != digest(t, a) || te.Pushed != digest(t, b) || te.Registry {
		t.Fatalf("%+v", te)
	}
	for _, d := range []v1.Hash{digest(t, a), digest(t, b)} {
		if !strings.Contains(err.Error(), d.String()) {
			t.Errorf("error %q does not print %s", err, d)
		}
	}
	if fd := te.Finding(); fd.RuleID != "IH5004" || fd.Location.Path != tag.String() {
		t.Errorf("finding %+v", fd)
	}
	if ws := f.s.Writes(); len(ws) != 0 {
		t.Fatalf("a refused push wrote %+v", ws)
	}
}

// hideTag answers 404 to the first n HEADs of a tag, as if the tag appeared after imgharden
// looked: the registry's own refusal is then what stops the push.
type hideTag struct {
	rt   http.RoundTripper
	path string
	n    atomic.Int32
}

func (h *hideTag) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodHead && strings.HasSuffix(r.URL.Path, h.path) && h.n.Add(-1) >= 0 {
		return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	}
	return h.rt.RoundTrip(r)
}

func TestPushReportsTheRegistrysRefusalTheSameWay(t *testing.T) {
	for _, same := range []bool{false, true} {
		t.Run(map[bool]string{false: "other digest", true: "same digest"}[same], func(t *testing.T) {
			f := newPushFixture(t, ecrfake.Repository{})
			a := randomImage(t, 1024, 1)
			b := a
			if !same {
				b = randomImage(t, 1024, 1)
			}
			tag := f.tag(t, "app:v1")
			if _, err := publish.Push(context.Background(), a, tag, f.opts...); err != nil {
				t.Fatal(err)
			}
			f.s.ResetLog()
			tr := &hideTag{rt: f.s.Transport(), path: "/manifests/v1"}
			tr.n.Store(2) // both of imgharden's looks before the PUT
			opts := append(append([]publish.Option(nil), f.opts...), publish.WithTransport(tr))
			res, err := publish.Push(context.Background(), b, tag, opts...)
			puts := manifestPuts(f.s.Writes(), "v1")
			if len(puts) != 1 || puts[0].Status != http.StatusBadRequest {
				t.Fatalf("the double did not refuse a PUT: %+v", f.s.Writes())
			}
			if same {
				if err != nil || !res.Unchanged {
					t.Fatalf("same digest after TAG_INVALID: %+v, %v", res, err)
				}
				return
			}
			var te *publish.TagExistsError
			if !errors.As(err, &te) || !te.Registry || te.Existing != digest(t, a) || te.Pushed != digest(t, b) {
				t.Fatalf("err = %v (%+v)", err, te)
			}
			if got, _ := remote.Head(tag, f.remote()...); got.Digest != digest(t, a) {
				t.Fatal("the tag moved")
			}
		})
	}
}

func TestPushUploadsOnlyMissingBlobs(t *testing.T) {
	f := newPushFixture(t, ecrfake.Repository{})
	base := randomImage(t, 2048, 2)
	more, err := random.Layer(2048, "application/vnd.docker.image.rootfs.diff.tar.gzip")
	if err != nil {
		t.Fatal(err)
	}
	app, err := mutate.AppendLayers(base, more)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Push(context.Background(), base, f.tag(t, "app:base"), f.opts...); err != nil {
		t.Fatal(err)
	}
	f.s.ResetLog()
	res, err := publish.Push(context.Background(), app, f.tag(t, "app:v1"), f.opts...)
	if err != nil {
		t.Fatal(err)
	}
	if res.Uploaded != 2 || res.Existing != 2 {
		t.Fatalf("uploaded %d, existing %d; want the new layer and config only", res.Uploaded, res.Existing)
	}
	starts := 0
	for _, w := range f.s.Writes() {
		if w.Method == http.MethodPost {
			starts++
		}
	}
	if starts != 2 {
		t.Fatalf("%d uploads started: %+v", starts, f.s.Writes())
	}
}

// slowPatches delays blob uploads and records how many run at once.
type slowPatches struct {
	rt            http.RoundTripper
	inflight, max atomic.Int32
}

func (s *slowPatches) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPatch {
		n := s.inflight.Add(1)
		defer s.inflight.Add(-1)
		for {
			m := s.max.Load()
			if n <= m || s.max.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s.rt.RoundTrip(r)
}

func TestPushUploadsInParallel(t *testing.T) {
	for _, tt := range []struct {
		jobs     int
		min, max int32
	}{{1, 1, 1}, {4, 2, 4}} {
		f := newPushFixture(t, ecrfake.Repository{})
		tr := &slowPatches{rt: f.s.Transport()}
		opts := append(append([]publish.Option(nil), f.opts...), publish.WithTransport(tr), publish.WithJobs(tt.jobs))
		if _, err := publish.Push(context.Background(), randomImage(t, 1024, 4), f.tag(t, "app:v1"), opts...); err != nil {
			t.Fatal(err)
		}
		if got := tr.max.Load(); got < tt.min || got > tt.max {
			t.Errorf("jobs %d: %d uploads at once, want %d..%d", tt.jobs, got, tt.min, tt.max)
		}
	}
}

func TestPushRetriesADroppedConnectionToCompletion(t *testing.T) {
	f := newPushFixture(t, ecrfake.Repository{})
	img := randomImage(t, 1<<20, 3)
	tag := f.tag(t, "app:v1")
	f.s.DropUploads(2, 300<<10)
	var mu sync.Mutex
	var last publish.Progress
	opts := append(append([]publish.Option(nil), f.opts...), publish.WithProgress(func(p publish.Progress) {
		mu.Lock()
		last = p
		mu.Unlock()
	}))
	res, err := publish.Push(context.Background(), img, tag, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if f.s.Dropped() != 2 {
		t.Fatalf("the double dropped %d connections, want 2", f.s.Dropped())
	}
	ws := f.s.Writes()
	if puts := manifestPuts(ws, "v1"); len(puts) != 1 || ws[len(ws)-1] != puts[0] {
		t.Fatalf("the tag was put %d times or not last: %+v", len(puts), ws)
	}
	if last.BlobsDone != last.Blobs || last.BytesDone != last.Bytes || last.Blobs != 4 || last.Bytes != res.UploadedBytes {
		t.Fatalf("final progress %+v, uploaded %d bytes", last, res.UploadedBytes)
	}
	pulled, err := remote.Image(tag, f.remote()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(pulled); err != nil {
		t.Fatalf("the pushed image is not whole: %v", err)
	}
	if digest(t, pulled) != digest(t, img) {
		t.Fatal("digest changed")
	}
}

func TestPushThatKeepsFailingNeverTagsAPartialImage(t *testing.T) {
	f := newPushFixture(t, ecrfake.Repository{})
	img := randomImage(t, 256<<10, 2)
	tag := f.tag(t, "app:v1")
	f.s.DropUploads(1000, 100<<10)
	_, err := publish.Push(context.Background(), img, tag, f.opts...)
	if err == nil {
		t.Fatal("push succeeded through a dead connection")
	}
	if puts := manifestPuts(f.s.Writes(), "v1"); len(puts) != 0 {
		t.Fatalf("a manifest was put: %+v", puts)
	}
	if _, err := remote.Head(tag, f.remote()...); err == nil {
		t.Fatal("the tag exists after a failed push")
	}
}

func TestTagSafetyOnAnyRegistry(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	tag, err := name.NewTag(strings.TrimPrefix(srv.URL, "http://")+"/team/app:1.0", name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	anon := publish.WithKeychain(authn.NewMultiKeychain())
	a, b := randomImage(t, 1024, 1), randomImage(t, 1024, 1)
	ctx := context.Background()
	if res, err := publish.Push(ctx, a, tag, anon); err != nil || res.Unchanged {
		t.Fatalf("first push: %+v, %v", res, err)
	}
	if res, err := publish.Push(ctx, a, tag, anon); err != nil || !res.Unchanged {
		t.Fatalf("same image again: %+v, %v", res, err)
	}
	if _, err := publish.Push(ctx, b, tag, anon); !errors.Is(err, publish.ErrTagExists) {
		t.Fatalf("another image: %v", err)
	}
	if got, _ := remote.Head(tag); got.Digest != digest(t, a) {
		t.Fatal("the tag moved")
	}
}

func TestCredentialsNeverReachLogsOrErrors(t *testing.T) {
	c := newClock()
	f := newPushFixture(t, ecrfake.Repository{}, ecrfake.WithClock(c.now))
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := f.ecr(publish.WithLogger(logger), publish.WithClock(c.now))
	opts := []publish.Option{publish.WithAuth(e.Authenticator()), publish.WithTransport(f.s.Transport()), publish.WithLogger(logger), fastRetry}
	ctx := context.Background()
	var errs []error
	collect := func(_ any, err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	collect(e.EnsureRepository(ctx, publish.Requirements{Name: "app", Tag: "v1", KMSKey: "alias/team"}))
	a := randomImage(t, 1024, 1)
	collect(publish.Push(ctx, a, f.tag(t, "app:v1"), opts...))
	collect(publish.Push(ctx, randomImage(t, 1024, 1), f.tag(t, "app:v1"), opts...)) // refused
	f.s.AddRepository(ecrfake.Repository{Name: "mutable"})
	collect(e.EnsureRepository(ctx, publish.Requirements{Name: "mutable", Tag: "v1"})) // refused
	// A token the registry no longer accepts: its holder's clock says it is still valid.
	stale := f.ecr(publish.WithLogger(logger), publish.WithClock(newClock().now))
	if _, err := stale.Authenticator().Authorization(); err != nil {
		t.Fatal(err)
	}
	c.advance(ecrfake.TokenTTL + time.Hour)
	staleOpts := []publish.Option{publish.WithAuth(stale.Authenticator()), publish.WithTransport(f.s.Transport()), publish.WithLogger(logger), fastRetry}
	collect(publish.Push(ctx, randomImage(t, 1024, 1), f.tag(t, "app:v2"), staleOpts...))
	if len(errs) != 3 {
		t.Fatalf("want 3 errors (tag exists, mutable, unauthorized), got %v", errs)
	}
	if !strings.Contains(errs[2].Error(), "401") && !strings.Contains(strings.ToLower(errs[2].Error()), "unauthorized") {
		t.Errorf("the stale token error is %v", errs[2])
	}
	if !strings.Contains(logs.String(), "token fetched") {
		t.Fatalf("debug log is empty: %s", logs.String())
	}
	text := logs.String()
	for _, err := range errs {
		text += "\n" + chain(err)
	}
	for _, secret := range f.s.Secrets() {
		if strings.Contains(text, secret) {
			t.Fatalf("a credential reached the logs or errors:\n%s", text)
		}
	}
	if len(f.s.Secrets()) < 3 {
		t.Fatal("the double issued no tokens")
	}
}

// chain prints every error of err's wrap chain.
func chain(err error) string {
	var b strings.Builder
	for e := err; e != nil; e = errors.Unwrap(e) {
		b.WriteString(e.Error())
		b.WriteString("\n")
	}
	return b.String()
}

// TestPushCopiesBetweenRepositories pushes an image read from one repository of the registry
// to another: its layers are go-containerregistry mountable layers, offered for a
// cross-repository mount; the double (like a registry that does not mount) asks for an upload,
// and every blob of the new repository is uploaded once.
func TestPushCopiesBetweenRepositories(t *testing.T) {
	f := newPushFixture(t, ecrfake.Repository{})
	f.s.AddRepository(ecrfake.Repository{Name: "copy", Mutability: "IMMUTABLE", EncryptionType: "KMS", KMSKey: f.teamKey})
	img := randomImage(t, 4096, 2)
	if _, err := publish.Push(context.Background(), img, f.tag(t, "app:v1"), f.opts...); err != nil {
		t.Fatal(err)
	}
	src, err := remote.Image(f.tag(t, "app:v1"), f.remote()...)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := src.Layers()
	if _, ok := layers[0].(*remote.MountableLayer); !ok {
		t.Fatalf("layers read from a registry are %T, not mountable", layers[0])
	}
	f.s.ResetLog()
	res, err := publish.Push(context.Background(), src, f.tag(t, "copy:v1"), f.opts...)
	if err != nil {
		t.Fatal(err)
	}
	if res.Uploaded != 3 || res.Existing != 0 || res.Ref.DigestStr() != digest(t, img).String() {
		t.Fatalf("result %+v", res)
	}
	copied, err := remote.Image(f.tag(t, "copy:v1"), f.remote()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(copied); err != nil {
		t.Fatal(err)
	}
}
