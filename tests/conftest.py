"""Shared fixtures: real warehouse files in tmp_path, and where the public traces live."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings
from support.paths import FIXTURES

# No per-example deadline: with the suite on one worker per core (and other work on the machine),
# an example's time measures the load, not the code, and a late example failed as flaky.
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")



@pytest.fixture(scope="session")
def new_warehouse_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse file as `Warehouse.open` creates it (migrated, the shipped catalog's prices loaded),
    made once per worker: loading ten thousand price rows is most of the cost of a new file."""
    from dashboard.warehouse import Warehouse

    path = tmp_path_factory.mktemp("new-warehouse") / "usage.duckdb"
    Warehouse.open(path).close()
    return path


@pytest.fixture
def new_db(tmp_path: Path, new_warehouse_file: Path) -> Callable[..., Path]:
    """new_db(name, folder=tmp_path): the path of a copy of a new, empty warehouse file, the test's own.

    For a test about what a warehouse holds or does; a test of creating or upgrading a file
    opens a path where there is none yet."""

    def copy(name: str = "usage.duckdb", folder: Path | None = None) -> Path:
        path = (folder or tmp_path) / name
        shutil.copyfile(new_warehouse_file, path)
        return path

    return copy


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory, new_warehouse_file: Path):
    """A new warehouse, open, shared by the tests of a module, each of which puts in the rows it needs."""
    from dashboard.warehouse import Warehouse

    path = tmp_path_factory.mktemp("module-warehouse") / "usage.duckdb"
    shutil.copyfile(new_warehouse_file, path)
    w = Warehouse.open(path)
    yield w
    w.close()


@pytest.fixture
def warehouse(new_db: Callable[..., Path]):
    """A new, empty warehouse at tmp_path/usage.duckdb, open."""
    from dashboard.warehouse import Warehouse

    wh = Warehouse.open(new_db())
    yield wh
    wh.close()


@pytest.fixture
def traces() -> Path:
    folder = FIXTURES / "traces"
    if not folder.is_dir():
        pytest.skip(f"public trace fixtures not found at {folder} (they sit beside the project checkout)")
    return folder
