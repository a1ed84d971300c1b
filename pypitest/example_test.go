package pypitest_test

import (
	"fmt"
	"time"

	"github.com/fakepypi/fakepypi/pypitest"
)

// A release job's whole life: trusted publishing, upload, and what
// happens to the token 16 minutes later. In a test, pypitest.New(t, ...)
// does what Start and Close do here.
func Example() {
	h, err := pypitest.Start(pypitest.WithConfig(`
projects: [{name: demo}]
publishers:
  - {service: github, owner: octo-org, repository: octo-repo, workflow_filename: release.yml, projects: [demo]}
`), pypitest.WithContext("github.ref", "refs/tags/v1.0"))
	if err != nil {
		panic(err)
	}
	defer h.Close()

	token := h.PublishToken()
	res, _ := h.Upload(token, pypitest.WheelFilename("demo", "1.0"), pypitest.Wheel("demo", "1.0"))
	fmt.Println(res.StatusLine())

	h.AdvanceClock(16 * time.Minute)
	res, _ = h.Upload(token, pypitest.SdistFilename("demo", "1.0"), pypitest.Sdist("demo", "1.0"))
	fmt.Println(res.StatusLine())
	// Output:
	// 200 OK
	// 403 Invalid API Token: token is expired
}

// A refused exchange is data: PyPI's code and description.
func ExampleHarness_Exchange() {
	h, err := pypitest.Start(pypitest.WithContext("github.workflow_file", ".github/workflows/publish.yml"))
	if err != nil {
		panic(err)
	}
	defer h.Close()
	jwt, _ := h.OIDCToken("github", "pypi")
	m, _ := h.Exchange(jwt)
	fmt.Println(m.Status, m.Errors[0].Code)
	fmt.Println(m.Errors[0].Description)
	// Output:
	// 422 invalid-publisher
	// valid token, but no corresponding publisher (Publisher with matching claims was not found)
}
