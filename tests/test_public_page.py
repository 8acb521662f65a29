"""The public page (公示) in headless Chromium at a phone's width."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.screenshot import find_chromium, take


async def test_public_page_renders_in_headless_chromium(tmp_path: Path) -> None:
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    out = tmp_path / "page.png"
    assert await take(out, chromium) == 0
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
