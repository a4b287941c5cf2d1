package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/imgharden/imgharden/pkg/seccomp"
	"github.com/spf13/cobra"
)

func newCmdSeccomp() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "seccomp",
		Short: "Turn strace logs into seccomp profiles that provably run the workload",
		Long: `Build seccomp profiles (Docker/OCI JSON) from what a workload really calls.

  record    run the workload under strace (on the host or in a container) and write the log
            and the profile
  generate  strace logs → profile: exactly the traced calls, the container runtime's own
            calls, everything else refused with EPERM
  verify    run the workload under podman with the profile N times; check calls are refused
  merge     union of profiles
  diff      what a profile allows beyond Docker's default profile, and what it removes

Exit codes: 0 ok, 1 verify failed, 2 usage, 3 bad input (not strace, partial log, bad
profile) or a tool failure.`,
		Example: `  imgharden seccomp record --image localhost/app:1 --network none -o out -- /app/server --once
  imgharden seccomp verify --profile out/profile.json --image localhost/app:1 --network none -- /app/server --once
  imgharden seccomp diff out/profile.json`,
		Args: UsageArgs(cobra.NoArgs),
	}
	cmd.AddCommand(
		NewCmdSeccompGenerate(nil),
		NewCmdSeccompMerge(nil),
		NewCmdSeccompRecord(nil),
		NewCmdSeccompVerify(nil),
		NewCmdSeccompDiff(nil),
	)
	return cmd
}

// profileFlags are the flags that shape a generated profile.
type profileFlags struct {
	Runtime         string
	NoNewPrivileges bool
	DefaultErrno    uint
	AllowPartial    bool
}

// AddFlags adds the flags; --runtime is added by each command, whose meaning differs.
func (f *profileFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.NoNewPrivileges, "no-new-privileges", false,
		"the container runs with --security-opt no-new-privileges (the runtime then needs fewer calls)")
	cmd.Flags().UintVar(&f.DefaultErrno, "default-errno", 1, "errno returned for calls outside the profile (defaultErrnoRet)")
	cmd.Flags().BoolVar(&f.AllowPartial, "allow-partial", false,
		"accept logs that look partial (-e trace= filters, -Z, -c tables): the profile will miss calls")
}

func (f *profileFlags) options(runtime string) ([]seccomp.GenerateOption, error) {
	if _, err := seccomp.RuntimeSyscalls(runtime, f.NoNewPrivileges); err != nil && runtime != "none" {
		return nil, &UsageError{Err: fmt.Errorf("--runtime: %w", err)}
	}
	if f.DefaultErrno == 0 || f.DefaultErrno > 4095 {
		return nil, Usagef("--default-errno %d: want an errno from 1 to 4095", f.DefaultErrno)
	}
	return []seccomp.GenerateOption{
		seccomp.WithRuntime(runtime, f.NoNewPrivileges),
		seccomp.WithDefaultErrno(f.DefaultErrno),
		seccomp.WithAllowPartial(f.AllowPartial),
	}, nil
}

// containerFlags are the podman settings of a workload's container.
type containerFlags struct {
	Network string
	Volumes []string
	Env     []string
}

func (f *containerFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.Network, "network", "", "podman --network for the container (e.g. none); default podman's")
	cmd.Flags().StringArrayVarP(&f.Volumes, "volume", "v", nil, "podman -v SRC:DST[:OPTS] for the container (repeatable)")
	cmd.Flags().StringArrayVarP(&f.Env, "env", "e", nil, "podman -e NAME=VALUE for the container (repeatable)")
}

func (f *containerFlags) spec(image string, command []string, nnp bool) seccomp.RunSpec {
	return seccomp.RunSpec{Image: image, Command: command, NoNewPrivileges: nnp, Network: f.Network,
		Volumes: f.Volumes, Env: f.Env}
}

