//go:build !unix

package conform

import "os/exec"

// setProcessGroup: without Unix process groups only the uploader itself
// can be killed.
func setProcessGroup(cmd *exec.Cmd) {}

func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		cmd.Process.Kill()
	}
}
