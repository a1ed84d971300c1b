# Corpus for TestOracleInstalled: the long descriptions of the Python
# distributions installed for /usr/bin/python3 (Debian's dist-packages),
# with readme_renderer's verdict on each reStructuredText one. Prints a
# JSON list of [name, description, refused, warnings].
import importlib.metadata
import io
import json
import sys

import readme_renderer.rst

out = []
seen = set()
for dist in importlib.metadata.distributions():
    md = dist.metadata
    name = md.get("Name") or ""
    if name in seen:
        continue
    seen.add(name)
    ctype = (md.get("Description-Content-Type") or "").split(";")[0].strip().lower()
    if ctype not in ("", "text/x-rst"):
        continue
    desc = md.get_payload() or md.get("Description") or ""
    if not desc:
        continue
    stream = io.StringIO()
    refused = readme_renderer.rst.render(desc, stream=stream) is None
    out.append([name, desc, refused, stream.getvalue()])
json.dump(out, sys.stdout)
