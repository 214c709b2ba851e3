package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder: replaced by the real command.
func newCompareCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "compare",
		Short: "compare (not yet built)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("compare: not yet built") },
	}
}
