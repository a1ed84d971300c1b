"""The core metadata of a wheel (*.dist-info/METADATA) or an sdist
(<top>/PKG-INFO), as an email.message.Message: shared by the flit and
poetry wrappers, which feed it to their tool's own metadata object."""
import email.parser
import sys
import tarfile
import zipfile


def read(path):
    name = path.name
    text = None
    if name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(path) as z:
            for member in z.namelist():
                parts = member.split("/")
                if len(parts) == 2 and ((parts[0].endswith(".dist-info") and parts[1] == "METADATA") or parts[1] == "PKG-INFO"):
                    text = z.read(member).decode("utf-8")
                    break
    elif name.endswith(".tar.gz"):
        with tarfile.open(path) as t:
            for member in t.getmembers():
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == "PKG-INFO":
                    text = t.extractfile(member).read().decode("utf-8")
                    break
    if text is None:
        sys.exit(f"{path}: no core metadata found")
    return email.parser.Parser().parsestr(text)
