// Package suggest turns a mistyped name into the one the user meant: the
// nearest flag for an unknown flag, the nearest key for an unknown
// configuration key. Both binaries use it so that a typo is answered with
// "did you mean ...?" rather than a list to read.
package suggest

import (
	"errors"
	"flag"
	"fmt"
	"reflect"
	"regexp"
	"strings"
)

// Nearest returns the candidate closest to word by edit distance
// (case-insensitive, "-" and "_" alike), if it is close enough to be a
// typo: at most a third of the word's length, and at least one edit.
func Nearest(word string, candidates []string) (string, bool) {
	w := fold(word)
	best, bestD := "", -1
	for _, c := range candidates {
		d := distance(w, fold(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(1, len(w)/3)
	if best == "" || bestD > limit {
		return "", false
	}
	return best, true
}

// DidYouMean is " (did you mean X?)" for the nearest candidate, or "".
func DidYouMean(word string, candidates []string) string {
	if c, ok := Nearest(word, candidates); ok && c != word {
		return fmt.Sprintf(" (did you mean %s?)", c)
	}
	return ""
}

func fold(s string) string { return strings.ReplaceAll(strings.ToLower(s), "_", "-") }

// distance is the Levenshtein distance, counting a swap of two adjacent
// letters as one edit (the commonest typo).
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// FlagNames lists fs's flags as typed on a command line ("--name").
func FlagNames(fs *flag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, "--"+f.Name) })
	return names
}

// FlagError rewrites an error of fs.Parse for a person: the flag
// package's wording, the nearest flag for an unknown one, and where the
// full list is ("see CMD --help"). It returns nil for nil and
// flag.ErrHelp unchanged.
func FlagError(fs *flag.FlagSet, err error) error {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		name = strings.TrimLeft(name, "-")
		msg = "unknown flag --" + name + DidYouMean("--"+name, FlagNames(fs))
	}
	return fmt.Errorf("%s (see %s --help)", msg, fs.Name())
}

var yamlUnknownField = regexp.MustCompile(`field (\S+) not found in type (\S+)`)

// YAMLUnknownField rewrites the message yaml.v3's strict decoding gives
// for an unknown key, "field X not found in type pkg.T", which names a Go
// type the user never wrote, as `unknown key "X" (did you mean Y?)`, Y
// being the nearest YAML key of T. T is looked up among the struct types
// reachable from root. Other messages are returned unchanged.
func YAMLUnknownField(msg string, root reflect.Type) string {
	m := yamlUnknownField.FindStringSubmatchIndex(msg)
	if m == nil {
		return msg
	}
	key, typeName := msg[m[2]:m[3]], msg[m[4]:m[5]]
	var keys []string
	if t := findType(root, typeName, map[reflect.Type]bool{}); t != nil {
		keys = yamlKeys(t)
	}
	repl := fmt.Sprintf("unknown key %q%s", key, DidYouMean(key, keys))
	if len(keys) > 0 && DidYouMean(key, keys) == "" {
		repl += " (known: " + strings.Join(keys, ", ") + ")"
	}
	return msg[:m[0]] + repl + msg[m[1]:]
}

func findType(t reflect.Type, name string, seen map[reflect.Type]bool) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return nil
	}
	seen[t] = true
	if t.String() == name {
		return t
	}
	for i := range t.NumField() {
		if found := findType(t.Field(i).Type, name, seen); found != nil {
			return found
		}
	}
	return nil
}

func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag != "" && tag != "-" {
			keys = append(keys, tag)
		}
	}
	return keys
}

var yamlTypeError = regexp.MustCompile("cannot unmarshal !!(\\w+)(?: `(.*)`)? into (\\S+)")

// YAMLTypeError rewrites yaml.v3's "cannot unmarshal !!str `x` into
// time.Duration", which names a Go type, as what the value should have
// been: "`x` is not a duration (like 5m or 300s)". Other messages are
// returned unchanged.
func YAMLTypeError(msg string) string {
	m := yamlTypeError.FindStringSubmatchIndex(msg)
	if m == nil {
		return msg
	}
	tag, goType := msg[m[2]:m[3]], msg[m[6]:m[7]]
	var value string
	if m[4] >= 0 {
		value = "`" + msg[m[4]:m[5]] + "`"
	} else {
		// A collection has no short value to quote: say what it is.
		value = map[string]string{"map": "a mapping", "seq": "a list"}[tag]
		if value == "" {
			value = "this " + tag
		}
	}
	want := "a " + strings.TrimPrefix(goType, "*")
	switch t := strings.TrimPrefix(goType, "*"); {
	case t == "time.Duration":
		want = "a duration (like 5m, 300s or 1h30m)"
	case t == "bool":
		want = "true or false"
	case strings.HasPrefix(t, "int") || strings.HasPrefix(t, "uint"):
		want = "a whole number"
	case strings.HasPrefix(t, "float"):
		want = "a number"
	case t == "string":
		want = "a string"
	case strings.HasPrefix(t, "[]"):
		want = "a list (lines starting with \"- \", or [a, b])"
	case strings.HasPrefix(t, "map["), strings.Contains(t, "."):
		want = "a mapping (key: value lines)"
	}
	return msg[:m[0]] + fmt.Sprintf("%s is not %s", value, want) + msg[m[1]:]
}
