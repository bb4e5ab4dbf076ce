"""A bad file is set aside with its reason and the others land; the same bytes are skipped
with the same reason until a corrected file replaces them; hostile names and workbooks are
refused without writing outside the landing zone; a failed command prints no traceback."""

import json
import zipfile

import click
import pytest
from click.testing import CliRunner

from ndc.cli import main
from ndc.extract import extract_source
from ndc.extract.files import check_workbook_size
from ndc.file_quarantine import safe_component, set_aside_records
from ndc.landing import LocalLandingZone, batch_key
from ndc.registry import RegistryError, load_registry
from ndc.report import format_report
from ndc.settings import SOURCES_DIR
from tests.conftest import write_csv
from tests.unit.test_extract_files import HEADER, ROW


@pytest.fixture
def registry():
    return load_registry()


def _files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_bad_files_are_set_aside_with_their_reason_and_the_good_one_lands(registry, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "births_01_empty.csv").write_bytes(b"")
    write_csv(inbox / "births_02_missing.csv", HEADER[:-1], [ROW[:-1]])
    write_csv(inbox / "births_03_good.csv", HEADER, [ROW])
    landing = LocalLandingZone(tmp_path / "landing")
    source = registry["civil_registration"]

    result = extract_source(source, str(inbox), landing, "2025-06-01")
    assert result.errors == []  # the run does not fail for a bad file
    assert [m.source_file for m in result.landed] == ["births_03_good.csv"]
    assert {r.file: (r.reason, r.row) for r in result.set_aside} == {
        "births_01_empty.csv": ("empty_file", 0),
        "births_02_missing.csv": ("missing_columns", 0),
    }
    assert "2 file(s) set aside" in result.summary()
    [record] = [r for r in set_aside_records(landing, source.name) if r.reason == "empty_file"]
    assert record.message.startswith("civil_registration: births_01_empty.csv: empty file")
    assert len(record.sha256) == 64 and record.entity == "birth"
    stored = landing.list("quarantine/civil_registration/birth/")
    assert [json.loads(landing.get_bytes(k))["file"] for k in stored] == [
        "births_01_empty.csv",
        "births_02_missing.csv",
    ]

    # The same bytes again: skipped with the same reason, nothing new written.
    before = _files(tmp_path / "landing")
    again = extract_source(source, str(inbox), landing, "2025-06-02")
    assert again.landed == [] and again.errors == []
    assert [(r.file, r.reason, r.set_aside_at) for r in again.set_aside] == [
        (r.file, r.reason, r.set_aside_at) for r in result.set_aside
    ]
    assert _files(tmp_path / "landing") == before

    # A corrected file (other bytes, not those of births_03) under the same name lands.
    write_csv(inbox / "births_02_missing.csv", HEADER, [["KS-02-1", *ROW[1:]]])
    fixed = extract_source(source, str(inbox), landing, "2025-06-03")
    assert [m.source_file for m in fixed.landed] == ["births_02_missing.csv"]
    assert [r.file for r in fixed.set_aside] == ["births_01_empty.csv"]


