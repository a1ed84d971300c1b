"""The trusted-publishing exchange as gh-action-pypi-publish performs it
(its oidc-exchange.py, newest releases), for uploaders that cannot do it
themselves: Debian 12's twine 4.0.2 predates twine's own trusted publishing
(6.1), so the twine wrapper runs this first, as the action does, then twine
with the minted token.

The sequence and the messages are the action's: GET /_/oidc/audience on the
repository URL's host (https, timeout 5 s); the GitHub Actions OIDC token for
that audience, as the `id` package (>= 1.6) requests it; POST
/_/oidc/mint-token {"token": ...} (timeout 5 s). Failures print
"::error::Trusted publishing exchange failure: ..." (newlines as %0A) on
stderr, append the full text to $GITHUB_STEP_SUMMARY, and exit 1. Success
prints "::add-mask::<token>" on stderr and the token on stdout.

Input: INPUT_REPOSITORY_URL (default https://upload.pypi.org/legacy/), the
runner's ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN, GITHUB_EVENT_NAME and
GITHUB_EVENT_PATH; the proxy and CA from HTTPS_PROXY and REQUESTS_CA_BUNDLE.
Needs the requests package (Debian: python3-requests).
"""
import base64
import json
import os
import sys
from http import HTTPStatus
from urllib.parse import parse_qsl, urlencode, urlparse

import requests

ERROR_SUMMARY = """
Trusted publishing exchange failure:

{message}

You're seeing this because the action wasn't given the inputs needed to
perform password-based or token-based authentication. If you intended to
perform one of those authentication methods instead of trusted
publishing, then you should double-check your secret configuration and variable
names.
"""

TOKEN_RETRIEVAL_FAILED = """
OpenID Connect token retrieval failed: {identity_error}

This generally indicates a workflow configuration error, such as insufficient
permissions. Make sure that your workflow has `id-token: write` configured
at the job level, e.g.:

```yaml
permissions:
  id-token: write
```
"""

TOKEN_RETRIEVAL_FAILED_FORK_PR = """
OpenID Connect token retrieval failed: {identity_error}

The workflow context indicates that this action was called from a
pull request on a fork. GitHub doesn't give these workflows OIDC permissions,
even if `id-token: write` is explicitly configured.

To fix this, change your publishing workflow to use an event that
forks of your repository cannot trigger (such as tag or release
creation, or a manually triggered workflow dispatch).
"""

SERVER_REFUSED = """
Token request failed: the server refused the request for the following reasons:

{reasons}

This generally indicates a trusted publisher configuration error, but could
also indicate an internal error on GitHub or PyPI's part.

{rendered_claims}
"""

RENDERED_CLAIMS = """
The claims rendered below are **for debugging purposes only**. You should **not**
use them to configure a trusted publisher unless they already match your expectations.

If a claim is not present in the claim set, then it is rendered as `MISSING`.

* `sub`: `{sub}`
* `repository`: `{repository}`
* `repository_owner`: `{repository_owner}`
* `repository_owner_id`: `{repository_owner_id}`
* `workflow_ref`: `{workflow_ref}`
* `job_workflow_ref`: `{job_workflow_ref}`
* `ref`: `{ref}`
* `environment`: `{environment}`

See https://docs.pypi.org/trusted-publishers/troubleshooting/ for more help.
"""

MALFORMED_JSON = """
Token request failed: the index produced an unexpected
{status_code} response.

This strongly suggests a server configuration or downtime issue; wait
a few minutes and try again.

You can monitor PyPI's status here: https://status.python.org/
"""

MALFORMED_TOKEN_RESPONSE = """
Token response error: the index gave us an invalid response.

This strongly suggests a server configuration or downtime issue; wait
a few minutes and try again.
"""


class IdentityError(Exception):
    pass


def die(msg):
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            print(ERROR_SUMMARY.format(message=msg), file=f)
    msg = msg.replace("\n", "%0A")
    print(f"::error::Trusted publishing exchange failure: {msg}", file=sys.stderr)
    sys.exit(1)


def debug(msg):
    print(f"::debug::{msg.title()}", file=sys.stderr)


