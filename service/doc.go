// Package service is the read service that perf serve runs: an embedded
// bbolt store of deterministic JSON items, the public HTTP handler that reads
// that store on every request, and the admin handler with health, readiness,
// Prometheus metrics and pprof.
//
// The public read path is the thing under test, so it is kept lean: the item
// id is parsed from the URL by hand, every request opens a bbolt read
// transaction (there is no response cache, on purpose), a document of up to
// 2 KiB is written from the memory map straight into net/http's response
// buffer inside that transaction, headers are set with shared pre-built
// values, and the Prometheus children are resolved once at start so a
// request costs a few atomic adds. BenchmarkRead measures this path.
//
// Typical use, as cmd/perf does it:
//
//	// listen on the public and admin addresses first, so a port conflict fails fast
//	st, err := service.Open(filepath.Join(dir, service.StoreFile), service.StoreOptions{})
//	srv := service.New(st, service.Options{})
//	go srv.Run(ctx, publicLn, adminLn) // /readyz answers 503 until SetReady(true)
//	err = st.Seed(ctx, 100000, 1024, progress)
//	srv.SetReady(true)
//
// Tests in other packages start a seeded server with servicetest.Start.
//
// The admin handler registers the net/http/pprof handlers on its own mux.
// Importing net/http/pprof also registers them on http.DefaultServeMux; this
// package never serves that mux, and the public handler routes by hand, so
// the public listener cannot expose pprof or metrics.
//
// Item ids are the decimal numbers 0..N-1 that perf attack --keys uniform:N
// draws; the store keys them as 8-byte big-endian integers, so the key space
// is sorted and compact. An item's document depends only on its id and the
// value size, so two stores seeded alike serve identical bytes.
//
// The package must not know about cobra, flags, environment variables or exit
// codes; that is cmd/perf's business. It never logs and never exits.
package service
