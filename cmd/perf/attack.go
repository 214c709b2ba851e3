package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder: replaced by the real command.
func newAttackCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "attack",
		Short: "attack (not yet built)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("attack: not yet built") },
	}
}