// writeOutput writes to path (atomically, via a temporary file next to it), or to out for "-"
// or "".
func writeOutput(out io.Writer, path string, write func(io.Writer) error) error {
	if path == "" || path == "-" {
		return write(out)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("output: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func readProfileFile(path string) (*seccomp.Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p, err := seccomp.ReadProfile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ---- generate

// SeccompGenerateOptions are the inputs of `seccomp generate`.
type SeccompGenerateOptions struct {
	In      io.Reader // stdin, for the log "-"
	Out     io.Writer
	ErrOut  io.Writer
	Logs    []string
	Output  string
	Profile profileFlags
}

// NewCmdSeccompGenerate builds `seccomp generate`.
func NewCmdSeccompGenerate(runF func(context.Context, *SeccompGenerateOptions) error) *cobra.Command {
	o := &SeccompGenerateOptions{Profile: profileFlags{Runtime: "runc"}}
	cmd := &cobra.Command{
		Use:   "generate [flags] LOG...",
		Short: "Generate a seccomp profile from strace logs",
		Long: `Generate a seccomp profile from strace logs.

LOG is a file, a directory (its *.log and NAME.PID files), a strace -ff prefix (every
PREFIX.PID file) or - for stdin. Logs are read in one streaming pass each. The profile allows
exactly the syscalls the logs show (per ABI: i386 calls add SCMP_ARCH_X86), plus the calls the
container runtime makes after installing the filter, and refuses the rest with EPERM. When
clone is used and clone3 is not, clone3 returns ENOSYS so glibc falls back to clone.

Logs that look partial (-e trace= filters, -Z/--failed-only, -c summary tables) are refused
unless --allow-partial; input that is not strace output is an error, never an empty profile.`,
		Example: `  strace -f -o app.log ./app && imgharden seccomp generate app.log -o app.json
  strace -ff -o trace ./app && imgharden seccomp generate trace --runtime crun --no-new-privileges
  imgharden seccomp generate - < app.log`,
		Args: UsageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.In, o.Out, o.ErrOut = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			o.Logs = args
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return seccompGenerateRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "write the profile to FILE instead of stdout")
	cmd.Flags().StringVar(&o.Profile.Runtime, "runtime", o.Profile.Runtime, "container runtime whose own calls to allow: runc, crun or none")
	o.Profile.AddFlags(cmd)
	return cmd
}

func seccompGenerateRun(ctx context.Context, o *SeccompGenerateOptions) error {
	opts, err := o.Profile.options(o.Profile.Runtime)
	if err != nil {
		return err
	}
	var logs []seccomp.Log
	stdin := 0
	for _, arg := range o.Logs {
		if arg == "-" {
			if stdin++; stdin > 1 {
				return Usagef("stdin (-) given twice")
			}
			logs = append(logs, seccomp.ReaderLog("-", o.In))
			continue
		}
		lg, err := seccomp.ExpandLog(arg)
		if err != nil {
			return err
		}
		logs = append(logs, lg)
	}
	log := slog.New(slog.NewTextHandler(o.ErrOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tr, err := seccomp.Parse(ctx, logs, seccomp.WithParseLogger(log))
	if err != nil {
		return err
	}
	if o.Profile.AllowPartial {
		for _, p := range tr.Partial {
			fmt.Fprintf(o.ErrOut, "imgharden: warning: partial log accepted: %s\n", p)
		}
	}
	p, err := seccomp.Generate(tr, opts...)
	if err != nil {
		return err
	}
	return writeOutput(o.Out, o.Output, p.WriteJSON)
}

// ---- merge

// SeccompMergeOptions are the inputs of `seccomp merge`.
type SeccompMergeOptions struct {
	Out      io.Writer
	Profiles []string
	Output   string
}

// NewCmdSeccompMerge builds `seccomp merge`.
func NewCmdSeccompMerge(runF func(context.Context, *SeccompMergeOptions) error) *cobra.Command {
	o := &SeccompMergeOptions{}
	cmd := &cobra.Command{
		Use:   "merge [flags] PROFILE...",
		Short: "Merge seccomp profiles into their union",
		Long: `Merge seccomp profiles into their union: a call any profile allows is allowed; for other
calls the most permissive explicit action wins. The result does not depend on the order of the
profiles. All profiles must share defaultAction and defaultErrnoRet.`,
		Example: `  imgharden seccomp merge web.json worker.json -o app.json`,
		Args:    UsageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Out, o.Profiles = cmd.OutOrStdout(), args
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return seccompMergeRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "write the profile to FILE instead of stdout")
	return cmd
}

func seccompMergeRun(_ context.Context, o *SeccompMergeOptions) error {
	var ps []*seccomp.Profile
	for _, path := range o.Profiles {
		p, err := readProfileFile(path)
		if err != nil {
			return err
		}
		ps = append(ps, p)
	}
	m, err := seccomp.Merge(ps...)
	if err != nil {
		return err
	}
	return writeOutput(o.Out, o.Output, m.WriteJSON)
}

// ---- record

// SeccompRecordOptions are the inputs of `seccomp record`.
type SeccompRecordOptions struct {
	Out       io.Writer
	ErrOut    io.Writer
	Image     string
	Dir       string
	Strace    string
	Runtime   string // podman's OCI runtime; also picks the runtime set (default runc)
	Command   []string
	Profile   profileFlags
	Container containerFlags
	Record    func(context.Context, *seccomp.Podman, seccomp.RecordOptions) (*seccomp.Recording, error)
}

// NewCmdSeccompRecord builds `seccomp record`.
func NewCmdSeccompRecord(runF func(context.Context, *SeccompRecordOptions) error) *cobra.Command {
	o := &SeccompRecordOptions{Record: seccomp.Record}
	cmd := &cobra.Command{
		Use:   "record [flags] -o DIR -- CMD...",
		Short: "Run a workload under strace and write its log and profile",
		Long: `Run a workload under strace -f and write DIR/strace.log and DIR/profile.json.

Without --image the workload runs on this host (strace from PATH, or --strace). With --image
it runs in a podman container with --cap-add SYS_PTRACE and no seccomp filter while tracing,
under the image's own strace (or --strace, a static strace mounted into the container).
Nothing is written outside DIR, and existing files there are never overwritten. A workload that
exits non-zero leaves its log but no profile.`,
		Example: `  imgharden seccomp record -o out -- ls -la /etc
  imgharden seccomp record --image localhost/app:1 --network none -o out -- /app/server --once`,
		Args: UsageArgs(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Out, o.ErrOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			if cmd.ArgsLenAtDash() < 0 && len(args) > 0 {
				return Usagef("put the command after --: record [flags] -o DIR -- CMD...")
			}
			if len(args) == 0 {
				return Usagef("no command to record: record [flags] -o DIR -- CMD...")
			}
			if o.Dir == "" {
				return Usagef("record needs -o DIR for the log and the profile")
			}
			o.Command = args
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return seccompRecordRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.Image, "image", "", "run the workload in a podman container of IMAGE (default: on this host)")
	cmd.Flags().StringVarP(&o.Dir, "output", "o", "", "directory for strace.log and profile.json (created if missing)")
	cmd.Flags().StringVar(&o.Strace, "strace", "", "strace executable to use (mounted into the container with --image; must be static there)")
	cmd.Flags().StringVar(&o.Runtime, "runtime", "", "OCI runtime: podman --runtime, and whose calls the profile allows (runc, crun; default runc)")
	o.Profile.AddFlags(cmd)
	o.Container.AddFlags(cmd)
	return cmd
}

func seccompRecordRun(ctx context.Context, o *SeccompRecordOptions) error {
	runtime := o.Runtime
	if runtime == "" {
		runtime = "runc"
	}
	opts, err := o.Profile.options(runtime)
	if err != nil {
		return err
	}
	rec, err := o.Record(ctx, &seccomp.Podman{Runtime: o.Runtime}, seccomp.RecordOptions{
		Dir: o.Dir, Command: o.Command, Image: o.Image, Strace: o.Strace, Generate: opts, Output: o.ErrOut,
		Run: o.Container.spec("", nil, o.Profile.NoNewPrivileges),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "log:     %s\nprofile: %s (%d syscalls traced)\n", rec.LogPath, rec.ProfilePath, len(rec.Trace.Syscalls.AllNames()))
	return nil
}

// ---- verify

// SeccompVerifyOptions are the inputs of `seccomp verify`.
type SeccompVerifyOptions struct {
	Out        io.Writer
	Profile    string
	Image      string
	Runs       int
	ExpectDeny []string
	Runtime    string
	NNP        bool
	Command    []string
	Container  containerFlags
	Verify     func(context.Context, *seccomp.Podman, seccomp.VerifyOptions) (*seccomp.VerifyReport, error)
}

// NewCmdSeccompVerify builds `seccomp verify`.
func NewCmdSeccompVerify(runF func(context.Context, *SeccompVerifyOptions) error) *cobra.Command {
	o := &SeccompVerifyOptions{Runs: 10, Verify: seccomp.Verify}
	cmd := &cobra.Command{
		Use:   "verify --profile P --image IMG [flags] [-- CMD...]",
		Short: "Run a workload under podman with a profile and report each run",
		Long: `Run the workload under podman with --security-opt seccomp=P, --runs times; a run passes
when the container exits 0. Each --expect-deny SYSCALL runs a tiny probe (mounted into the
container as its entrypoint) that makes the call, and checks the loaded filter refuses it.
Exits 1 when a run fails or a call is not refused.`,
		Example: `  imgharden seccomp verify --profile out/profile.json --image localhost/app:1 --runs 10 --expect-deny mount -- ls /`,
		Args:    UsageArgs(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Out = cmd.OutOrStdout()
			if cmd.ArgsLenAtDash() < 0 && len(args) > 0 {
				return Usagef("put the command after --: verify [flags] -- CMD...")
			}
			if o.Profile == "" || o.Image == "" {
				return Usagef("verify needs --profile and --image")
			}
			if o.Runs < 1 {
				return Usagef("--runs %d: want at least 1", o.Runs)
			}
			for _, n := range o.ExpectDeny {
				if _, ok := seccomp.Number(seccomp.X8664, n); !ok {
					return Usagef("--expect-deny %s: not an x86_64 syscall name", n)
				}
			}
			o.Command = args
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return seccompVerifyRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.Profile, "profile", "", "the seccomp profile to verify")
	cmd.Flags().StringVar(&o.Image, "image", "", "the workload's image")
	cmd.Flags().IntVar(&o.Runs, "runs", o.Runs, "how many times to run the workload")
	cmd.Flags().StringArrayVar(&o.ExpectDeny, "expect-deny", nil, "check that the profile refuses SYSCALL (repeatable)")
	cmd.Flags().StringVar(&o.Runtime, "runtime", "", "podman --runtime (default podman's configured runtime)")
	cmd.Flags().BoolVar(&o.NNP, "no-new-privileges", false, "run with --security-opt no-new-privileges")
	o.Container.AddFlags(cmd)
	return cmd
}

func seccompVerifyRun(ctx context.Context, o *SeccompVerifyOptions) error {
	if _, err := readProfileFile(o.Profile); err != nil {
		return err
	}
	total := o.Runs
	rep, err := o.Verify(ctx, &seccomp.Podman{Runtime: o.Runtime}, seccomp.VerifyOptions{
		Profile: o.Profile, Runs: o.Runs, ExpectDeny: o.ExpectDeny,
		Run: o.Container.spec(o.Image, o.Command, o.NNP),
		Progress: func(v seccomp.VerifyRun) {
			switch {
			case v.Kind == "run" && v.OK:
				fmt.Fprintf(o.Out, "run %d/%d: ok (%.2fs)\n", v.N, total, v.Duration.Seconds())
			case v.Kind == "run":
				fmt.Fprintf(o.Out, "run %d/%d: FAIL exit %d: %s\n", v.N, total, v.ExitCode, v.Detail)
			case v.OK:
				fmt.Fprintf(o.Out, "deny %s: ok, %s\n", v.Syscall, v.Detail)
			default:
				fmt.Fprintf(o.Out, "deny %s: FAIL, %s\n", v.Syscall, v.Detail)
			}
		},
	})
	if err != nil {
		return err
	}
	okRuns, okDenies := 0, 0
	for _, r := range rep.Runs {
		if r.OK {
			okRuns++
		}
	}
	for _, r := range rep.Denies {
		if r.OK {
			okDenies++
		}
	}
	fmt.Fprintf(o.Out, "verify: %d/%d runs passed", okRuns, len(rep.Runs))
	if len(rep.Denies) > 0 {
		fmt.Fprintf(o.Out, ", %d/%d calls refused as expected", okDenies, len(rep.Denies))
	}
	fmt.Fprintln(o.Out)
	if !rep.Passed() {
		return &PolicyError{Err: fmt.Errorf("%w: %d of %d checks failed under %s", seccomp.ErrVerifyFailed,
			rep.Failed(), len(rep.Runs)+len(rep.Denies), o.Profile)}
	}
	return nil
}

// ---- diff

// SeccompDiffOptions are the inputs of `seccomp diff`.
type SeccompDiffOptions struct {
	Out     io.Writer
	Profile string
	Against string
	CapAdd  []string
	Format  string
}

// NewCmdSeccompDiff builds `seccomp diff`.
func NewCmdSeccompDiff(runF func(context.Context, *SeccompDiffOptions) error) *cobra.Command {
	o := &SeccompDiffOptions{Against: "docker-default", Format: "text"}
	cmd := &cobra.Command{
		Use:   "diff PROFILE [--against docker-default|OTHER.json]",
		Short: "Show what a profile allows beyond Docker's default profile and what it removes",
		Long: `Compare a profile with Docker's default profile (` + seccomp.DockerDefaultVersion + `,
evaluated for amd64 with Docker's default capabilities plus --cap-add) or with another profile,
over the syscalls of the profile's architectures:

  added      allowed by the profile, refused by the reference
  loosened   allowed outright by the profile, only for some arguments by the reference
  tightened  allowed only for some arguments by the profile, outright by the reference
  removed    allowed by the reference, refused by the profile`,
		Example: `  imgharden seccomp diff out/profile.json
  imgharden seccomp diff app.json --against other.json -f json`,
		Args: UsageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Out, o.Profile = cmd.OutOrStdout(), args[0]
			if o.Format != "text" && o.Format != "json" {
				return Usagef("--format %q: want text or json", o.Format)
			}
			for i, c := range o.CapAdd {
				c = strings.ToUpper(c)
				if !strings.HasPrefix(c, "CAP_") {
					c = "CAP_" + c
				}
				o.CapAdd[i] = c
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return seccompDiffRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.Against, "against", o.Against, "docker-default, or a profile file")
	cmd.Flags().StringArrayVar(&o.CapAdd, "cap-add", nil, "capabilities added to Docker's defaults when evaluating rules (repeatable)")
	cmd.Flags().StringVarP(&o.Format, "format", "f", o.Format, "text or json")
	return cmd
}

func seccompDiffRun(_ context.Context, o *SeccompDiffOptions) error {
	p, err := readProfileFile(o.Profile)
	if err != nil {
		return err
	}
	ref, refName := seccomp.DockerDefault(), "docker-default ("+seccomp.DockerDefaultVersion+")"
	if o.Against != "docker-default" {
		if ref, err = readProfileFile(o.Against); err != nil {
			return err
		}
		refName = o.Against
	}
	env := seccomp.DefaultEnv()
	env.Caps = append(append([]string(nil), env.Caps...), o.CapAdd...)
	d := seccomp.Compare(p, ref, refName, env)
	if o.Format == "json" {
		enc := json.NewEncoder(o.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	}
	w := o.Out
	fmt.Fprintf(w, "%s against %s, %s\n", o.Profile, refName, strings.Join(d.ABIs, "+"))
	section := func(title string, names []string) {
		fmt.Fprintf(w, "\n%s: %d\n", title, len(names))
		if len(names) > 0 {
			fmt.Fprintf(w, "  %s\n", wrapWords(names, 96))
		}
	}
	section("added (the profile allows, the reference refuses)", d.Added)
	section("loosened (allowed outright, the reference checks arguments)", d.Loosened)
	section("tightened (allowed for some arguments, the reference allows outright)", d.Tightened)
	section("removed (the reference allows, the profile refuses)", d.Removed)
	fmt.Fprintf(w, "\nallowed by both: %d\n", d.Kept)
	return nil
}

func wrapWords(words []string, width int) string {
	var b strings.Builder
	col := 0
	for i, w := range words {
		if i > 0 {
			if col+1+len(w) > width {
				b.WriteString("\n  ")
				col = 0
			} else {
				b.WriteByte(' ')
				col++
			}
		}
		b.WriteString(w)
		col += len(w)
	}
	return b.String()
}
