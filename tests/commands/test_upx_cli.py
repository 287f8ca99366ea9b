"""UPX through the CLI, as a user sees it: a packed cgo binary with its marks erased fails
max-glibc from the payload, forbid-upx explains what the payload loads, inspect shows the
payload's linkage. Real upx-ucl packers from Debian's packages (see tests/helpers/upx_tools.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_linkgate
from tests.helpers.upx_tools import Packer, available, build_input, erase_marks
from tests.helpers.upx_tools import packed as pack
from tests.helpers.upx_tools import packer as get_packer


@pytest.fixture(scope="module")
def upx424() -> Packer:
    packer: Packer = available(lambda: get_packer("upx-4.2.4"))
    return packer


@pytest.fixture(scope="module")
def erased_cgo(upx424: Packer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    source: Path = available(lambda: build_input("go-cgo"))
    packed: Path = available(lambda: pack(upx424, "nrv2e", source))
    out = tmp_path_factory.mktemp("upx") / "go-cgo.erased"
    out.write_bytes(erase_marks(packed.read_bytes()))
    return out


def test_erased_packed_cgo_fails_max_glibc_from_the_payload(erased_cgo: Path, tmp_path: Path) -> None:
    policy = tmp_path / "p.yml"
    policy.write_text('rules:\n  max-glibc: "2.31"\n')
    result = run_linkgate("check", "--policy", str(policy), "--format", "json", str(erased_cgo))
    assert result.returncode == 1, result.stderr
    findings = {f["subject"]: f for f in json.loads(result.stdout)["findings"]}
    assert "__libc_start_main" in findings["GLIBC_2.34"]["symbols"]


def test_forbid_upx_message_names_version_method_and_payload(upx424: Packer) -> None:
    source: Path = available(lambda: build_input("go-cgo"))
    packed: Path = available(lambda: pack(upx424, "nrv2e", source))
    result = run_linkgate("check", "--policy", "default", str(packed))
    assert result.returncode == 1
    line = next(x for x in result.stdout.splitlines() if "[forbid-upx]" in x)
    assert "UPX-packed (4.2.4, NRV2E); payload is dynamic: ld-linux-x86-64.so.2," in line
    assert "libc.so.6" in line
    assert line.endswith("needs GLIBC_2.34")


def test_inspect_shows_payload_linkage_and_upx_object(erased_cgo: Path) -> None:
    item = json.loads(run_linkgate("inspect", "--format", "json", str(erased_cgo)).stdout)[0]
    assert item["linkage"] == "dynamic"
    assert item["interpreter"] == "/lib64/ld-linux-x86-64.so.2"
    assert "GLIBC_2.34" in item["version_needs"]["libc.so.6"]
    assert item["upx"]["packed"] is True
    assert item["upx"]["payload_read"] is True
    assert item["upx"]["method"] == "NRV2E"
