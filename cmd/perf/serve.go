package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder: replaced by the real command.
func newServeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "serve (not yet built)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("serve: not yet built") },
	}
}
