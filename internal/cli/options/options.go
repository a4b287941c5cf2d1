// Package options holds flag structs shared by several imgharden commands. Each struct adds
// its flags with AddFlags and turns them into library options.
package options

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/imgharden/imgharden/pkg/source"
)

// RegistryFlags are the flags of every command that reads or writes images.
type RegistryFlags struct {
	Platform string
	Insecure bool
}

// AddFlags registers --platform and --insecure.
func (f *RegistryFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.Platform, "platform", "", "platform to select in multi-platform images, os/arch[/variant] (default linux/<host arch>)")
	cmd.Flags().BoolVar(&f.Insecure, "insecure", false, "allow plain-HTTP registries that are not on the loopback interface")
}

// SourceOptions converts the flags. A malformed platform is an error the caller reports as
// a usage error.
func (f *RegistryFlags) SourceOptions() ([]source.Option, error) {
	opts := []source.Option{source.WithInsecure(f.Insecure)}
	if f.Platform != "" {
		p, err := source.ParsePlatform(f.Platform)
		if err != nil {
			return nil, err
		}
		opts = append(opts, source.WithPlatform(p))
	}
	return opts, nil
}

// ApplyEnv fills every flag of cmd the user did not set from IMGHARDEN_<FLAG> environment
// variables (--fail-on ← IMGHARDEN_FAIL_ON), so precedence is flags > environment > config
// file > defaults. A bad value names the variable.
func ApplyEnv(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		key := "IMGHARDEN_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, ok := os.LookupEnv(key)
		if !ok {
			return
		}
		if serr := cmd.Flags().Set(f.Name, v); serr != nil {
			err = fmt.Errorf("%s=%q: %w", key, v, serr)
		}
	})
	return err
}

// ParseSize reads a byte count with an optional binary suffix: 512, 64K, 8M, 1G (KiB/MiB/GiB
// spellings work too).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(strings.ToUpper(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	switch {
	case strings.HasSuffix(t, "K"):
		mult, t = 1<<10, strings.TrimSuffix(t, "K")
	case strings.HasSuffix(t, "M"):
		mult, t = 1<<20, strings.TrimSuffix(t, "M")
	case strings.HasSuffix(t, "G"):
		mult, t = 1<<30, strings.TrimSuffix(t, "G")
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("invalid size %q (want a positive number with an optional K, M or G suffix)", s)
	}
	return n * mult, nil
}
