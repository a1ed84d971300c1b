"""The package of fakepypi's quick start."""


def hello():
    return "hello from the fake PyPI"
