"""`poetry publish` driven by the fakeindex conform protocol (see ./poetry).

    poetry_upload.py upload --repository-url URL [--skip-existing] FILE...

All FILEs must belong to one release (one name and version), as a poetry
project's dist/ does.
"""
import os
import shutil
import sys
import tempfile
from pathlib import Path

import core_metadata


def usage():
    sys.exit("usage: poetry upload --repository-url URL [--skip-existing] FILE... "
             "(poetry supports no --trusted-publishing or --attestations)")


# Core-metadata headers -> poetry-core Metadata attributes (the names
# poetry.core.masonry.metadata.Metadata.from_package fills).
SINGLE = {
    "Summary": "summary", "Keywords": "keywords", "Home-page": "home_page", "Download-URL": "download_url",
    "Author": "author", "Author-email": "author_email", "License": "license", "Maintainer": "maintainer",
    "Maintainer-email": "maintainer_email", "Requires-Python": "requires_python",
    "Description-Content-Type": "description_content_type",
}
MULTI = {
    "Platform": "platforms", "Supported-Platform": "supported_platforms", "Classifier": "classifiers",
    "Requires": "requires", "Provides": "provides", "Obsoletes": "obsoletes",
    "Requires-External": "requires_external", "Requires-Dist": "requires_dist", "Provides-Dist": "provides_dist",
    "Obsoletes-Dist": "obsoletes_dist", "Project-URL": "project_urls", "Provides-Extra": "provides_extra",
}


def poetry_metadata(msg):
    from packaging.utils import canonicalize_name
    from poetry.core.masonry.metadata import Metadata

    meta = Metadata()
    # poetry-core's package name is the canonical one (Package.name).
    meta.name = canonicalize_name(msg["Name"])
    meta.version = msg["Version"]
    for header, attr in SINGLE.items():
        if msg[header] is not None:
            setattr(meta, attr, msg[header])
    for header, attr in MULTI.items():
        values = msg.get_all(header)
        if values:
            setattr(meta, attr, list(values) if attr in ("requires_dist", "provides_extra") else tuple(values))
    body = msg.get_payload()
    if body and body.strip():
        meta.description = body
    return meta


def main(argv):
    if len(argv) < 4 or argv[0] != "upload" or argv[1] != "--repository-url":
        usage()
    url, rest = argv[2], argv[3:]
    skip = False
    while rest and rest[0].startswith("--"):
        if rest[0] != "--skip-existing":
            usage()
        skip, rest = True, rest[1:]
    if not rest:
        usage()
    files = [Path(f).resolve() for f in rest]
    metas = {f.name: core_metadata.read(f) for f in files}
    releases = {(m["Name"], m["Version"]) for m in metas.values()}
    if len(releases) != 1:
        sys.exit(f"poetry wrapper: poetry publishes one release at a time, got {sorted(releases)}")
    name, version = releases.pop()

    project = Path(tempfile.mkdtemp(prefix="poetry-conform-"))
    try:
        (project / "pyproject.toml").write_text(
            f'[tool.poetry]\nname = "{name}"\nversion = "{version}"\ndescription = ""\nauthors = []\n\n'
            '[build-system]\nrequires = ["poetry-core"]\nbuild-backend = "poetry.core.masonry.api"\n')
        (project / "dist").mkdir()
        for f in files:
            shutil.copy(f, project / "dist" / f.name)

        import poetry.publishing.uploader as uploader

        post_data = uploader.Uploader.post_data

        def post_data_from_file(self, file):
            meta = poetry_metadata(metas[Path(file).name])
            orig = uploader.Metadata
            uploader.Metadata = type("FileMetadata", (), {"from_package": staticmethod(lambda package: meta)})
            try:
                return post_data(self, file)
            finally:
                uploader.Metadata = orig

        uploader.Uploader.post_data = post_data_from_file

        os.environ["POETRY_REPOSITORIES_CONFORM_URL"] = url
        user, password = os.environ.get("FAKEPYPI_USERNAME", ""), os.environ.get("FAKEPYPI_PASSWORD", "")
        if user == "__token__":
            os.environ["POETRY_PYPI_TOKEN_CONFORM"] = password
        else:
            os.environ["POETRY_HTTP_BASIC_CONFORM_USERNAME"] = user
            os.environ["POETRY_HTTP_BASIC_CONFORM_PASSWORD"] = password
        os.chdir(project)
        sys.argv = ["poetry", "publish", "--no-interaction", "-r", "conform"] + (["--skip-existing"] if skip else [])
        from poetry.console.application import main as poetry_main
        code = poetry_main()
    finally:
        shutil.rmtree(project, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
