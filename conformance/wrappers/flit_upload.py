"""flit's upload code driven by the fakeindex conform protocol (see ./flit).

    flit_upload.py upload --repository-url URL FILE...

For each FILE: read its core metadata, build flit_core's Metadata from it
(only the fields flit's Metadata has: flit leaves out what it cannot hold),
then call flit.upload.do_upload, exactly as `flit publish` does after
building. Errors propagate as they do in `flit publish` (a traceback, exit 1).
"""
import logging
import os
import sys
from pathlib import Path

import core_metadata

from flit import upload
from flit.log import enable_colourful_output
from flit_core.common import Metadata

# Core-metadata headers -> flit_core Metadata attributes.
SINGLE = {
    "Summary": "summary", "Home-page": "home_page", "Author": "author", "Author-email": "author_email",
    "Maintainer": "maintainer", "Maintainer-email": "maintainer_email", "License": "license",
    "Keywords": "keywords", "Download-URL": "download_url", "Requires-Python": "requires_python",
    "Description-Content-Type": "description_content_type",
}
MULTI = {
    "Platform": "platform", "Supported-Platform": "supported_platform", "Classifier": "classifiers",
    "Provides": "provides", "Requires": "requires", "Obsoletes": "obsoletes", "Project-URL": "project_urls",
    "Provides-Dist": "provides_dist", "Requires-Dist": "requires_dist", "Obsoletes-Dist": "obsoletes_dist",
    "Requires-External": "requires_external", "Provides-Extra": "provides_extra",
}


def usage():
    sys.exit("usage: flit upload --repository-url URL FILE... (flit supports no --skip-existing, "
             "--trusted-publishing or --attestations)")


def flit_metadata(msg):
    data = {"name": msg["Name"], "version": msg["Version"]}
    for header, attr in SINGLE.items():
        if msg[header] is not None:
            data[attr] = msg[header]
    for header, attr in MULTI.items():
        values = msg.get_all(header)
        if values:
            data[attr] = list(values)
    body = msg.get_payload()
    if body and body.strip():
        data["description"] = body
    elif msg["Description"]:
        data["description"] = msg["Description"]
    return Metadata(data)


def main(argv):
    if len(argv) < 4 or argv[0] != "upload" or argv[1] != "--repository-url":
        usage()
    url, files = argv[2], argv[3:]
    if any(f.startswith("--") for f in files):
        usage()
    os.environ["FLIT_INDEX_URL"] = url
    os.environ["FLIT_USERNAME"] = os.environ.get("FAKEPYPI_USERNAME", "")
    os.environ["FLIT_PASSWORD"] = os.environ.get("FAKEPYPI_PASSWORD", "")
    enable_colourful_output(logging.INFO)
    # A ~/.pypirc that does not exist, so only the environment counts.
    pypirc = os.path.join(os.environ.get("HOME", "/nonexistent"), ".pypirc-flit-conform")
    for f in files:
        path = Path(f)
        upload.do_upload(path, flit_metadata(core_metadata.read(path)), pypirc_path=pypirc)


if __name__ == "__main__":
    main(sys.argv[1:])
