# Oracle for rst_test.go: renders each document of a JSON list (stdin) with
# readme_renderer.rst.render, as Warehouse's upload check does, and prints a
# JSON list of [refused, warnings] pairs.
import io
import json
import sys

import readme_renderer.rst

out = []
for doc in json.load(sys.stdin):
    stream = io.StringIO()
    rendered = readme_renderer.rst.render(doc, stream=stream)
    out.append([rendered is None, stream.getvalue()])
json.dump(out, sys.stdout)
