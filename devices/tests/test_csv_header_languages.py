"""The CSV header each upload page shows is in its reader's language, and is read back
whatever language the file's header is in (devices.importer.CsvLayout)."""

from __future__ import annotations

import pytest
from django.utils import translation

from devices import importer, register

pytestmark = pytest.mark.django_db


def _rows(world, header: str) -> str:  # noqa: ANN001
    device = world.device_a
    x = world.provider_x.name
    brand, model = device.model.brand.name, device.model.name
    return f"{header}\n{brand},{model},NEW000123,2026-01-02,{x},{x},前台\n"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_import_reads_the_header_its_page_shows(world, language: str) -> None:
    with translation.override(language):
        header = importer.LAYOUT.header()
    preview = importer.check_csv(_rows(world, header), merchant=world.merchant_a)
    assert preview.file_errors == []
    assert preview.is_valid, [row.errors for row in preview.rows]


def test_the_chinese_page_shows_a_chinese_header() -> None:
    with translation.override("zh-hans"):
        assert importer.LAYOUT.header() == "品牌,型号,序列号,购买日期,服务机构,收单机构,位置"
        assert register.LAYOUT.header() == "序列号,品牌,售出日期,保修截止日期"


def test_a_missing_column_is_named_in_the_readers_language(world) -> None:
    with translation.override("zh-hans"):
        preview = importer.check_csv("品牌,型号\nPAX,A920\n", merchant=world.merchant_a)
    (error,) = preview.file_errors
    assert "序列号" in error
    assert "serial" not in error


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_register_reads_the_header_its_page_shows(world, language: str) -> None:
    with translation.override(language):
        header = register.LAYOUT.header()
    device = world.device_a
    text = f"{header}\n{device.serial_number},{device.model.brand.name},2026-01-02,2028-01-02\n"
    preview = register.check_register_csv(text, world.provider_x)
    assert preview.file_errors == []
    assert preview.is_valid, [row.errors for row in preview.rows]
