package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder: replaced by the real command.
func newTuneCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "tune",
		Short: "tune (not yet built)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("tune: not yet built") },
	}
}
