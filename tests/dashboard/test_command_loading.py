"""The command line loads only the command it runs, and still knows every command by name."""

import subprocess
import sys

import pytest
from support.paths import REPO

from dashboard import cli


def test_every_command_registers_under_its_name():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert sorted(sub.choices) == sorted(cli.COMMANDS)


def _loaded(*argv: str) -> set[str]:
    code = ("import sys; from dashboard import cli\n"
            "try:\n    cli.main(list(sys.argv[1:]))\nexcept SystemExit:\n    pass\n"
            "print('\\n'.join(sys.modules), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code, *argv], cwd=REPO, capture_output=True, text=True)
    return set(out.stderr.split())


@pytest.mark.slow
def test_a_command_loads_only_its_own_module():
    loaded = _loaded("import", "--help")
    assert "dashboard.commands.import_logs" in loaded
    assert not {"dashboard.commands.eval", "dashboard.commands.forecast", "statsmodels"} & loaded


@pytest.mark.slow
def test_an_unknown_command_names_the_known_ones():
    out = subprocess.run([sys.executable, "-m", "dashboard", "improt", "x.csv"], cwd=REPO, capture_output=True,
                         text=True)
    assert out.returncode == 2
    assert "invalid choice: 'improt'" in out.stderr and "'import'" in out.stderr and "'eval'" in out.stderr


@pytest.mark.slow
def test_the_import_command_lists_its_formats_without_loading_duckdb():
    loaded = _loaded("import", "--help")
    assert {"dashboard.ingest.formats.openai", "dashboard.ingest.formats.generic"} <= loaded
    assert "duckdb" not in loaded


@pytest.mark.slow
def test_the_import_command_parses_and_starts_its_check_before_the_formats_load():
    # The first file's check (ingest.files) starts once the arguments are parsed: neither the
    # parser nor the check may load the formats, the planner or DuckDB, whose start-up it overlaps.
    code = ("import sys; from dashboard import cli; from dashboard.ingest import files\n"
            "cli.build_parser('import').parse_args(['import', 'f.csv', '--db', 'w.duckdb', '--provider', 'p'])\n"
            "print('\\n'.join(sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert {"dashboard.commands.import_logs", "dashboard.ingest.files"} <= loaded
    assert not {"dashboard.ingest.base", "dashboard.ingest.formats", "dashboard.ingest.planner", "duckdb"} & loaded


def test_the_packages_hand_out_their_duckdb_names_when_asked():
    import dashboard.ingest
    import dashboard.warehouse
    from dashboard.ingest import importer
    from dashboard.warehouse import connection, rows

    assert dashboard.ingest.import_file is importer.import_file
    assert dashboard.warehouse.Warehouse is connection.Warehouse
    assert dashboard.warehouse.key_hint is rows.key_hint
    assert callable(dashboard.ingest.plan)  # the function, not its module
    assert all(getattr(dashboard.ingest, name) is not None for name in dashboard.ingest.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        dashboard.ingest.nothing  # noqa: B018
