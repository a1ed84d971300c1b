package forklift

import (
	"testing"

	"github.com/fakepypi/fakepypi/internal/forklift/pep440"
)

func TestValidateFilename(t *testing.T) {
	cases := []struct{ filename, filetype, want string }{
		{"foo\x01-1.0.tar.gz", "sdist", "Cannot upload a file with non-printable characters (ordinals 0-31) or the DEL character (ordinal 127) in the name."},
		{"foo\x7f-1.0.tar.gz", "sdist", "Cannot upload a file with non-printable characters (ordinals 0-31) or the DEL character (ordinal 127) in the name."},
		{"a/foo-1.0.tar.gz", "sdist", `Cannot upload a file with '/' or '\' in the name.`},
		{`a\foo-1.0.tar.gz`, "sdist", `Cannot upload a file with '/' or '\' in the name.`},
		{"foo-1.0.whl", "sdist", "Invalid file extension: Extension .whl is invalid for filetype sdist. See https://www.python.org/dev/peps/pep-0527 for more information."},
		{"foo-1.0.tar.gz", "bdist_wheel", "Invalid file extension: Extension .tar.gz is invalid for filetype bdist_wheel. See https://www.python.org/dev/peps/pep-0527 for more information."},
		{"foo-1.0.WHL", "bdist_wheel", "Invalid file extension: Extension .WHL is invalid for filetype bdist_wheel. See https://www.python.org/dev/peps/pep-0527 for more information."},
		{"foo-1.0.egg", "sdist", "Invalid file extension: Use .tar.gz, .whl or .zip extension. See https://www.python.org/dev/peps/pep-0527 and https://peps.python.org/pep-0715/ for more information"},
		{"foo-1.0.tar.bz2", "sdist", "Invalid file extension: Use .tar.gz, .whl or .zip extension. See https://www.python.org/dev/peps/pep-0527 and https://peps.python.org/pep-0715/ for more information"},
		{".whl", "bdist_wheel", "Invalid file extension: Use .tar.gz, .whl or .zip extension. See https://www.python.org/dev/peps/pep-0527 and https://peps.python.org/pep-0715/ for more information"},
	}
	for _, c := range cases {
		e := ValidateFilename(c.filename, c.filetype)
		if e == nil || e.Message != c.want || e.Status != 400 {
			t.Errorf("ValidateFilename(%q, %s) = %v\nwant %q", c.filename, c.filetype, e, c.want)
		}
	}
	for _, ok := range [][2]string{{"foo-1.0.tar.gz", "sdist"}, {"foo-1.0.zip", "sdist"}, {"foo-1.0-py3-none-any.whl", "bdist_wheel"}} {
		if e := ValidateFilename(ok[0], ok[1]); e != nil {
			t.Errorf("ValidateFilename(%q) = %v", ok[0], e)
		}
	}
}

func meta(t *testing.T, name, version string) *Metadata {
	t.Helper()
	v, err := pep440.Parse(version)
	if err != nil {
		t.Fatal(err)
	}
	return &Metadata{Name: name, Version: v}
}

func TestCheckSdistFilename(t *testing.T) {
	cases := []struct{ filename, version, want string }{
		{"something.tar.gz", "1.0", "Invalid source distribution filename: something.tar.gz"},
		{"some_thing-1.0.post9.zip", "1.0.post9", "Filename 'some_thing-1.0.post9.zip' is invalid, should be 'some_thing-1.0.post9.tar.gz'."},
		{"some-thing-1.0.post9.tar.gz", "1.0.post9", "Filename 'some-thing-1.0.post9.tar.gz' is invalid, should be 'some_thing-1.0.post9.tar.gz'."},
		{"some-thing-1.0-9.tar.gz", "1.0.post9", "Filename 'some-thing-1.0-9.tar.gz' is invalid, should be 'some_thing-1.0.post9.tar.gz'."},
		{"some_thing-1.02.3.tar.gz", "1.2.3", "Filename 'some_thing-1.02.3.tar.gz' is invalid, should be 'some_thing-1.2.3.tar.gz'."},
		{"Some_Thing-1.0.tar.gz", "1.0", "Filename 'Some_Thing-1.0.tar.gz' is invalid, should be 'some_thing-1.0.tar.gz'."},
		{"other-1.0.tar.gz", "1.0", "Start filename for 'Some.Thing' with 'some_thing'."},
	}
	for _, c := range cases {
		e := CheckSdistFilename(c.filename, meta(t, "some_thing", c.version), "Some.Thing", "some-thing")
		if e == nil || e.Message != c.want {
			t.Errorf("CheckSdistFilename(%q) = %v\nwant %q", c.filename, e, c.want)
		}
	}
	if e := CheckSdistFilename("some_thing-1.0.post9.tar.gz", meta(t, "some_thing", "1.0.post9"), "some_thing", "some-thing"); e != nil {
		t.Errorf("valid sdist name refused: %v", e)
	}
}

