package fakepypi

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// hostOverride is testcontainers' variable for the address where the
// engine publishes ports.
const hostOverride = "TESTCONTAINERS_HOST_OVERRIDE"

// inContainer reports whether this process runs in a container, by the
// files testcontainers itself looks at (/.dockerenv) and Podman's.
func inContainer() bool {
	for _, f := range []string{"/.dockerenv", "/run/.containerenv"} {
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	return false
}

// detectHost handles the container-in-container case before testcontainers
// picks an address. Inside a container, with the engine on a unix socket,
// testcontainers reaches published ports through the default gateway: right
// when the socket is the host's, mounted in, but wrong when the engine runs
// in this very container (Docker in Docker, or a CI sandbox), where the
// ports are on localhost and every wait times out. The engine reporting
// this machine's hostname as its own name tells the second case; then
// TESTCONTAINERS_HOST_OVERRIDE=localhost is set for this process (unless
// the user set it) and the returned note says so.
func detectHost(ctx context.Context) string {
	if _, set := os.LookupEnv(hostOverride); set || !inContainer() {
		return ""
	}
	if h := os.Getenv("DOCKER_HOST"); h != "" && !strings.HasPrefix(h, "unix://") {
		return ""
	}
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		return ""
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	info, err := p.Client().Info(ctx, client.InfoOptions{})
	hostname, herr := os.Hostname()
	if err != nil || herr != nil || info.Info.Name == "" || info.Info.Name != hostname {
		return ""
	}
	os.Setenv(hostOverride, "localhost")
	return fmt.Sprintf("the Docker engine runs in this container (its name %q is this hostname), so published ports are on localhost: %s=localhost was set", hostname, hostOverride)
}

// hostHint explains a failed start in the container-in-container case:
// which variable to set. "" when it does not apply.
func hostHint(note string) string {
	if note != "" {
		return "\n(" + note + ")"
	}
	if v, set := os.LookupEnv(hostOverride); set {
		return fmt.Sprintf("\n(%s=%s: is that the address where the Docker engine publishes ports?)", hostOverride, v)
	}
	if inContainer() {
		return "\n(this process runs inside a container, so testcontainers reaches the container's published ports through the default gateway; " +
			"if the Docker engine shares this container's network, as with Docker in Docker or a local unix socket, set " + hostOverride + "=localhost)"
	}
	return ""
}