def test_hostile_file_names_stay_inside_the_landing_zone(registry, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    names = [
        "births_$(touch pwned);rm -rf ~.csv",
        "births_..%2F..%2Fetc%2Fx.csv",
        "births_`id` | tee x.csv",
        "births_\nnewline.csv",
        "births_...csv",
    ]
    for i, name in enumerate(names):  # rows of their own: the same bytes would be set aside
        write_csv(inbox / name, HEADER, [[f"KS-{i}", *ROW[1:]]])
    (inbox / "births_bad $(reboot).csv").write_bytes(b"")
    landing_root = tmp_path / "zone" / "landing"
    landing = LocalLandingZone(landing_root)
    result = extract_source(registry["civil_registration"], str(inbox), landing, "d")
    assert sorted(m.source_file for m in result.landed) == sorted(names)
    assert [r.file for r in result.set_aside] == ["births_bad $(reboot).csv"]
    # Everything written is under the landing root, keys of safe components only.
    outside = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(landing_root in p.parents or inbox in p.parents for p in outside)
    for key in _files(landing_root):
        assert all(part and part not in (".", "..") for part in key.split("/"))
        assert not set(key) & set("$`|;&<>\n ")
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("key", ["../../etc/x.csv", "/etc/x.csv", "a/../../x", "a\\..\\x"])
def test_the_landing_zone_refuses_keys_that_leave_it(tmp_path, key):
    landing = LocalLandingZone(tmp_path / "landing")
    with pytest.raises(ValueError, match="invalid landing key"):
        landing.put_bytes(key, b"x")
    assert not list(tmp_path.parent.glob("etc")) and _files(tmp_path) == []


@pytest.mark.parametrize("part", ["..", "a/b", "", "x\0y", "../../etc"])
def test_batch_keys_are_made_of_safe_components(part):
    with pytest.raises(ValueError, match="invalid landing key component"):
        batch_key("civil_registration", "birth", "2025-06-01", part)


def test_safe_component():
    assert safe_component("births_01_20250601") == "births_01_20250601"
    assert safe_component("../../etc/passwd") == "_.._etc_passwd"  # one component, no slash
    assert safe_component("Hà Nội $(x)") == "Hà_Nội_x_"
    assert safe_component("..") == "_"


def test_a_decompression_bomb_is_refused_before_parsing(tmp_path):
    bomb = tmp_path / "enterprises_bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (32 << 20))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(Exception, match="decompression bomb") as info:
        check_workbook_size(bomb, "business_registry")
    assert info.value.reason == "decompression_bomb"


@pytest.mark.parametrize(
    "column",
    ['x"; drop table raw.civil_registration__birth; --', "a b", "1abc", "ho-ten", "x" * 64],
)
def test_the_registry_refuses_a_column_that_is_not_an_identifier(tmp_path, column):
    text = (SOURCES_DIR / "civil_registration.yaml").read_text()
    text = text.replace("so_dinh_danh_me]", f"so_dinh_danh_me, {json.dumps(column)}]", 1)
    (tmp_path / "civil_registration.yaml").write_text(text)
    with pytest.raises(RegistryError, match="not a plain identifier"):
        load_registry(tmp_path)


def test_the_registry_refuses_an_entity_name_with_sql(tmp_path):
    text = (SOURCES_DIR / "civil_registration.yaml").read_text()
    (tmp_path / "civil_registration.yaml").write_text(
        text.replace("- name: birth", '- name: "birth; drop table x"', 1)
    )
    with pytest.raises(RegistryError, match="name"):
        load_registry(tmp_path)


def test_set_aside_files_are_in_the_report_text():
    report = {
        "sources": {},
        "population": {"citizens": 0},
        "set_aside": [
            {
                "source": "civil_registration",
                "entity": "birth",
                "file": "births_01.csv",
                "reason": "empty_file",
                "message": "civil_registration: births_01.csv: empty file",
            }
        ],
    }
    text = format_report(report)
    assert "1 file(s) set aside" in text
    assert "civil_registration.birth  births_01.csv  [empty_file]" in text


@pytest.fixture
def failing_command():
    @click.command("fail-for-test")
    def fail():
        from ndc.extract import ExtractError

        raise ExtractError("civil_registration: births_01.csv: row 3 has 2 fields")

    @click.command("crash-for-test")
    def crash():
        {}["missing"]

    main.add_command(fail)
    main.add_command(crash)
    yield
    main.commands.pop("fail-for-test")
    main.commands.pop("crash-for-test")


def test_a_failed_command_prints_the_message_and_exits_non_zero(failing_command, monkeypatch):
    monkeypatch.delenv("NDC_DEBUG", raising=False)
    result = CliRunner().invoke(main, ["fail-for-test"])
    assert result.exit_code == 1
    assert "Error: civil_registration: births_01.csv: row 3 has 2 fields" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(main, ["crash-for-test"])
    assert result.exit_code == 1 and "Error: KeyError: 'missing'" in result.output
    # -v and NDC_DEBUG=1 keep the traceback (the exception reaches the runner).
    assert isinstance(CliRunner().invoke(main, ["-v", "crash-for-test"]).exception, KeyError)
    monkeypatch.setenv("NDC_DEBUG", "1")
    assert isinstance(CliRunner().invoke(main, ["crash-for-test"]).exception, KeyError)


class _Streamed:
    """A response without Content-Length whose body arrives in blocks (chunked)."""

    def __init__(self, blocks, headers=None):
        self.blocks, self.headers, self.closed = blocks, headers or {}, False

    def iter_content(self, size):
        yield from self.blocks

    def close(self):
        self.closed = True


def test_an_oversized_api_response_is_refused_while_it_is_read():
    from ndc.extract.api import _body

    endless = _Streamed(iter(lambda: b"x" * 65536, None))  # never ends by itself
    with pytest.raises(Exception, match="over the limit of 1048576 bytes") as info:
        _body(endless, "education", "http://api/students", 1 << 20)
    assert info.value.reason == "response_too_large" and endless.closed
    declared = _Streamed([b"{}"], {"Content-Length": str(10 << 20)})
    with pytest.raises(Exception, match="response of 10485760 bytes, over the limit"):
        _body(declared, "education", "http://api/students", 1 << 20)
    assert _body(_Streamed([b'{"data": [], ', b'"next": null}']), "e", "u", 100) == (
        b'{"data": [], "next": null}'
    )