func TestParseWheelFilename(t *testing.T) {
	cases := []struct{ filename, want string }{
		{"foo-1.0.whl", "Invalid wheel filename (wrong number of parts): 'foo-1.0'"},
		{"foo-1.0-q-py3-none-any.whl", "Invalid build number: q in 'foo-1.0-q-py3-none-any'"},
		{"foo-0.0.4test1-py3-none-any.whl", "Invalid wheel filename (invalid version): 'foo-0.0.4test1-py3-none-any'"},
		{"foo__bar-1.0-py3-none-any.whl", "Invalid project name: 'foo__bar-1.0-py3-none-any'"},
		{"foo+bar-1.0-py3-none-any.whl", "Invalid project name: 'foo+bar-1.0-py3-none-any'"},
	}
	for _, c := range cases {
		_, err := ParseWheelFilename(c.filename)
		if err == nil || err.Error() != c.want {
			t.Errorf("ParseWheelFilename(%q) = %v\nwant %q", c.filename, err, c.want)
		}
	}
	w, err := ParseWheelFilename("Foo.Bar-1.0-2b-cp312.cp313-abi3-manylinux_2_17_x86_64.MANYLINUX2014_X86_64.whl")
	if err != nil {
		t.Fatal(err)
	}
	if w.Name != "foo-bar" || w.Build != "2b" || len(w.Tags) != 4 || w.Platform[1] != "manylinux2014_x86_64" {
		t.Errorf("parsed %+v", w)
	}
}

func TestValidPlatformTag(t *testing.T) {
	valid := []string{"any", "win32", "win_arm64", "win_amd64", "manylinux1_x86_64", "manylinux2010_i686",
		"manylinux2014_ppc64le", "linux_armv7l", "manylinux_2_17_riscv64", "manylinux_2_28_ppc64", "musllinux_1_2_aarch64",
		"macosx_10_9_x86_64", "macosx_10_15_universal2", "macosx_11_0_arm64", "macosx_26_0_arm64", "macosx_14_0_fat3",
		"ios_13_0_arm64_iphoneos", "ios_13_0_x86_64_iphonesimulator", "android_21_arm64_v8a", "pyemscripten_2024_0_wasm32"}
	invalid := []string{"linux_x86_64", "linux_i686", "macosx_11_1_arm64", "macosx_16_0_arm64", "macosx_10_9_arm65",
		"musllinux_1_2_ppc64", "manylinux_2_17_sparc", "ios_13_0_arm64", "android_21_mips", "win_arm32", "cygwin"}
	for _, p := range valid {
		if !ValidPlatformTag(p) {
			t.Errorf("ValidPlatformTag(%q) = false", p)
		}
	}
	for _, p := range invalid {
		if ValidPlatformTag(p) {
			t.Errorf("ValidPlatformTag(%q) = true", p)
		}
	}
}

func TestCheckWheelFilename(t *testing.T) {
	cases := []struct{ filename, version, want string }{
		{"some_thing-1.0-py3-none-linux_x86_64.whl", "1.0", "Binary wheel 'some_thing-1.0-py3-none-linux_x86_64.whl' has an unsupported platform tag 'linux_x86_64'."},
		{"other-1.0-py3-none-any.whl", "1.0", "Start filename for 'Some.Thing' with 'some_thing'."},
		{"Some_Thing-1.0-py3-none-any.whl", "1.0", "Filename 'Some_Thing-1.0-py3-none-any.whl' should contain the normalized project name 'some_thing', not 'Some_Thing'."},
		{"some.thing-1.0-py3-none-any.whl", "1.0", "Filename 'some.thing-1.0-py3-none-any.whl' should contain the normalized project name 'some_thing', not 'some.thing'."},
		{"some_thing-2.0-py3-none-any.whl", "1.0", "Version in filename should be '1.0' not '2.0'."},
		{"some_thing-1.0-py3.whl", "1.0", "Invalid wheel filename (wrong number of parts): 'some_thing-1.0-py3'"},
	}
	for _, c := range cases {
		_, e := CheckWheelFilename(c.filename, meta(t, "some_thing", c.version), "Some.Thing", "some-thing")
		if e == nil || e.Message != c.want {
			t.Errorf("CheckWheelFilename(%q) = %v\nwant %q", c.filename, e, c.want)
		}
	}
	if _, e := CheckWheelFilename("some_thing-1.0.0-py3-none-any.whl", meta(t, "Some.Thing", "1.0"), "Some.Thing", "some-thing"); e != nil {
		t.Errorf("1.0 vs 1.0.0 must pass: %v", e)
	}
}
