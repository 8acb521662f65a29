"""Message text as Telegram stores it: parse_mode markup to plain text plus entities.

Offsets and lengths are UTF-16 code units, as in the Bot API. The parsers reject what
Telegram rejects most often in practice (unsupported HTML tags such as <br>, unclosed tags,
unescaped MarkdownV2 reserved characters), so bots fail here instead of in production.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_HTML_TAG_RE = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*/?>"
)
_HTML_ATTR_RE = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+)))?")
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'", "nbsp": "\u00a0"}
_HTML_ENTITY_RE = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
_HTML_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}

_AUTO_RE = re.compile(
    r"(?P<bot_command>(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/]))"
    r"|(?P<url>\bhttps?://[^\s]+)"
    r"|(?P<email>\b[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\b)"
    r"|(?P<mention>(?<![\w@])@[A-Za-z0-9_]{4,32}\b)"
    r"|(?P<hashtag>(?<![\w#])#\w*[^\W\d]\w*)"
)


class EntityParseError(ValueError):
    """Telegram's "can't parse entities" (the message is the part after that prefix)."""


def u16len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def detect_entities(text: str) -> list[dict[str, Any]]:
    """Entities Telegram derives from plain user text: commands, mentions, hashtags, links."""
    entities: list[dict[str, Any]] = []
    for m in _AUTO_RE.finditer(text):
        kind = m.lastgroup
        if kind is None:
            continue
        entities.append(
            {"type": kind, "offset": u16len(text[: m.start()]), "length": u16len(m.group())}
        )
    return entities


