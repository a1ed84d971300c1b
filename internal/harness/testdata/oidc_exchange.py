"""gh-action-pypi-publish's oidc-exchange.py sequence, with requests and the `id` package's GitHub token request inlined
(Debian has no python3-id). It uses only the environment `fakeindex up`
prints: INPUT_REPOSITORY_URL defaults to https://upload.pypi.org/legacy/,
the proxy and CA come from HTTPS_PROXY and REQUESTS_CA_BUNDLE.

stdout: the minted token; stderr: ::add-mask:: and ::debug:: lines.
"""
import base64
import json
import os
import sys
from urllib.parse import urlparse

import requests


def die(msg):
    print(f"::error::Trusted publishing exchange failure: {msg}", file=sys.stderr)
    sys.exit(1)


repository_url = os.environ.get("INPUT_REPOSITORY_URL") or "https://upload.pypi.org/legacy/"
repository_domain = urlparse(repository_url).netloc

# 1. The audience, from the upload URL's host, always over https.
audience_url = f"https://{repository_domain}/_/oidc/audience"
resp = requests.get(audience_url, timeout=5)
if resp.status_code == 403:
    die(f"audience retrieval failed: repository at {repository_domain} has trusted publishing disabled")
if resp.status_code == 404:
    die(f"audience retrieval failed: repository at {repository_domain} does not indicate trusted publishing support")
if not resp.ok:
    die(f"audience retrieval failed: repository at {repository_domain} responded with unexpected {resp.status_code}")
audience = resp.json()["audience"]

token_exchange_url = f"https://{repository_domain}/_/oidc/mint-token"
print(f"::debug::{f'Selected Trusted Publishing Exchange Endpoint: {token_exchange_url}'.title()}", file=sys.stderr)

# 2. id.detect_credential(audience) on GitHub: the runner's token endpoint.
req_url = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
req_token = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
if not req_url or not req_token:
    die("OpenID Connect token retrieval failed: missing ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN")
resp = requests.get(req_url, params={"audience": audience},
                    headers={"Authorization": f"bearer {req_token}"}, timeout=30)
if not resp.ok:
    die(f"OpenID Connect token retrieval failed: {resp.status_code} {resp.text}")
oidc_token = resp.json()["value"]

# 3. The newest action warns when the job runs a reusable workflow.
payload = oidc_token.split(".")[1]
claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
if claims.get("workflow_ref") != claims.get("job_workflow_ref"):
    print("::warning::Potential workflow misconfiguration", file=sys.stderr)

# 4. Mint.
resp = requests.post(token_exchange_url, json={"token": oidc_token}, timeout=5)
try:
    mint_payload = resp.json()
except requests.JSONDecodeError:
    die(f"Token request failed: the index produced an unexpected {resp.status_code} response.")
if not resp.ok:
    reasons = "\n".join(f"* `{e['code']}`: {e['description']}" for e in mint_payload["errors"])
    die(f"Token request failed: the server refused the request for the following reasons:\n\n{reasons}")
pypi_token = mint_payload.get("token")
if pypi_token is None:
    die("Token response error: the index gave us an invalid response.")

print(f"::add-mask::{pypi_token}", file=sys.stderr)
print(pypi_token)
