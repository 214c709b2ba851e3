// Package http1 is the HTTP/1.x wire code that perf's own server and perf's
// own client share: the server is the public listener of perf serve
// (package service), the client is perf attack's (package harness). Both
// exist because net/http's work per request costs about as much as the
// work being measured; this package is their common, measured part.
//
// It holds:
//
//   - request.go: RequestReader, which parses request heads for a server
//     that reads no request bodies, and RequestError, a request to refuse
//     with its status code;
//   - response.go: ResponseReader, which parses responses and discards
//     their bodies (classifying one header's value in place, when asked:
//     ResponseReader.Capture), the errors of malformed responses, and
//     Stage, how far a failed exchange had got;
//   - deadline.go: Deadline, a connection deadline moved only when it has
//     drifted by a tenth of its length;
//   - line.go: the one line reader both parsers use, and the small pieces
//     of the grammar they share (case-insensitive names, Connection
//     tokens, Content-Length).
//
// Both parsers read from a *bufio.Reader in place and, once a connection's
// first message has sized their small buffers, allocate nothing per
// message; only a line longer than the reader's buffer is copied, into a
// buffer the reader keeps. These are hot paths,
// measured by BenchmarkReadHead and BenchmarkReadResponse here and by the
// service's and the harness's own benchmarks: no interface sits in the
// per-line or per-byte paths.
//
// The package parses and moves deadlines; it does not listen, dial, route,
// answer, retry, time or count. It must not know about the service (its
// routes, its store, its metrics, the bodies of its answers) nor about the
// load generator (rate plans, workers, failure kinds, run files), and it
// imports neither; so the service never depends on the generator, nor the
// generator on the service. It never logs.
package http1
