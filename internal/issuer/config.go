package issuer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strings"

	"github.com/fakepypi/fakepypi/internal/suggest"
	"go.yaml.in/yaml/v3"
)

// LoadConfig reads a YAML configuration file (format in
// docs/fakeissuer.md). Errors name the file and line: "f.yaml:7: ...".
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return ParseConfig(path, data)
}

// ParseConfig parses YAML configuration; name labels errors.
func ParseConfig(name string, data []byte) (Config, error) {
	var cfg Config
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Config{}, yamlError(name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, yamlError(name, err)
	}
	if err := cfg.Validate(); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			if line := lineOf(&root, fe.Path); line > 0 {
				return Config{}, fmt.Errorf("%s:%d: %v", name, line, err)
			}
		}
		return Config{}, fmt.Errorf("%s: %v", name, err)
	}
	return cfg, nil
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlError rewrites yaml.v3's "line N: msg" into "name:N: msg".
func yamlError(name string, err error) error {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for i, m := range msgs {
		m = suggest.YAMLTypeError(suggest.YAMLUnknownField(m, reflect.TypeOf(Config{})))
		if sub := yamlLine.FindStringSubmatch(strings.TrimSpace(m)); sub != nil {
			msgs[i] = name + ":" + sub[1] + ": " + sub[2]
		} else {
			msgs[i] = name + ": " + m
		}
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// lineOf finds the line of a dotted key path in a YAML document.
func lineOf(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, key := range strings.Split(path, ".") {
		if n.Kind != yaml.MappingNode {
			return line
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				line, n, found = n.Content[i].Line, n.Content[i+1], true
				break
			}
		}
		if !found {
			return line
		}
	}
	return line
}

// UnmarshalYAML parses a fault name in a YAML file, with its line on error.
func (f *Fault) UnmarshalYAML(value *yaml.Node) error {
	p, err := ParseFault(value.Value)
	if err != nil {
		return fmt.Errorf("line %d: %v", value.Line, err)
	}
	*f = p
	return nil
}
