package source

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

type dockerManifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// openDockerArchive reads a `docker save` / `podman save` tarball. Both the legacy layout
// (<id>/layer.tar) and the OCI-style one written by Docker 25+ (blobs/sha256/<hex>) work.
func openDockerArchive(s store, where, want string, index int) (v1.Image, error) {
	raw, err := readAll(s, "manifest.json")
	if err != nil {
		return nil, fmt.Errorf("%s is not a docker-archive (no manifest.json): %w", where, err)
	}
	var entries []dockerManifestEntry
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("%s: manifest.json: %w", where, err)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%s: manifest.json lists no images", where)
	}
	entry, err := pickDockerEntry(entries, want, index, where)
	if err != nil {
		return nil, err
	}
	rawConfig, err := readAll(s, entry.Config)
	if err != nil {
		return nil, fmt.Errorf("%s: config: %w", where, err)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(rawConfig))
	if err != nil {
		return nil, fmt.Errorf("%s: config %s: %w", where, entry.Config, err)
	}
	if len(cf.RootFS.DiffIDs) != len(entry.Layers) {
		return nil, fmt.Errorf("%s: config lists %d diff IDs but manifest.json has %d layers", where, len(cf.RootFS.DiffIDs), len(entry.Layers))
	}
	cfgDigest, cfgSize, err := v1.SHA256(bytes.NewReader(rawConfig))
	if err != nil {
		return nil, err
	}
	// Synthesize a manifest whose layer digests are those of the blobs as stored, so no layer
	// has to be recompressed to be described.
	man := &v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config:        v1.Descriptor{MediaType: types.DockerConfigJSON, Digest: cfgDigest, Size: cfgSize},
	}
	names := map[v1.Hash]string{}
	for i, l := range entry.Layers {
		rc, size, err := s.open(l)
		if err != nil {
			return nil, fmt.Errorf("%s: layer %d: %w", where, i, err)
		}
		rc.Close()
		comp, err := sniff(s, l)
		if err != nil {
			return nil, fmt.Errorf("%s: layer %d: %w", where, i, err)
		}
		d, ok := digestFromName(l)
		mt := types.DockerLayer
		switch comp {
		case "gzip":
		case "zstd":
			mt = types.OCILayerZStd
		default:
			mt = types.DockerUncompressedLayer
			if !ok {
				d, ok = cf.RootFS.DiffIDs[i], true // an uncompressed blob's digest is its diff ID
			}
		}
		if !ok {
			if d, err = hashBlob(s, l); err != nil {
				return nil, fmt.Errorf("%s: layer %d: %w", where, i, err)
			}
		}
		names[d] = l
		man.Layers = append(man.Layers, v1.Descriptor{MediaType: mt, Digest: d, Size: size})
	}
	rawMan, err := json.Marshal(man)
	if err != nil {
		return nil, err
	}
	b := &blobImage{s: s, rawMan: rawMan, man: man, rawConfig: rawConfig,
		blobName: func(h v1.Hash) string { return names[h] }}
	return b.finish()
}

func pickDockerEntry(entries []dockerManifestEntry, want string, index int, where string) (dockerManifestEntry, error) {
	if index >= 0 {
		if index >= len(entries) {
			return dockerManifestEntry{}, fmt.Errorf("%s: image @%d requested but the archive holds %d", where, index, len(entries))
		}
		return entries[index], nil
	}
	if want == "" {
		if len(entries) > 1 {
			return dockerManifestEntry{}, fmt.Errorf("%s: the archive holds %d images; select one with :NAME:TAG or :@N", where, len(entries))
		}
		return entries[0], nil
	}
	wantRef, err := name.ParseReference(want)
	var all []string
	for _, e := range entries {
		for _, t := range e.RepoTags {
			all = append(all, t)
			if t == want || t == "localhost/"+want || t == "localhost/"+want+":latest" {
				return e, nil
			}
			if err == nil {
				if r, err := name.ParseReference(t); err == nil && r.Name() == wantRef.Name() {
					return e, nil
				}
			}
		}
	}
	return dockerManifestEntry{}, fmt.Errorf("%s: no image named %q (names: %s)", where, want, strings.Join(all, ", "))
}
