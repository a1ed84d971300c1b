package suggest

import (
	"errors"
	"flag"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
)

func TestNearest(t *testing.T) {
	keys := []string{"repository", "environment", "workflow_file", "ref", "owner"}
	for _, c := range []struct{ word, want string }{
		{"enviroment", "environment"},
		{"enviornment", "environment"},
		{"Environment", "environment"},
		{"workflow-file", "workflow_file"},
		{"repo", ""}, // too far to be a typo
		{"reff", "ref"},
		{"zzz", ""},
	} {
		got, ok := Nearest(c.word, keys)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("Nearest(%q) = %q, %v; want %q", c.word, got, ok, c.want)
		}
	}
}

func TestFlagError(t *testing.T) {
	fs := flag.NewFlagSet("fakeindex up", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.String("environment", "", "")
	err := FlagError(fs, fs.Parse([]string{"--enviroment", "pypi"}))
	if err == nil || err.Error() != "unknown flag --enviroment (did you mean --environment?) (see fakeindex up --help)" {
		t.Fatalf("%v", err)
	}
	if !errors.Is(FlagError(fs, flag.ErrHelp), flag.ErrHelp) || FlagError(fs, nil) != nil {
		t.Fatal("help or nil changed")
	}
}

type yamlInner struct {
	Environment string `yaml:"environment"`
	Ref         string `yaml:"ref"`
}

type yamlRoot struct {
	Context struct {
		GitHub yamlInner `yaml:"github"`
	} `yaml:"context"`
}

func TestYAMLUnknownField(t *testing.T) {
	got := YAMLUnknownField("cfg.yaml:3: field enviroment not found in type suggest.yamlInner", reflect.TypeOf(yamlRoot{}))
	if got != `cfg.yaml:3: unknown key "enviroment" (did you mean environment?)` {
		t.Errorf("got %q", got)
	}
	got = YAMLUnknownField("cfg.yaml:3: field zzz not found in type suggest.yamlInner", reflect.TypeOf(yamlRoot{}))
	if got != `cfg.yaml:3: unknown key "zzz" (known: environment, ref)` {
		t.Errorf("got %q", got)
	}
	if got := YAMLUnknownField("other", reflect.TypeOf(yamlRoot{})); got != "other" {
		t.Errorf("got %q", got)
	}
}

func TestListen(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = net.Listen("tcp", ln.Addr().String())
	got := Listen(err, "--addr").Error()
	if !strings.Contains(got, "--addr "+ln.Addr().String()+": the address is in use") || !strings.Contains(got, "port 0 picks a free one") {
		t.Errorf("%s", got)
	}
	_, err = net.Listen("tcp", "127.0.0.1")
	if got := Listen(err, "--addr-index").Error(); !strings.Contains(got, "want HOST:PORT") {
		t.Errorf("%s", got)
	}
}

func TestYAMLTypeError(t *testing.T) {
	for in, want := range map[string]string{
		"c.yaml:1: cannot unmarshal !!str `forever` into time.Duration": "c.yaml:1: `forever` is not a duration (like 5m, 300s or 1h30m)",
		"line 3: cannot unmarshal !!str `big` into int64":               "line 3: `big` is not a whole number",
		"line 4: cannot unmarshal !!int `3` into []indexconfig.User":    "line 4: `3` is not a list (lines starting with \"- \", or [a, b])",
		"c.yaml:3: cannot unmarshal !!str `maybe` into bool":            "c.yaml:3: `maybe` is not true or false",
		"line 1: cannot unmarshal !!map into []indexconfig.User":        "line 1: a mapping is not a list (lines starting with \"- \", or [a, b])",
		"line 1: cannot unmarshal !!seq into string":                    "line 1: a list is not a string",
		"other": "other",
	} {
		if got := YAMLTypeError(in); got != want {
			t.Errorf("%q:\n got %q\nwant %q", in, got, want)
		}
	}
}
