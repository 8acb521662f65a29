"""A free CJK font for the images rendered here (DOCUMENTS.md: "Fonts on Linux machines").

The .docx files only *name* 仿宋_GB2312 / 方正小标宋简体 / 黑体 (Word on the office PC has
them); the chart is drawn here and needs a font file that really has the glyphs.

Search order:
1. ``DUBAN_CJK_FONT`` (a path to a .ttf/.otf/.ttc);
2. fonts matplotlib already knows, by family name (Noto Sans CJK SC first);
3. well-known files: Debian's fonts-noto-cjk, WenQuanYi, Droid fallback, and the font
   files of the ``mplfonts`` PyPI package if it is installed.
Every candidate is checked for the glyphs bulletins use before it is accepted.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager

ENV_VAR = "DUBAN_CJK_FONT"

# Characters every chart carries: a font lacking any of them draws boxes.
PROBE = "督查通报各单位按时办结超期件数率第期年月日0123456789%（）"

PREFERRED_FAMILIES = (
    "Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "Noto Sans SC",
    "Noto Serif CJK SC", "Source Han Serif SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
    "Droid Sans Fallback", "AR PL UMing CN", "AR PL UKai CN", "SimHei", "Microsoft YaHei",
    "Noto Sans CJK JP", "Noto Sans CJK TC",
)

KNOWN_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)

MPLFONTS_FILES = ("NotoSansCJKsc-Regular.otf", "SourceHanSerifSC-Regular.otf",
                  "NotoSerifCJKsc-Regular.otf")

INSTALL_HINT = (
    "找不到可用的中文字体，通报图表无法绘制。请安装其一：\n"
    "  apt-get install -y fonts-noto-cjk        （Debian/Ubuntu，推荐）\n"
    "  pip install mplfonts                     （PyPI，自带 Noto Sans CJK SC）\n"
    f"或设置环境变量 {ENV_VAR}=/path/to/font.otf 指向一个中文字体文件。\n"
    "No CJK font found for the bulletin chart: install fonts-noto-cjk, or mplfonts, "
    f"or set {ENV_VAR}."
)


class FontMissing(RuntimeError):
    """No font with Chinese glyphs could be found; the message says how to get one."""


@dataclass(frozen=True)
class CjkFont:
    family: str
    path: Path


def _covers(path: Path, index: int = 0) -> bool:
    """Whether the face has every probe glyph."""
    from matplotlib.ft2font import FT2Font  # lazy: optional heavy (matplotlib)

    try:
        font = FT2Font(str(path), face_index=index)
    except (OSError, RuntimeError, ValueError):  # unreadable or not a font
        return False
    return all(font.get_char_index(ord(ch)) != 0 for ch in PROBE)


def _entries_for(path: Path) -> list[font_manager.FontEntry]:
    resolved = str(path.resolve())
    return [f for f in font_manager.fontManager.ttflist
            if str(Path(f.fname).resolve()) == resolved]


def _rank(name: str) -> int:
    try:
        return PREFERRED_FAMILIES.index(name)
    except ValueError:
        return len(PREFERRED_FAMILIES)


def _regular(entry: font_manager.FontEntry) -> bool:
    return str(entry.weight) in ("400", "normal", "regular") and entry.style == "normal"


def _from_file(path: Path) -> CjkFont | None:
    if not path.is_file():
        return None
    if not _entries_for(path):
        try:
            font_manager.fontManager.addfont(str(path))
        except (OSError, RuntimeError, ValueError):  # not a font FreeType can read
            return None
    entries = sorted(_entries_for(path), key=lambda f: (_rank(f.name), f.name))
    for entry in entries:
        if _covers(path, getattr(entry, "index", 0) or 0):
            return CjkFont(entry.name, path)
    return None


def _mplfonts_dir() -> Path | None:
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "fonts"


def candidates() -> list[Path]:
    """Font files to try after the ones matplotlib lists, best first."""
    paths = [Path(p) for p in KNOWN_FILES]
    extra = _mplfonts_dir()
    if extra is not None:
        paths += [extra / name for name in MPLFONTS_FILES]
    return paths


def find_cjk_font(env: dict[str, str] | None = None,
                  search: list[Path] | None = None,
                  use_installed: bool = True) -> CjkFont:
    """The font to draw Chinese with; raises FontMissing with install advice."""
    env = dict(os.environ) if env is None else env
    override = env.get(ENV_VAR)
    if override:
        found = _from_file(Path(override))
        if found is None:
            raise FontMissing(f"{ENV_VAR}={override} 不是可用的中文字体文件。\n{INSTALL_HINT}")
        return found
    if use_installed:
        known = sorted((f for f in font_manager.fontManager.ttflist
                        if _rank(f.name) < len(PREFERRED_FAMILIES)),
                       key=lambda f: (_rank(f.name), not _regular(f), f.fname))
        for entry in known:
            if _covers(Path(entry.fname), getattr(entry, "index", 0) or 0):
                return CjkFont(entry.name, Path(entry.fname))
    for path in (candidates() if search is None else search):
        found = _from_file(path)
        if found is not None:
            return found
    raise FontMissing(INSTALL_HINT)


@cache
def cjk_font() -> CjkFont:
    """`find_cjk_font()` once per process."""
    return find_cjk_font()
