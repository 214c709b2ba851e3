// Package tuningtest runs commands against the real kernel's /proc/sys
// without touching the host, for tests of package tuning and of perf tune.
//
// Sandbox starts a command in a new user namespace and a new network
// namespace, as an unprivileged user (uid and gid 65534 outside the
// namespace, 0 inside). The command owns the new network namespace, so it
// may write its per-namespace sysctls (net.ipv4.tcp_fin_timeout,
// net.core.somaxconn, ...), while the host's global sysctls stay read-only
// to it: the kernel refuses those writes with EACCES. Tests use it for the
// real-kernel round trip and for the not-permitted path.
package tuningtest
