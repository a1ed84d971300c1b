#!/usr/bin/python3
"""Run the installed twine with twine 6.1's ``--attestations``.

This is a SHIM, for the fakepypi harness: Debian 12's twine is 4.0.2, which
predates PEP 740 (``upload --attestations`` arrived in twine 6.1). It runs the
installed twine's own command line (``twine.__main__.main``: its settings,
auth, HTTP session, retries and messages) and adds what twine 6.1 adds, as
twine 6.1 does it:

* ``twine/commands/__init__.py _split_inputs``: files matching
  ``*.*.attestation`` are not distributions; each one belongs to the
  distributions whose basename it starts with;
* ``twine/commands/upload.py _make_package``: with ``--attestations`` a
  distribution without one is refused with ``InvalidDistribution: Upload with
  attestations requested, but {filename} has no associated attestations``;
* ``twine/package.py add_attestations``: each file is read with ``json.load``
  (``invalid JSON in attestation: {path}``);
* ``twine/package.py metadata_dictionary``: the form field ``attestations`` is
  ``json.dumps(list)``, after ``gpg_signature`` and before ``md5_digest``;
* ``upload``: the warning for an index that is not PyPI or TestPyPI;
* ``twine/auth.py``: trusted publishing. On PyPI or TestPyPI with no password,
  the username defaults to ``__token__`` and the password is minted from the
  CI's identity token (``/_/oidc/audience``, then ``/_/oidc/mint-token``), the
  identity token read as the ``id`` package reads it on GitHub Actions
  (``ACTIONS_ID_TOKEN_REQUEST_URL``/``_TOKEN``) and GitLab (``<AUDIENCE>_ID_TOKEN``).

With twine >= 6.1 installed it only runs twine. Usage is twine's:

    python3 twine_attestations.py upload --attestations dist/*
"""

import fnmatch
import json
import logging
import os
import sys

import twine
from twine import exceptions
from twine import package as package_file
from twine import utils


def _version(v):
    parts = []
    for p in v.split(".")[:2]:
        parts.append(int("".join(c for c in p if c.isdigit()) or 0))
    return tuple(parts)


def main():
    from twine.__main__ import main as twine_main

    argv = sys.argv[1:]
    if _version(twine.__version__) >= (6, 1) or not argv or argv[0] != "upload":
        sys.argv = ["twine"] + argv
        return twine_main()

    requested = "--attestations" in argv
    argv = [a for a in argv if a != "--attestations"]
    attestations = fnmatch.filter(argv[1:], "*.*.attestation")
    argv = [a for a in argv if a not in set(attestations)]

    from_filename = package_file.PackageFile.from_filename.__func__

    def patched_from_filename(cls, filename, comment):
        pkg = from_filename(cls, filename, comment)
        pkg.attestations = None
        if requested:
            base = os.path.basename(filename)
            mine = [a for a in attestations if os.path.basename(a).startswith(base)]
            if not mine:
                raise exceptions.InvalidDistribution(
                    "Upload with attestations requested, but "
                    f"{filename} has no associated attestations"
                )
            loaded = []
            for path in mine:
                with open(path, "rb") as att:
                    try:
                        loaded.append(json.load(att))
                    except json.JSONDecodeError:
                        raise exceptions.InvalidDistribution(
                            f"invalid JSON in attestation: {path}"
                        )
            pkg.attestations = loaded
        return pkg

    metadata_dictionary = package_file.PackageFile.metadata_dictionary

    def patched_metadata_dictionary(self):
        data = metadata_dictionary(self)
        if getattr(self, "attestations", None) is None:
            return data
        out = {}
        for key, value in data.items():
            if key in ("md5_digest", "blake2_256_digest") and "attestations" not in out:
                out["attestations"] = json.dumps(self.attestations)
            out[key] = value
        out.setdefault("attestations", json.dumps(self.attestations))
        return out

    package_file.PackageFile.from_filename = classmethod(patched_from_filename)
    package_file.PackageFile.metadata_dictionary = patched_metadata_dictionary

    if requested:
        from twine import settings

        create_repository = settings.Settings.create_repository

        def warn_then_create(self):
            url = self.repository_config["repository"]
            if not url.startswith((utils.DEFAULT_REPOSITORY, utils.TEST_REPOSITORY)):
                logging.getLogger("twine.commands.upload").warning(
                    "Only PyPI and TestPyPI support attestations; "
                    "if you experience failures, remove the --attestations flag and "
                    "re-try this command"
                )
            return create_repository(self)

        settings.Settings.create_repository = warn_then_create

    _add_trusted_publishing()
    sys.argv = ["twine"] + argv
    return twine_main()


class TrustedPublishingFailure(exceptions.TwineException):
    """twine 6.1's exception of the same name."""


def _oidc_token(audience):
    """id.detect_credential(audience) for GitHub Actions and GitLab CI."""
    import re

    import requests

    url = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
    if os.environ.get("GITHUB_ACTIONS") and url:
        resp = requests.get(
            url,
            params={"audience": audience},
            headers={"Authorization": "bearer " + os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "")},
            timeout=30,
        )
        if not resp.ok:
            raise TrustedPublishingFailure(
                "Unable to retrieve an OIDC token from the CI platform for "
                f"trusted publishing GitHub: OIDC token request failed (code={resp.status_code}, body={resp.content!r})"
            )
        return resp.json()["value"]
    if os.environ.get("GITLAB_CI"):
        var = re.sub(r"[^A-Z0-9_]|^[^A-Z_]", "_", audience.upper()) + "_ID_TOKEN"
        return os.environ.get(var)
    return None


def _add_trusted_publishing():
    import requests
    from urllib.parse import urlparse

    from twine import auth

    def is_pypi(resolver):
        return resolver.config["repository"].startswith(
            (utils.DEFAULT_REPOSITORY, utils.TEST_REPOSITORY)
        )

    username_get = auth.Resolver.username.fget

    def username(self):
        if is_pypi(self) and not self.input.username:
            self.input.username = "__token__"
        return username_get(self)

    def make_trusted_publishing_token(self):
        domain = urlparse(self.system).netloc
        session = requests.Session()
        resp = session.get(f"https://{domain}/_/oidc/audience", timeout=5)
        resp.raise_for_status()
        audience = resp.json()["audience"]
        oidc_token = _oidc_token(audience)
        if oidc_token is None:
            return None
        mint = session.post(f"https://{domain}/_/oidc/mint-token", json={"token": oidc_token}, timeout=5)
        try:
            payload = mint.json()
        except ValueError:
            raise TrustedPublishingFailure("The token-minting request returned invalid JSON")
        if not mint.ok:
            reasons = "\n".join(f'* `{e["code"]}`: {e["description"]}' for e in payload["errors"])
            raise TrustedPublishingFailure(
                "The token request failed; the index server gave the following "
                f"reasons:\n\n{reasons}"
            )
        return payload["token"]

    password_fallback = auth.Resolver.password_from_keyring_or_prompt

    def password_from_keyring_or_trusted_publishing_or_prompt(self):
        password = self.get_password_from_keyring()
        if password:
            return password
        if is_pypi(self) and self.username == "__token__":
            token = make_trusted_publishing_token(self)
            if token is not None:
                return token
        return password_fallback(self)

    auth.Resolver.username = property(username)
    auth.Resolver.password_from_keyring_or_prompt = password_from_keyring_or_trusted_publishing_or_prompt


if __name__ == "__main__":
    sys.exit(main())