def render(
    text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of a bot's text/caption, as Telegram would store them."""
    if entities is not None or not parse_mode:
        return text, list(entities or [])
    mode = parse_mode.lower()
    if mode == "html":
        return _Parser(text).html()
    if mode == "markdownv2":
        return _Parser(text).markdown_v2()
    if mode == "markdown":
        return _Parser(text).markdown()
    raise EntityParseError(f"unsupported parse_mode {parse_mode!r}")


@dataclass
class _Open:
    kind: str
    start: int  # UTF-16 offset in the output
    src: int  # index in the source, for error offsets
    extra: dict[str, Any] = field(default_factory=dict)
    tag: str = ""


class _Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.out: list[str] = []
        self.pos = 0  # UTF-16 length of the output so far
        self.entities: list[dict[str, Any]] = []

    # -- shared ---------------------------------------------------------------------------

    def emit(self, s: str) -> None:
        self.out.append(s)
        self.pos += u16len(s)

    def byte_offset(self, i: int) -> int:
        return len(self.src[:i].encode("utf-8"))

    def add(self, kind: str, start: int, **extra: Any) -> None:
        if self.pos > start:
            self.entities.append({"type": kind, "offset": start, "length": self.pos - start, **extra})

    def result(self) -> tuple[str, list[dict[str, Any]]]:
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    # -- HTML -----------------------------------------------------------------------------

    def html(self) -> tuple[str, list[dict[str, Any]]]:
        src, i, stack = self.src, 0, list[_Open]()
        while i < len(src):
            c = src[i]
            if c == "<":
                m = _HTML_TAG_RE.match(src, i)
                if m is None:
                    raise EntityParseError(
                        f"Unsupported start tag at byte offset {self.byte_offset(i)}"
                    )
                closing, tag, attrs = m.group(1) == "/", m.group(2).lower(), m.group(3)
                if closing:
                    self._html_close(stack, tag, i)
                else:
                    stack.append(self._html_open(tag, attrs, i))
                i = m.end()
            elif c == "&":
                m = _HTML_ENTITY_RE.match(src, i)
                decoded = _html_entity(m.group(1)) if m else None
                if m is not None and decoded is not None:
                    self.emit(decoded)
                    i = m.end()
                else:
                    self.emit("&")
                    i += 1
            else:
                j = i
                while j < len(src) and src[j] not in "<&":
                    j += 1
                self.emit(src[i:j])
                i = j
        if stack:
            raise EntityParseError(
                f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"'
            )
        return self.result()

    def _html_open(self, tag: str, attrs: str, i: int) -> _Open:
        values = {
            m.group(1).lower(): _unescape(next((g for g in m.groups()[1:] if g is not None), ""))
            for m in _HTML_ATTR_RE.finditer(attrs)
        }
        if tag == "span" and values.get("class") == "tg-spoiler":
            return _Open("spoiler", self.pos, i, tag=tag)
        if tag == "a":
            href = values.get("href", "")
            if href.startswith("tg://user?id="):
                return _Open("text_mention", self.pos, i, {"href": href}, tag=tag)
            return _Open("text_link", self.pos, i, {"url": href}, tag=tag)
        if tag == "tg-emoji":
            return _Open("custom_emoji", self.pos, i, {"custom_emoji_id": values.get("emoji-id", "")}, tag=tag)
        if tag == "blockquote" and "expandable" in values:
            return _Open("expandable_blockquote", self.pos, i, tag=tag)
        if tag == "code" and values.get("class", "").startswith("language-"):
            return _Open("code", self.pos, i, {"language": values["class"][9:]}, tag=tag)
        kind = _HTML_SIMPLE.get(tag)
        if kind is None:
            raise EntityParseError(
                f'Unsupported start tag "{tag}" at byte offset {self.byte_offset(i)}'
            )
        return _Open(kind, self.pos, i, tag=tag)

    def _html_close(self, stack: list[_Open], tag: str, i: int) -> None:
        if not stack:
            raise EntityParseError(
                f'Unexpected end tag at byte offset {self.byte_offset(i)}'
            )
        top = stack.pop()
        if top.tag != tag:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {self.byte_offset(i)}, '
                f'expected "</{top.tag}>", found "</{tag}>"'
            )
        if top.kind == "code" and stack and stack[-1].kind == "pre":
            # <pre><code class="language-x"> is one pre entity with a language
            if "language" in top.extra:
                stack[-1].extra["language"] = top.extra["language"]
            return
        extra = dict(top.extra)
        if top.kind == "text_mention":
            href = extra.pop("href")
            # no user object to attach offline: keep it as a link, which PTB parses
            extra["url"] = href
            self.add("text_link", top.start, **extra)
            return
        if top.kind == "code":
            extra.pop("language", None)
        self.add(top.kind, top.start, **extra)

    # -- MarkdownV2 -----------------------------------------------------------------------

    def markdown_v2(self) -> tuple[str, list[dict[str, Any]]]:
        src, i, n = self.src, 0, len(self.src)
        stack: list[_Open] = []
        line_start = True
        quote: int | None = None
        while i < n:
            c = src[i]
            if line_start:
                line_start = False
                if c == ">":
                    if quote is None:
                        quote = self.pos
                    i += 1
                    continue
                if quote is not None:
                    self._close_quote(quote)
                    quote = None
            if c == "\\":
                if i + 1 >= n or not 1 <= ord(src[i + 1]) <= 126:
                    raise self._reserved(c)
                self.emit(src[i + 1])
                i += 2
            elif c == "`":
                i = self._mdv2_code(i)
            elif c == "*":
                self._toggle(stack, "bold", i)
                i += 1
            elif c == "_":
                if src.startswith("__", i):
                    self._toggle(stack, "underline", i)
                    i += 2
                else:
                    self._toggle(stack, "italic", i)
                    i += 1
            elif c == "~":
                self._toggle(stack, "strikethrough", i)
                i += 1
            elif c == "|" and src.startswith("||", i):
                self._toggle(stack, "spoiler", i)
                i += 2
            elif c == "[":
                stack.append(_Open("text_link", self.pos, i))
                i += 1
            elif c == "!" and src.startswith("![", i):
                stack.append(_Open("custom_emoji", self.pos, i))
                i += 2
            elif c == "]" and stack and stack[-1].kind in ("text_link", "custom_emoji"):
                i = self._mdv2_link(stack.pop(), i)
            elif c in _MDV2_RESERVED:
                raise self._reserved(c)
            else:
                if c == "\n":
                    line_start = True
                self.emit(c)
                i += 1
        if stack:
            top = stack[-1]
            raise EntityParseError(
                f"Can't find end of {_MDV2_NAMES.get(top.kind, top.kind)} entity at byte "
                f"offset {self.byte_offset(top.src)}"
            )
        if quote is not None:
            self._close_quote(quote)
        return self.result()

    def _close_quote(self, start: int) -> None:
        text = "".join(self.out)
        trailing = u16len(text) - u16len(text.rstrip("\n"))
        self.pos -= trailing
        self.add("blockquote", start)
        self.pos += trailing

    @staticmethod
    def _reserved(c: str) -> EntityParseError:
        return EntityParseError(
            f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
        )

    def _toggle(self, stack: list[_Open], kind: str, i: int) -> None:
        for k, opened in enumerate(stack):
            if opened.kind == kind:
                if k != len(stack) - 1:
                    inner = stack[-1]
                    raise EntityParseError(
                        f"Can't find end of {_MDV2_NAMES.get(inner.kind, inner.kind)} entity "
                        f"at byte offset {self.byte_offset(inner.src)}"
                    )
                stack.pop()
                self.add(kind, opened.start)
                return
        stack.append(_Open(kind, self.pos, i))

    def _scan_escaped(self, i: int, end: str, allowed_escapes: str) -> tuple[str, int]:
        """Text from i up to an unescaped `end`; returns (text, index after `end`)."""
        src, buf = self.src, []
        while i < len(src):
            if src[i] == "\\" and i + 1 < len(src) and src[i + 1] in allowed_escapes:
                buf.append(src[i + 1])
                i += 2
                continue
            if src.startswith(end, i):
                return "".join(buf), i + len(end)
            buf.append(src[i])
            i += 1
        raise EntityParseError("unterminated entity")

    def _mdv2_code(self, i: int) -> int:
        is_pre = self.src.startswith("```", i)
        marker = "```" if is_pre else "`"
        try:
            body, after = self._scan_escaped(i + len(marker), marker, "`\\")
        except EntityParseError:
            name = "Pre" if is_pre else "Code"
            raise EntityParseError(
                f"Can't find end of {name} entity at byte offset {self.byte_offset(i)}"
            ) from None
        start = self.pos
        if is_pre:
            language = ""
            first, nl, rest = body.partition("\n")
            if nl and first and " " not in first:
                language, body = first, rest
            self.emit(body)
            if language:
                self.add("pre", start, language=language)
            else:
                self.add("pre", start)
        else:
            self.emit(body)
            self.add("code", start)
        return after

    def _mdv2_link(self, opened: _Open, i: int) -> int:
        if not self.src.startswith("(", i + 1):
            raise self._reserved("]")
        try:
            url, after = self._scan_escaped(i + 2, ")", ")\\")
        except EntityParseError:
            raise EntityParseError(
                f"Can't find end of a URL at byte offset {self.byte_offset(i + 1)}"
            ) from None
        if opened.kind == "custom_emoji":
            emoji_id = url.removeprefix("tg://emoji?id=")
            self.add("custom_emoji", opened.start, custom_emoji_id=emoji_id)
        else:
            self.add("text_link", opened.start, url=url)
        return after

    # -- legacy Markdown ------------------------------------------------------------------

    def markdown(self) -> tuple[str, list[dict[str, Any]]]:
        src, i, n = self.src, 0, len(self.src)
        while i < n:
            c = src[i]
            if c == "\\" and i + 1 < n and src[i + 1] in "_*`[":
                self.emit(src[i + 1])
                i += 2
            elif c in "*_`[":
                i = self._md_entity(i)
            else:
                self.emit(c)
                i += 1
        return self.result()

    def _md_entity(self, i: int) -> int:
        src, c = self.src, self.src[i]
        unclosed = EntityParseError(
            f"Can't find end of the entity starting at byte offset {self.byte_offset(i)}"
        )
        start = self.pos
        if c == "`" and src.startswith("```", i):
            end = src.find("```", i + 3)
            if end < 0:
                raise unclosed
            body = src[i + 3 : end]
            first, nl, rest = body.partition("\n")
            language = first if nl and first and " " not in first else ""
            self.emit(rest if language else body)
            if language:
                self.add("pre", start, language=language)
            else:
                self.add("pre", start)
            return end + 3
        if c == "[":
            close = src.find("]", i + 1)
            if close < 0 or not src.startswith("(", close + 1):
                raise unclosed
            end = src.find(")", close + 2)
            if end < 0:
                raise unclosed
            self.emit(src[i + 1 : close])
            self.add("text_link", start, url=src[close + 2 : end])
            return end + 1
        end = src.find(c, i + 1)
        if end < 0:
            raise unclosed
        self.emit(src[i + 1 : end])
        self.add({"*": "bold", "_": "italic", "`": "code"}[c], start)
        return end + 1


def _unescape(value: str) -> str:
    def one(m: re.Match[str]) -> str:
        decoded = _html_entity(m.group(1))
        return decoded if decoded is not None else m.group(0)

    return _HTML_ENTITY_RE.sub(one, value)


def _html_entity(name: str) -> str | None:
    if name.startswith("#"):
        code = int(name[2:], 16) if name.startswith("#x") else int(name[1:])
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF or code == 0:
            return None
        return chr(code)
    return _HTML_NAMED.get(name.lower())
