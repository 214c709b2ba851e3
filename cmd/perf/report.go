package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder: replaced by the real command.
func newReportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "report",
		Short: "report (not yet built)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("report: not yet built") },
	}
}
