"""The vendored upstream data stays what tests/data/refresh.py says it is: the same files, each recorded."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT
from tests.data.refresh import SOURCES
from tests.support import arm_schema

BOOKKEEPING = {"PROVENANCE.md"}
ROW = re.compile(r"^\| (\S+) \| (\S+) \| ([0-9a-f]{40}) \| [^|]+ \|$", re.M)


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.folder)
def test_the_files_on_disk_are_the_refresh_list(source):
    on_disk = {p.relative_to(source.dest).as_posix() for p in source.dest.rglob("*") if p.is_file()}
    assert on_disk - BOOKKEEPING == set(source.files), "edit SOURCES in tests/data/refresh.py and re-run it"


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.folder)
def test_provenance_records_every_file_with_its_upstream_path_and_commit(source):
    rows = {file: upstream for file, upstream, _ in ROW.findall((source.dest / "PROVENANCE.md").read_text())}
    assert rows == {v: u for v, u in source.files.items() if v != "LICENSE"}
    assert f"https://github.com/{source.repo}" in (source.dest / "PROVENANCE.md").read_text()


def test_the_schemas_are_read_from_inside_the_repository():
    assert arm_schema.SCHEMA_ROOT.is_relative_to(ROOT) and arm_schema.SCHEMA_ROOT == SOURCES[0].dest
