//go:build tools

// This file pins the project's dependencies in go.mod while the packages
// that use them are being written. It is removed once every one is imported.
package main

import (
	_ "github.com/HdrHistogram/hdrhistogram-go"
	_ "github.com/cloudflare/tableflip"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/rogpeppe/go-internal/testscript"
	_ "github.com/shirou/gopsutil/v4/process"
	_ "github.com/spf13/cobra"
	_ "github.com/tsenart/vegeta/v12/lib"
	_ "go.etcd.io/bbolt"
	_ "go.yaml.in/yaml/v3"
)
