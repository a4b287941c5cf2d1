// Package bench generates large synthetic images and measures imgharden against the read
// floor. It is used by `make bench` only.
package bench

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// Spec describes the synthetic image.
type Spec struct {
	Layers        int   // number of layers
	FilesPerLayer int   // regular files per layer
	TargetBytes   int64 // approximate total uncompressed size
	Seed          uint64
}

// DefaultSpec is at least 800 MB uncompressed in tens of thousands of files: most of the
// bytes in binaries and shared objects, the count in small text files, as in a distro image
// with a toolchain.
var DefaultSpec = Spec{Layers: 8, FilesPerLayer: 6000, TargetBytes: 850 << 20, Seed: 1}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// WriteDockerArchive writes the image as `podman save` does: uncompressed layer tars named by
// diff ID, a config and manifest.json. It returns the total uncompressed layer bytes.
func WriteDockerArchive(path string, s Spec) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	out := tar.NewWriter(f)
	rng := rand.New(rand.NewPCG(s.Seed, s.Seed^0x9e3779b97f4a7c15))

	type layerMeta struct{ diffID, name string }
	var layers []layerMeta
	var total int64
	tmpDir := filepath.Dir(path)
	perLayer := s.TargetBytes / int64(s.Layers)
	for li := 0; li < s.Layers; li++ {
		tmp, err := os.CreateTemp(tmpDir, "layer-*.tar")
		if err != nil {
			return 0, err
		}
		h := sha256.New()
		lw := tar.NewWriter(io.MultiWriter(tmp, h))
		if err := fillLayer(lw, rng, li, s.FilesPerLayer, perLayer); err != nil {
			return 0, err
		}
		if err := lw.Close(); err != nil {
			return 0, err
		}
		size, _ := tmp.Seek(0, io.SeekCurrent)
		total += size
		diff := hex.EncodeToString(h.Sum(nil))
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return 0, err
		}
		name := diff + ".tar"
		if err := out.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: epoch}); err != nil {
			return 0, err
		}
		if _, err := io.Copy(out, tmp); err != nil {
			return 0, err
		}
		tmp.Close()
		os.Remove(tmp.Name())
		layers = append(layers, layerMeta{diff, name})
	}
	cfg := map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Env": []string{"PATH=/usr/bin:/bin"}, "Cmd": []string{"/usr/bin/app"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": func() []string {
			var d []string
			for _, l := range layers {
				d = append(d, "sha256:"+l.diffID)
			}
			return d
		}()},
	}
	var hist []map[string]any
	for i := range layers {
		hist = append(hist, map[string]any{"created_by": fmt.Sprintf("/bin/sh -c #(nop) synthetic layer %d", i)})
	}
	cfg["history"] = hist
	rawCfg, _ := json.Marshal(cfg)
	cfgSum := sha256.Sum256(rawCfg)
	cfgName := hex.EncodeToString(cfgSum[:]) + ".json"
	if err := add(out, cfgName, rawCfg); err != nil {
		return 0, err
	}
	var names []string
	for _, l := range layers {
		names = append(names, l.name)
	}
	man, _ := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": []string{"localhost/bench:large"}, "Layers": names}})
	if err := add(out, "manifest.json", man); err != nil {
		return 0, err
	}
	return total, out.Close()
}

func add(tw *tar.Writer, name string, b []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: epoch}); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}

var textLines = []string{
	"# configuration file generated for benchmarking\n",
	"listen_address = 0.0.0.0:8080\n",
	"log_level = info\n",
	"// Package foo implements the bar protocol.\n",
	"func (s *Server) Handle(w http.ResponseWriter, r *http.Request) {\n",
	"    return nil, fmt.Errorf(\"unexpected %v\", err)\n",
	"The quick brown fox jumps over the lazy dog.\n",
	"export PATH=/usr/local/bin:$PATH\n",
	"[section]\nkey = value\n",
	"<p>documentation paragraph with some words in it</p>\n",
}

// fillLayer writes files: ~85% small text files (0.2–8 KiB), the rest binaries holding most
// of the bytes. A few planted secrets keep the secret checks honest.
func fillLayer(tw *tar.Writer, rng *rand.Rand, li, files int, budget int64) error {
	dirs := []string{"usr/bin", "usr/lib/x86_64-linux-gnu", "usr/share/doc/pkg", "etc/app", "opt/app/src", "usr/include/sys", "usr/share/locale/de/LC_MESSAGES"}
	for _, d := range dirs {
		if err := tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch}); err != nil {
			return err
		}
	}
	nBin := files / 7
	textBytes := int64(0)
	buf := make([]byte, 0, 1<<20)
	for i := 0; i < files-nBin; i++ {
		n := 200 + rng.IntN(8<<10)
		buf = buf[:0]
		for len(buf) < n {
			buf = append(buf, textLines[rng.IntN(len(textLines))]...)
		}
		if i%2500 == 7 {
			buf = append(buf, "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"...)
		}
		name := fmt.Sprintf("%s/file-%d-%d.txt", dirs[2+rng.IntN(len(dirs)-2)], li, i)
		if err := add(tw, name, buf); err != nil {
			return err
		}
		textBytes += int64(len(buf))
	}
	binBudget := budget - textBytes
	per := binBudget / int64(nBin)
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(rng.Uint32())
	}
	copy(chunk, "\x7fELF\x02\x01\x01")
	for i := 0; i < nBin; i++ {
		size := per/2 + rng.Int64N(per+1)
		name := fmt.Sprintf("%s/bin-%d-%d", dirs[rng.IntN(2)], li, i)
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: size, ModTime: epoch}); err != nil {
			return err
		}
		for left := size; left > 0; {
			n := min(left, int64(len(chunk)))
			if _, err := tw.Write(chunk[:n]); err != nil {
				return err
			}
			left -= n
		}
	}
	return nil
}
