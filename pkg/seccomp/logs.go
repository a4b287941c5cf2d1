package seccomp

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ReaderLog is a Log read from r (stdin, for one).
func ReaderLog(name string, r io.Reader) Log {
	return Log{Name: name, Files: []LogFile{{Name: name, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(r), nil
	}}}}
}

// ExpandLog turns a LOG argument into the streams to read:
//   - a regular file is read as it is;
//   - a directory: its files named *.log or NAME.PID (strace -ff), sorted;
//   - otherwise a -ff prefix: every PREFIX.PID file.
func ExpandLog(path string) (Log, error) {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.Mode().IsRegular():
		return Log{Name: path, Files: []LogFile{fileLog(path, 0)}}, nil
	case err == nil && st.IsDir():
		ents, err := os.ReadDir(path)
		if err != nil {
			return Log{}, fmt.Errorf("log directory %s: %w", path, err)
		}
		lg := Log{Name: path}
		for _, e := range ents {
			if !e.Type().IsRegular() {
				continue
			}
			n := e.Name()
			if pid, ok := pidSuffix(n); ok {
				lg.Files = append(lg.Files, fileLog(filepath.Join(path, n), pid))
			} else if strings.HasSuffix(n, ".log") {
				lg.Files = append(lg.Files, fileLog(filepath.Join(path, n), 0))
			}
		}
		if len(lg.Files) == 0 {
			return Log{}, fmt.Errorf("log directory %s holds no *.log or NAME.PID file", path)
		}
		return lg, nil
	case err == nil:
		return Log{}, fmt.Errorf("log %s is not a regular file or directory", path)
	case !errors.Is(err, fs.ErrNotExist):
		return Log{}, fmt.Errorf("log %s: %w", path, err)
	}
	// A -ff prefix: PREFIX.PID files.
	matches, gerr := filepath.Glob(globEscape(path) + ".*")
	if gerr != nil {
		return Log{}, fmt.Errorf("log %s: %w", path, gerr)
	}
	lg := Log{Name: path}
	for _, m := range matches {
		pid, ok := pidSuffix(m[len(path):])
		if !ok || strings.LastIndexByte(m, '.') != len(path) {
			continue
		}
		if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() {
			lg.Files = append(lg.Files, fileLog(m, pid))
		}
	}
	if len(lg.Files) == 0 {
		return Log{}, fmt.Errorf("log %s: no such file, directory or -ff prefix (PREFIX.PID files)", path)
	}
	sort.Slice(lg.Files, func(i, j int) bool { return lg.Files[i].PID < lg.Files[j].PID })
	return lg, nil
}

func fileLog(path string, pid int) LogFile {
	return LogFile{Name: path, PID: pid, Open: func() (io.ReadCloser, error) { return os.Open(path) }}
}

// pidSuffix reads the PID of a -ff file name "NAME.PID".
func pidSuffix(name string) (int, bool) {
	i := strings.LastIndexByte(name, '.')
	if i < 0 || i == len(name)-1 {
		return 0, false
	}
	for _, c := range name[i+1:] {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	pid, err := strconv.Atoi(name[i+1:])
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}

func globEscape(s string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	return r.Replace(s)
}
