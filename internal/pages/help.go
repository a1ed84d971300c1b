package pages

import (
	"html/template"
	"net/http"
)

// helpEntry is one question of /help/. Anchor is the fragment PyPI uses
// (warehouse/templates/pages/help.html), so the links in PyPI's messages
// (https://pypi.org/help/#file-name-reuse ...) land on it; Also are
// further anchors for the same entry.
type helpEntry struct {
	Anchor   string
	Also     []string
	Question string
	Answer   template.HTML
}

type helpGroup struct {
	Title   string
	Entries []helpEntry
}

// helpGroups are the entries of PyPI's help page that its answers and
// pages link to, each with a short explanation in fakepypi's words.
// Anchors come from help.html; the messages that link them are in
// warehouse/forklift/legacy.py, warehouse/forklift/decorators.py,
// warehouse/packaging/services.py and warehouse/accounts/security_policy.py.
var helpGroups = []helpGroup{
	{"Basics", []helpEntry{
		{Anchor: "packages", Question: "What's a package, project, or release?",
			Answer: `<p>A <em>project</em> is a name on the index (<code>demo</code>). Each <em>release</em> is one version of it (<code>1.0</code>), and each release holds <em>files</em>, also called packages or distributions: a source distribution (<code>.tar.gz</code>) and built wheels (<code>.whl</code>).</p>`},
		{Anchor: "publishing", Question: "How do I package and publish my code for PyPI?",
			Answer: `<p>Build the distributions (<code>python -m build</code>), then upload them with a client such as twine, uv or gh-action-pypi-publish, authenticated by an API token or, from CI, by <a href="#trusted-publishers">trusted publishing</a>. The files go to the upload endpoint <code>https://upload.pypi.org/legacy/</code>.</p>`},
		{Anchor: "trove-classifier", Question: "What's a trove classifier?",
			Answer: `<p>A classifier is a fixed label such as <code>License :: OSI Approved :: MIT License</code> or <code>Programming Language :: Python :: 3</code>. PyPI accepts only the classifiers on its published list; an upload with an unknown one is refused with 400.</p>`},
		{Anchor: "yanked", Question: `What's a "yanked" release?`,
			Answer: `<p>A yanked release stays on the index, but installers ignore it unless it is the only release matching an exact pin (<code>==1.0</code>), as PEP 592 specifies. Its files stay downloadable, and the simple API marks them with <code>data-yanked</code>. Yanking is a softer alternative to deleting, which cannot be undone.</p>`},
		{Anchor: "archived-project", Question: "What's an archived project?",
			Answer: `<p>An archived project is one its owners marked as no longer maintained. It still installs, but nothing new can be uploaded to it.</p>`},
		{Anchor: "pre-release-versioning", Question: "What is a pre-release?",
			Answer: `<p>A version with an alpha, beta, release-candidate or development part (<code>1.0a1</code>, <code>2.0rc1</code>, <code>1.0.dev3</code>). pip installs a pre-release only when asked (<code>--pre</code> or a specifier that names one), and the project page shows the newest final release first.</p>`},
	}},
	{"My account", []helpEntry{
		{Anchor: "verified-email", Question: "Why do I need a verified email address?",
			Answer: `<p>PyPI refuses uploads from an account without a verified primary email address (<code>400 User … does not have a verified primary email address</code>). The address is how PyPI reaches the owner about security problems.</p>`},
		{Anchor: "compromised-password", Question: "Why is PyPI telling me my password is compromised?",
			Answer: `<p>PyPI checks passwords against known breaches and refuses one that has appeared there; choose a new, unique password.</p>`},
		{Anchor: "twofa", Also: []string{"two-factor-authentication"}, Question: "What is two-factor authentication and how does it work on PyPI?",
			Answer: `<p>Two-factor authentication asks for a second proof (an authenticator code or a security key) besides the password. PyPI requires it of every account that uploads: an upload by a user without it is refused with <code>400 User … does not have two-factor authentication enabled</code>. Uploads from trusted publishing and API tokens work once it is on. (PyPI's message links <code>#two-factor-authentication</code>; its help page names this entry <code>#twofa</code>, so both lead here.)</p>`},
		{Anchor: "apitoken", Question: "How can I use API tokens to authenticate with PyPI?",
			Answer: `<p>An API token replaces the password for uploads: use the username <code>__token__</code> and the token (which starts with <code>pypi-</code>) as the password. A token can be scoped to a single project. Username-and-password uploads are refused with <code>403 Username/Password authentication is no longer supported</code>.</p>`},
		{Anchor: "trusted-publishers", Question: "How can I use Trusted Publishers to publish to PyPI?",
			Answer: `<p>A trusted publisher names a CI workflow (a GitHub repository and workflow file, a GitLab project and pipeline, a Google service account, an ActiveState project) that may publish a project. The CI job asks its platform for an OpenID Connect token, posts it to <code>/_/oidc/mint-token</code>, and gets a 15-minute API token if the token's claims match a configured publisher. If none matches, PyPI answers <code>422</code> with <code>invalid-publisher</code> and does not say which claim differed; fakepypi's <a href="/_fake/">dashboard</a> and <a href="/_fake/debugger">claims debugger</a> do.</p><p>A <em>pending</em> publisher does the same for a project that does not exist yet: its first use creates the project.</p>`},
	}},
	{"Integrating", []helpEntry{
		{Anchor: "project-release-notifications", Question: "How do I get notified when a new version of a project is released?",
			Answer: `<p>PyPI publishes an RSS feed of each project's releases. The harness does not; poll the JSON API (<code>/pypi/&lt;project&gt;/json</code>) or the simple API instead.</p>`},
		{Anchor: "verify-hashes", Question: "What are the file hashes used for, and how can I verify them?",
			Answer: `<p>Each file is listed with its SHA256, MD5 and BLAKE2b-256 digests; installers check the SHA256 in the simple API's URL fragment before installing. Compute one locally with <code>sha256sum FILE</code> and compare.</p>`},
	}},
	{"Administration of projects", []helpEntry{
		{Anchor: "project-name", Question: "Why isn't my desired project name available?",
			Answer: `<p>A new project's name must be valid (letters, digits, <code>.</code>, <code>_</code>, <code>-</code>, starting and ending with a letter or digit), must not be a Python standard library module or a prohibited name, and must not be too similar to an existing project (names that differ only in case, separators or confusable characters count as the same). Otherwise the upload is refused with <code>400 The name … isn't allowed</code> or <code>… is too similar to an existing project</code>.</p>`},
		{Anchor: "description-content-type", Question: "How can I upload a project description in a different format?",
			Answer: `<p>Set <code>Description-Content-Type</code> in the metadata: <code>text/markdown</code>, <code>text/x-rst</code> (the default) or <code>text/plain</code>. Any other type, or an unknown <code>variant</code> for Markdown, is refused with 400.</p>`},
		{Anchor: "file-size-limit", Question: "How do I get a file size limit exemption or increase for my project?",
			Answer: `<p>By default one file may be at most 100 MiB. PyPI's admins can raise it per project; in the harness it is the project's <code>upload_limit</code>.</p>`},
		{Anchor: "project-size-limit", Question: "How do I get a total project size limit exemption or increase for my project?",
			Answer: `<p>All files of a project together may take at most 10 GiB by default; in the harness it is the project's <code>total_size_limit</code>.</p>`},
		{Anchor: "deletion", Question: "How can I restore a deleted project, release or file?",
			Answer: `<p>You cannot. A deleted file's name stays used forever (see <a href="#file-name-reuse">file name reuse</a>), so release a new version instead.</p>`},
	}},
	{"Troubleshooting", []helpEntry{
		{Anchor: "description-render-failure", Question: `Why am I getting "the description failed to render" error?`,
			Answer: `<p>PyPI renders the description with readme_renderer and refuses an upload whose reStructuredText does not render (<code>400 The description failed to render for 'text/x-rst'</code>). Check it locally with <code>twine check dist/*</code>.</p>`},
		{Anchor: "invalid-auth", Question: `Why am I getting an "Invalid or non-existent authentication information." error when uploading files?`,
			Answer: `<p>The upload carried no credentials, or ones PyPI does not accept: a mistyped or revoked API token, a token for another index (TestPyPI and PyPI tokens are different), or an expired trusted-publishing token (they last 15 minutes). Use the username <code>__token__</code> with the whole token as the password.</p>`},
		{Anchor: "admin-intervention", Question: "Why did my package or user registration get blocked?",
			Answer: `<p>PyPI's admins can switch off new uploads, new project registration or trusted publishing while they deal with abuse or an incident; the message says which. In the harness these are the admin flags (<code>/_fake/flags</code>).</p>`},
		{Anchor: "file-name-reuse", Question: `Why am I getting a "Filename or contents already exists" or "Filename has been previously used" error?`,
			Answer: `<p>A filename can be used once, ever: re-uploading <code>demo-1.0-py3-none-any.whl</code> with different bytes gets <code>400 File already exists</code>, and a name whose file was deleted gets <code>400 This filename has already been used</code>. Re-uploading the identical file is accepted as a no-op, which is what <code>twine upload --skip-existing</code> relies on. To change a release's files, publish a new version (or a post release).</p>`},
		{Anchor: "project_in_quarantine", Question: "My project or release says it's in quarantine. What does that mean?",
			Answer: `<p>PyPI's admins quarantine a project suspected of malware while they look into it: it disappears from the installers' APIs and cannot be changed until they clear it.</p>`},
	}},
}

// HelpPage serves GET /help/ ("Help · PyPI").
func (s *Site) HelpPage(w http.ResponseWriter, r *http.Request) {
	render(w, http.StatusOK, "help.html", s.chrome("Help"), helpGroups)
}
