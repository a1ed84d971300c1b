package controlplane

import (
	"flag"
	"os"
	"strings"
)

// Flags are the command-line settings of a Policy, shared by fakeindex,
// fakeindex up and fakeissuer so that all three spell them alike.
type Flags struct {
	token      string
	allowHosts hostList
	directOnly bool

	resolved  string
	generated bool
}

type hostList []string

func (l *hostList) String() string { return strings.Join(*l, ",") }
func (l *hostList) Set(v string) error {
	for _, h := range strings.Split(v, ",") {
		if h = strings.TrimSpace(h); h != "" {
			*l = append(*l, HostName(h))
		}
	}
	return nil
}

// RandomToken is the --control-token value that asks for a fresh random
// token (printed by the command, and put in `fakeindex up`'s env file).
const RandomToken = "random"

// AddFlags registers --control-token, --control-allow-host and
// --control-direct-only on fs.
func AddFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.StringVar(&f.token, "control-token", "", "require this `token` on the /_fake/ control plane (Authorization: Bearer, or a browser cookie from ?token=); "+
		"\""+RandomToken+"\" generates one; default $"+EnvToken+", else none")
	fs.Var(&f.allowHosts, "control-allow-host", "also accept this Host `name` on /_fake/ besides loopback and the emulated hostnames, e.g. a compose service name; * accepts any (repeatable)")
	fs.BoolVar(&f.directOnly, "control-direct-only", false, "do not serve /_fake/ under the emulated hostnames (pypi.org, ...) through the proxy: only on loopback and --control-allow-host names")
	return f
}

// Policy returns the policy the flags describe; the token falls back to
// $FAKEPYPI_CONTROL_TOKEN, and "random" becomes a fresh token, the same
// one on every call.
func (f *Flags) Policy() Policy {
	if f.resolved == "" {
		f.resolved = f.token
		if f.resolved == "" {
			f.resolved = os.Getenv(EnvToken)
		}
		if f.resolved == RandomToken {
			f.resolved, f.generated = NewToken(), true
		}
	}
	return Policy{Token: f.resolved, AllowHosts: append([]string(nil), f.allowHosts...), DirectOnly: f.directOnly}
}

// Generated reports whether Policy made the token up ("random"): the
// command must then tell its user what it is.
func (f *Flags) Generated() bool { return f.generated }
