"""The HTTP sequence of gh-action-pypi-publish's oidc-exchange.py,
against a base URL instead of https://{domain}.

Prints the minted token on stdout, or the action's failure text on stderr
and exits 1.
"""
import os
import sys

import requests

base = sys.argv[1].rstrip("/")

# 1. Audience.
resp = requests.get(f"{base}/_/oidc/audience", timeout=5)
if resp.status_code == 403:
    sys.exit(f"audience retrieval failed: repository at {base} has trusted publishing disabled")
if resp.status_code == 404:
    sys.exit(f"audience retrieval failed: repository at {base} does not indicate trusted publishing support")
if not resp.ok:
    sys.exit(f"audience retrieval failed: repository at {base} responded with unexpected {resp.status_code}")
audience = resp.json()["audience"]

# 2. The GitHub Actions ID token, as the `id` package fetches it.
req_url = os.environ["ACTIONS_ID_TOKEN_REQUEST_URL"]
req_token = os.environ["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]
resp = requests.get(
    req_url,
    params={"audience": audience},
    headers={"Authorization": f"bearer {req_token}"},
    timeout=30,
)
resp.raise_for_status()
oidc_token = resp.json()["value"]

# 3. Exchange.
resp = requests.post(f"{base}/_/oidc/mint-token", json={"token": oidc_token}, timeout=5)
try:
    body = resp.json()
except requests.JSONDecodeError:
    sys.exit(f"Token request failed: the index produced an unexpected\n{resp.status_code} response.")
if not resp.ok:
    reasons = "\n".join(f"* `{e['code']}`: {e['description']}" for e in body["errors"])
    print(f"STATUS {resp.status_code}", file=sys.stderr)
    print(f"RAW {resp.text}", file=sys.stderr)
    sys.exit(f"Token request failed: the server refused the request for the following reasons:\n\n{reasons}")
token = body.get("token")
if token is None:
    sys.exit("Token response error: the index gave us an invalid response.")
print(f"::add-mask::{token}", file=sys.stderr)
print(token)
