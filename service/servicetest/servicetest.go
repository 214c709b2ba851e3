package servicetest

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/perf-tools/perf/service"
)

// Start opens a store in t.TempDir(), seeds items 0..items-1 with
// documents of service.DefaultValueSize bytes, serves the public and admin
// handlers on 127.0.0.1 port 0, and shuts them down in t.Cleanup. It returns
// the base URLs, e.g. "http://127.0.0.1:41234"; items are at
// publicURL + "/v1/items/{id}". The server is ready when Start returns.
func Start(t testing.TB, items int) (publicURL, adminURL string) {
	t.Helper()
	srv := StartServer(t, items, service.DefaultValueSize)
	return srv.PublicURL, srv.AdminURL
}

// Server is a running test service.
type Server struct {
	PublicURL string
	AdminURL  string
	Store     *service.Store
	Server    *service.Server
}

// StartServer is Start with a chosen value size, returning the store and
// server as well, for tests that look inside.
func StartServer(t testing.TB, items, valueSize int) *Server {
	t.Helper()
	if items < 0 {
		t.Fatalf("servicetest: items %d: want 0 or more", items)
	}
	st, err := service.Open(filepath.Join(t.TempDir(), service.StoreFile), service.StoreOptions{})
	if err != nil {
		t.Fatalf("servicetest: %v", err)
	}
	if err := st.Seed(context.Background(), uint64(items), valueSize, nil); err != nil {
		st.Close()
		t.Fatalf("servicetest: %v", err)
	}
	pub, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		t.Fatalf("servicetest: listen: %v", err)
	}
	adm, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		pub.Close()
		st.Close()
		t.Fatalf("servicetest: listen: %v", err)
	}
	srv := service.New(st, service.Options{
		ShutdownGrace: 5 * time.Second,
		ErrorLog:      log.New(io.Discard, "", 0),
	})
	srv.SetReady(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, pub, adm) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("servicetest: run: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("servicetest: %v", err)
		}
	})
	return &Server{
		PublicURL: "http://" + pub.Addr().String(),
		AdminURL:  "http://" + adm.Addr().String(),
		Store:     st,
		Server:    srv,
	}
}