def github_oidc_token(audience):
    """The GitHub Actions OIDC token, as the id package (>= 1.6) asks for it."""
    req_token = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if not req_token:
        raise IdentityError("GitHub: missing or insufficient OIDC token permissions, "
                            "the ACTIONS_ID_TOKEN_REQUEST_TOKEN environment variable was unset")
    req_url = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
    if not req_url:
        raise IdentityError("GitHub: missing or insufficient OIDC token permissions, "
                            "the ACTIONS_ID_TOKEN_REQUEST_URL environment variable was unset")
    u = urlparse(req_url)
    query = dict(parse_qsl(u.query))
    query["audience"] = audience
    url = u._replace(query=urlencode(query)).geturl()
    try:
        resp = requests.get(url, headers={"Authorization": f"bearer {req_token}"}, timeout=30)
    except requests.RequestException:
        raise IdentityError("GitHub: OIDC token request timed out")
    if resp.status_code != 200:
        raise IdentityError(f"GitHub: OIDC token request failed (code={resp.status_code}, body={resp.text!r})")
    try:
        return resp.json()["value"]
    except (ValueError, KeyError, TypeError):
        raise IdentityError("GitHub: malformed or incomplete JSON")


def event_is_third_party_pr():
    if os.environ.get("GITHUB_EVENT_NAME") != "pull_request":
        return False
    try:
        with open(os.environ["GITHUB_EVENT_PATH"], "rb") as f:
            return json.load(f)["pull_request"]["head"]["repo"]["fork"]
    except (KeyError, OSError, ValueError, TypeError):
        return False


def render_claims(token):
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    names = ["sub", "repository", "repository_owner", "repository_owner_id", "workflow_ref",
             "job_workflow_ref", "ref", "environment"]
    return RENDERED_CLAIMS.format(**{n: claims.get(n, "MISSING") for n in names})


def main():
    repository_url = os.environ.get("INPUT_REPOSITORY_URL") or "https://upload.pypi.org/legacy/"
    domain = urlparse(repository_url).netloc
    mint_url = f"https://{domain}/_/oidc/mint-token"

    resp = requests.get(f"https://{domain}/_/oidc/audience", timeout=5)
    if not resp.ok:
        if resp.status_code == HTTPStatus.FORBIDDEN:
            die(f"audience retrieval failed: repository at {domain} has trusted publishing disabled")
        if resp.status_code == HTTPStatus.NOT_FOUND:
            die(f"audience retrieval failed: repository at {domain} does not indicate trusted publishing support")
        phrase = HTTPStatus(resp.status_code).phrase
        die(f"audience retrieval failed: repository at {domain} responded with unexpected {resp.status_code}: {phrase}")
    audience = resp.json()["audience"]

    debug(f"selected trusted publishing exchange endpoint: {mint_url}")

    try:
        oidc_token = github_oidc_token(audience)
    except IdentityError as e:
        tmpl = TOKEN_RETRIEVAL_FAILED_FORK_PR if event_is_third_party_pr() else TOKEN_RETRIEVAL_FAILED
        die(tmpl.format(identity_error=e))

    claims_payload = oidc_token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(claims_payload + "=" * (-len(claims_payload) % 4)))
    if claims.get("workflow_ref") != claims.get("job_workflow_ref"):
        print("::warning::Potential workflow misconfiguration: the calling workflow is a reusable workflow", file=sys.stderr)

    resp = requests.post(mint_url, json={"token": oidc_token}, timeout=5)
    try:
        payload = resp.json()
    except ValueError:
        die(MALFORMED_JSON.format(status_code=resp.status_code))
    if not resp.ok:
        reasons = "\n".join(f"* `{e['code']}`: {e['description']}" for e in payload["errors"])
        die(SERVER_REFUSED.format(reasons=reasons, rendered_claims=render_claims(oidc_token)))
    token = payload.get("token")
    if token is None:
        die(MALFORMED_TOKEN_RESPONSE)
    print(f"::add-mask::{token}", file=sys.stderr)
    print(token)


if __name__ == "__main__":
    main()
