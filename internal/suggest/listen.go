package suggest

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
)

// Listen explains an error of net.Listen for the person who chose the
// address with flagName: what is wrong and what to do. Other errors are
// returned unchanged.
func Listen(err error, flagName string) error {
	if err == nil {
		return nil
	}
	var op *net.OpError
	addr := ""
	if errors.As(err, &op) && op.Addr != nil {
		addr = op.Addr.String()
	}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("%s %s: the address is in use (another fakeindex or fakeissuer still running?): stop that process, or choose another port with %s HOST:PORT (port 0 picks a free one)", flagName, addr, flagName)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("%s %s: permission denied (ports below 1024 need privileges): choose a port above 1023 with %s HOST:PORT", flagName, addr, flagName)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("%s %s: no network interface of this machine has that address: use 127.0.0.1:PORT (or 0.0.0.0:PORT in a container)", flagName, addr)
	case strings.Contains(err.Error(), "missing port in address"), strings.Contains(err.Error(), "too many colons"):
		return fmt.Errorf("%s: %v: want HOST:PORT, e.g. 127.0.0.1:8080 ([::1]:8080 for IPv6)", flagName, err)
	}
	return err
}
