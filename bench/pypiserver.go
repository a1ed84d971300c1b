package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/fakepypi/fakepypi/pypitest"
)

// runPypiserver measures pypiserver, the baseline issue 14 was filed
// against, on the same machine in the same run: the big upload and
// /simple/<p>/ at 1,000 releases. r.pypiserver is a source tree of it
// (the directory holding the pypiserver package); it runs under Debian's
// python3, which has what pypiserver needs, with no authentication.
func runPypiserver(ctx context.Context, r *runner) error {
	w, err := r.bigWheel()
	if err != nil {
		return err
	}
	pkgs := r.path("pypiserver-packages")
	if err := os.MkdirAll(pkgs, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(pkgs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.CommandContext(ctx, python(), "-m", "pypiserver", "run", "-i", "127.0.0.1", "-p", fmt.Sprint(port),
		"-a", ".", "-P", ".", "--welcome", filepath.Join(r.pypiserver, "pypiserver", "welcome.html"), pkgs)
	cmd.Dir = r.pypiserver
	stderr := &tailBuffer{}
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	ready := false
	for range 200 {
		if _, err := get(base+"/simple/", ""); err == nil {
			ready = true
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !ready {
		return fmt.Errorf("pypiserver did not start: %s", stderr)
	}

	f, err := os.Open(w.path)
	if err != nil {
		return err
	}
	req := uploadRequest(base+"/", "", w.name, w.version, w.filename(), w.sha256, f, w.size)
	req.Header.Del("Authorization")
	t := time.Now()
	err = upload(client, req)
	took := time.Since(t)
	f.Close()
	if err != nil {
		return fmt.Errorf("pypiserver %w", err)
	}
	r.record("pypiserver.upload", float64(w.size)/1e6/took.Seconds())
	os.Remove(filepath.Join(pkgs, w.filename()))

	// 1,000 releases of "many", as files in its directory.
	for i := range 1000 {
		v := fmt.Sprintf("%d.%d.%d", i/100, (i/10)%10, i%10)
		whl, _ := smallWheel("many", v)
		if err := os.WriteFile(filepath.Join(pkgs, pypitest.WheelFilename("many", v)), whl, 0o644); err != nil {
			return err
		}
	}
	var lat []float64
	for i := range 105 {
		d, err := get(base+"/simple/many/", "")
		if err != nil {
			return err
		}
		if i >= 5 {
			lat = append(lat, ms(d))
		}
	}
	r.record("pypiserver.simple", median(lat))
	return nil
}
