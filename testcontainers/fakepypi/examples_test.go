package fakepypi_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/exec"

	"github.com/testcontainers/testcontainers-go"

	"github.com/fakepypi/fakepypi/testcontainers/fakepypi"
)

// A publish job in a Go test: start the container, then run the real
// client with the job environment. Not run by go test (no Output line):
// it needs Docker and twine.
func ExampleRun() {
	ctx := context.Background()

	// runFakepypiContainer {
	ctr, err := fakepypi.Run(ctx, "fakepypi:dev",
		fakepypi.WithPublisher(fakepypi.GitHubPublisher("octo-org/octo-repo", "release.yml", "mypkg")),
	)
	defer func() {
		if err := testcontainers.TerminateContainer(ctr); err != nil {
			log.Printf("terminate: %v", err)
		}
	}()
	if err != nil {
		log.Printf("run: %v", err)
		return
	}
	// }

	env, err := ctr.Environ(ctx, os.Environ())
	if err != nil {
		log.Printf("env: %v", err)
		return
	}
	// twine < 6.1 has no trusted publishing: mint first (see
	// docs/containers.md), or use uv publish --trusted-publishing always.
	cmd := exec.Command("uv", "publish", "--trusted-publishing", "always", "dist/mypkg-1.0-py3-none-any.whl")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	fmt.Println(string(out), err)
}
