package seccomp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
)

// Names of the files Record writes into its directory.
const (
	RecordLogName     = "strace.log"
	RecordProfileName = "profile.json"
	recordMount       = "/.imgharden-record"
	recordStrace      = "/.imgharden-strace"
)

// RecordOptions says what to record and where.
type RecordOptions struct {
	Dir     string   // output directory; created if missing, files are only written inside it
	Command []string // the workload
	// Image runs the workload in a podman container (with --cap-add SYS_PTRACE and no seccomp
	// filter while tracing); empty runs it on the host.
	Image string
	Run   RunSpec // more podman settings for the container (volumes, network, env)
	// Strace is a strace executable: on the host it is run; for an image it is mounted into
	// the container (it must be static). Empty uses "strace" from PATH or the image's own.
	Strace   string
	Generate []GenerateOption
	// Output receives the workload's stdout and stderr (for a container, their last 64 KiB
	// each, after it ended). Nil discards them.
	Output io.Writer
}

// Recording is what Record produced.
type Recording struct {
	LogPath     string
	ProfilePath string
	ExitCode    int // the workload's exit code under strace
	Trace       *Trace
	Profile     *Profile
}

// ErrWorkloadFailed is wrapped when the traced workload exits non-zero: its trace shows a
// failed run, so no profile is written from it.
var ErrWorkloadFailed = errors.New("the workload failed under strace")

// Record runs the workload under strace -f, then writes the log and the profile generated
// from it into opts.Dir. It refuses to overwrite files already there.
func Record(ctx context.Context, pm *Podman, opts RecordOptions) (*Recording, error) {
	if len(opts.Command) == 0 {
		return nil, errors.New("no command to record")
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	rec := &Recording{LogPath: filepath.Join(opts.Dir, RecordLogName), ProfilePath: filepath.Join(opts.Dir, RecordProfileName)}
	for _, p := range []string{rec.LogPath, rec.ProfilePath} {
		if _, err := os.Lstat(p); err == nil {
			return nil, fmt.Errorf("%s exists; choose another -o directory or remove it", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	var err error
	if opts.Image == "" {
		rec.ExitCode, err = recordHost(ctx, opts, rec.LogPath)
	} else {
		rec.ExitCode, err = recordContainer(ctx, pm, opts)
	}
	if err != nil {
		return rec, err
	}
	if rec.ExitCode != 0 {
		return rec, fmt.Errorf("%w: exit code %d; the log is in %s, no profile was written", ErrWorkloadFailed, rec.ExitCode, rec.LogPath)
	}
	lg, err := ExpandLog(rec.LogPath)
	if err != nil {
		return rec, err
	}
	rec.Trace, err = Parse(ctx, []Log{lg})
	if err != nil {
		return rec, err
	}
	rec.Profile, err = Generate(rec.Trace, opts.Generate...)
	if err != nil {
		return rec, err
	}
	f, err := os.OpenFile(rec.ProfilePath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return rec, err
	}
	if err := rec.Profile.WriteJSON(f); err != nil {
		f.Close()
		return rec, err
	}
	return rec, f.Close()
}

func recordHost(ctx context.Context, opts RecordOptions, logPath string) (int, error) {
	strace := opts.Strace
	if strace == "" {
		strace = "strace"
	}
	args := append([]string{"-f", "-o", logPath, "--"}, opts.Command...)
	cmd := exec.CommandContext(ctx, strace, args...)
	cmd.Stdout, cmd.Stderr = opts.Output, opts.Output
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee) && ctx.Err() == nil:
		if _, serr := os.Stat(logPath); serr != nil {
			return 0, fmt.Errorf("strace wrote no log (exit %d): is %s installed and may it ptrace?", ee.ExitCode(), strace)
		}
		return ee.ExitCode(), nil
	default:
		return 0, fmt.Errorf("running %s: %w", strace, err)
	}
}

func recordContainer(ctx context.Context, pm *Podman, opts RecordOptions) (int, error) {
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return 0, err
	}
	spec := opts.Run
	spec.Image = opts.Image
	spec.SeccompProfile = "unconfined" // trace what the workload does, not what a filter lets it do
	spec.CapAdd = append(append([]string(nil), spec.CapAdd...), "SYS_PTRACE")
	spec.Volumes = append(append([]string(nil), spec.Volumes...), dir+":"+recordMount)
	spec.Entrypoint = "strace"
	if opts.Strace != "" {
		abs, err := filepath.Abs(opts.Strace)
		if err != nil {
			return 0, err
		}
		spec.Volumes = append(spec.Volumes, abs+":"+recordStrace+":ro")
		spec.Entrypoint = recordStrace
	}
	spec.Command = append([]string{"-f", "-o", recordMount + "/" + RecordLogName, "--"}, opts.Command...)
	res, err := pm.Run(ctx, spec)
	if err != nil {
		return 0, err
	}
	if opts.Output != nil {
		_, _ = opts.Output.Write(res.Stdout)
		_, _ = opts.Output.Write(res.Stderr)
	}
	if _, serr := os.Stat(filepath.Join(dir, RecordLogName)); serr != nil {
		return 0, fmt.Errorf("strace wrote no log (exit %d: %s): does the image have strace, or pass --strace", res.ExitCode, LastLine(res.Stderr))
	}
	return res.ExitCode, nil
}
