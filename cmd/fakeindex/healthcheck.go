package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// defaultHealthURL is the index's health route on the port the container
// image's default command (`fakeindex up`) gives the index.
const defaultHealthURL = "http://127.0.0.1:8080/_fake/health"

// runHealthcheck is `fakeindex healthcheck`: GET a URL and exit 0 on a 2xx
// answer. It exists for container health checks: the image is FROM
// scratch, so there is no shell, curl or wget to run one with, and
// HEALTHCHECK must exec something already in the image.
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, url, timeout := newHealthcheckFlags()
	if err := parseFlags(fs, healthcheckUsage, "", args, stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("healthcheck: unexpected argument %q", fs.Arg(0))
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %v", err)
	}
	// Never through HTTPS_PROXY: inside a harnessed container that may be
	// the proxy itself, and the check is about this container's listener.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %v", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("healthcheck: %s: %s", *url, resp.Status)
	}
	fmt.Fprintf(stdout, "healthy: %s %s\n", *url, resp.Status)
	return nil
}

const healthcheckUsage = `Usage: fakeindex healthcheck [--url URL]

Exits 0 when URL answers 2xx, 1 otherwise: a health check for FROM-scratch containers.

Flags:
`

// newHealthcheckFlags is apart from runHealthcheck so that a test can walk
// the flags.
func newHealthcheckFlags() (fs *flag.FlagSet, url *string, timeout *time.Duration) {
	fs = flag.NewFlagSet("fakeindex healthcheck", flag.ContinueOnError)
	url = fs.String("url", defaultHealthURL, "`URL` to GET; any 2xx status is healthy (fakeissuer: /.well-known/openid-configuration; fakeindex proxy: /_fake/health)")
	timeout = fs.Duration("timeout", 2*time.Second, "give up after this `duration`")
	return fs, url, timeout
}
