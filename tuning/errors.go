package tuning

import "errors"

// Sentinel errors, tested with errors.Is.
var (
	// ErrInvalidKey marks a key that is not a valid sysctl name, rlimit or
	// sysfs path, or whose path escapes the root.
	ErrInvalidKey = errors.New("invalid key")
	// ErrInvalidValue marks a wanted value that cannot be parsed.
	ErrInvalidValue = errors.New("invalid value")
	// ErrInvalidProfile marks a malformed profile.
	ErrInvalidProfile = errors.New("invalid profile")
	// ErrUnknownProfile marks a name that is neither a built-in profile nor
	// an existing file.
	ErrUnknownProfile = errors.New("unknown profile")
	// ErrNotPermitted marks keys that this process may not write.
	ErrNotPermitted = errors.New("not permitted")
	// ErrNoState marks a revert with no state file to revert from.
	ErrNoState = errors.New("no saved state")
)
