"""The package's own metadata: what setuptools builds from pyproject.toml."""

from __future__ import annotations

import importlib.metadata
import re

from orchestrator import settings


def test_the_licence_is_an_spdx_expression_setuptools_reads_without_warnings():
    # A `license = { text = ... }` table made setuptools warn three times on every install.
    pyproject = (settings.project_dir() / "pyproject.toml").read_text()
    assert re.search(r'^license = "Apache-2.0"$', pyproject, re.MULTILINE)
    assert re.search(r'^requires = \["setuptools>=77"\]$', pyproject, re.MULTILINE)  # the first that reads it
    # The installed package was built from it: the expression is in its metadata.
    assert importlib.metadata.metadata("state-resync")["License-Expression"] == "Apache-2.0"
