"""Shared fixtures of the attnc Python tests: the source tree and a cache
folder of the test session's own."""

import os

import pytest

SOURCE_DIR = os.environ.get("ATTNC_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="session")
def source_dir():
    return SOURCE_DIR


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("attnc-cache"))
