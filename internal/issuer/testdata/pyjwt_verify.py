"""Verify fakeissuer tokens with PyJWT, an independent verifier.

Reads a JSON list of {"name", "token", "discovery", "audience"} on stdin.
For each: fetch the discovery document, build a PyJWKClient on its
jwks_uri, and decode as Warehouse does (RS256 only, issuer and audience
checked, 30 s leeway, iss/iat/exp/aud required, strict audience when this
PyJWT has it). Prints {"name": {"ok", "error", "message", "aud"}} as JSON.
"""
import inspect
import json
import sys
import urllib.request

import jwt
from jwt import PyJWKClient

# strict_aud (a single string aud, as Warehouse requires) came in PyJWT 2.8;
# Debian 12 ships 2.6.
STRICT_AUD = "strict_aud" in inspect.getsource(jwt.api_jwt)


def discover(url):
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)


def check(item):
    doc = discover(item["discovery"])
    client = PyJWKClient(doc["jwks_uri"])
    options = {"require": ["iss", "iat", "exp", "aud"]}
    if STRICT_AUD:
        options["strict_aud"] = True
    try:
        key = client.get_signing_key_from_jwt(item["token"])
        claims = jwt.decode(
            item["token"],
            key.key,
            algorithms=["RS256"],
            audience=item["audience"],
            issuer=doc["issuer"],
            leeway=30,
            options=options,
        )
    except Exception as e:  # the class name is the verdict
        return {"ok": False, "error": type(e).__name__, "message": str(e)}
    return {"ok": True, "aud": claims.get("aud")}


def main():
    items = json.load(sys.stdin)
    out = {"_pyjwt": jwt.__version__, "_strict_aud": STRICT_AUD}
    for item in items:
        out[item["name"]] = check(item)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
