"""Shared fixtures: a small synthetic population (no real person in it) and the `khop` command
to compare answers with."""

import os
import pathlib
import shutil
import subprocess

import pytest

import khop


@pytest.fixture(scope="session")
def population(tmp_path_factory) -> pathlib.Path:
    """A generated population of 2,000 persons, as Parquet, with its true links."""
    folder = tmp_path_factory.mktemp("population")
    khop.generate_population(folder, persons=2000, seed=11, format="parquet")
    return folder


@pytest.fixture(scope="session")
def khop_command() -> pathlib.Path:
    """The `khop` command of this checkout: `KHOP_BIN`, else `target/debug/khop` or `khop` on the
    PATH. The answers must be the command's, so a missing command fails the tests that need it."""
    given = os.environ.get("KHOP_BIN")
    root = pathlib.Path(__file__).resolve().parents[3]
    for candidate in [given, root / "target" / "debug" / "khop", shutil.which("khop")]:
        if candidate and pathlib.Path(candidate).is_file():
            return pathlib.Path(candidate)
    pytest.fail("no `khop` command: build it (cargo build -p khop-cli) or set KHOP_BIN")


def run_khop(command: pathlib.Path, *args: str) -> None:
    subprocess.run([str(command), *args], check=True, capture_output=True)
