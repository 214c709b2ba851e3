//go:build ignore

// gohello is the bar perf serve is held to: the plainest net/http
// server, answering every request with "hello" and nothing else to do.
// scripts/compare-peers.sh builds it (go build scripts/gohello.go; the
// ignore tag keeps it out of ./...) and runs it as "gohello ADDR".
package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gohello HOST:PORT")
		os.Exit(2)
	}
	body := []byte("hello")
	err := http.ListenAndServe(os.Args[1], http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write(body)
	}))
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
