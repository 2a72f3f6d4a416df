"""The examples in the docstrings of symdiff's modules run and give what they show."""
import doctest
import importlib
import pkgutil

import pytest

import symdiff

MODULES = sorted(m.name for m in pkgutil.walk_packages(symdiff.__path__, "symdiff.") if m.name != "symdiff.__main__")


@pytest.mark.parametrize("name", ["symdiff", *MODULES])
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0


def test_public_functions_have_examples_or_docs():
    for name in symdiff.__all__:
        obj = getattr(symdiff, name)
        if callable(obj):
            assert obj.__doc__, f"symdiff.{name} has no docstring"
