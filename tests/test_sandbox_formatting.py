"""parse_mode rendering and automatic entities, UTF-16 offsets included."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.formatting import EntityParseError, detect_entities, render, u16len

MDV2_RESERVED = "_*[]()~`>#+-=|{}.!\\"


def escape_mdv2(text: str) -> str:
    return "".join("\\" + c if c in MDV2_RESERVED else c for c in text)


def test_html() -> None:
    text, entities = render(
        '<b>督办</b>事项 &lt;1&gt; <a href="https://x.cn/a?b=1&amp;c=2">链接</a> '
        '<tg-spoiler>密</tg-spoiler><pre><code class="language-python">x = 1</code></pre>',
        "HTML",
    )
    assert text == "督办事项 <1> 链接 密x = 1"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 2},
        {"type": "text_link", "offset": 9, "length": 2, "url": "https://x.cn/a?b=1&c=2"},
        {"type": "spoiler", "offset": 12, "length": 1},
        {"type": "pre", "offset": 13, "length": 5, "language": "python"},
    ]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("第一行<br>第二行", 'Unsupported start tag "br"'),
        ("<b>未闭合", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>交叉</b></i>", "Unmatched end tag"),
        ("1 < 2", "Unsupported start tag at byte offset 2"),
    ],
)
def test_html_errors(source: str, message: str) -> None:
    with pytest.raises(EntityParseError, match=message):
        render(source, "HTML")


def test_markdown_v2() -> None:
    text, entities = render(
        "*粗* _斜_ __下__ ~删~ ||隐|| `码` [链](https://a.cn/x\\)y) 截止 5\\.1",
        "MarkdownV2",
    )
    assert text == "粗 斜 下 删 隐 码 链 截止 5.1"
    assert [e["type"] for e in entities] == [
        "bold", "italic", "underline", "strikethrough", "spoiler", "code", "text_link"
    ]
    assert entities[-1]["url"] == "https://a.cn/x)y"
    with pytest.raises(EntityParseError, match=re.escape("Character '.' is reserved")):
        render("截止 5.1", "MarkdownV2")
    with pytest.raises(EntityParseError, match="Can't find end of Bold entity"):
        render("*未闭合", "MarkdownV2")
    quote, quote_entities = render(">引用一\n>引用二\n正文", "MarkdownV2")
    assert quote == "引用一\n引用二\n正文"
    assert quote_entities == [{"type": "blockquote", "offset": 0, "length": 7}]


def test_legacy_markdown_and_explicit_entities() -> None:
    assert render("*粗* _斜_ `码` [链](http://a.cn)", "Markdown") == (
        "粗 斜 码 链",
        [
            {"type": "bold", "offset": 0, "length": 1},
            {"type": "italic", "offset": 2, "length": 1},
            {"type": "code", "offset": 4, "length": 1},
            {"type": "text_link", "offset": 6, "length": 1, "url": "http://a.cn"},
        ],
    )
    with pytest.raises(EntityParseError, match="Can't find end of the entity"):
        render("*未闭合", "Markdown")
    given_entities = [{"type": "bold", "offset": 0, "length": 1}]
    assert render("<b>x</b>", "HTML", given_entities) == ("<b>x</b>", given_entities)
    assert render("<b>x</b>", None) == ("<b>x</b>", [])


def test_detect_entities_counts_utf16() -> None:
    text = "😀 /done@duban_bot 任务 #督办 @zhangsan https://a.cn/x"
    assert detect_entities(text) == [
        {"type": "bot_command", "offset": 3, "length": 15},
        {"type": "hashtag", "offset": 22, "length": 3},
        {"type": "mention", "offset": 26, "length": 9},
        {"type": "url", "offset": 36, "length": 14},
    ]
    assert detect_entities("路径 a/b 不是命令") == []


@given(st.text(min_size=1, max_size=40))
def test_escaped_html_round_trips(text: str) -> None:
    plain, entities = render(f"<b>{html.escape(text, quote=False)}</b>", "HTML")
    assert plain == text
    assert entities == [{"type": "bold", "offset": 0, "length": u16len(text)}]


@given(st.text(alphabet=st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)),
               min_size=1, max_size=40))
def test_escaped_markdown_v2_round_trips(text: str) -> None:
    plain, entities = render(f"*{escape_mdv2(text)}*", "MarkdownV2")
    assert plain == text
    assert entities == [{"type": "bold", "offset": 0, "length": u16len(text)}]


@given(st.text(alphabet="<>&/#;ab *_~|[]()`\\!.>\n", max_size=30), st.sampled_from(
    ["HTML", "MarkdownV2", "Markdown"]))
def test_parsers_fail_only_with_parse_errors(source: str, mode: str) -> None:
    try:
        text, entities = render(source, mode)
    except EntityParseError:
        return
    for entity in entities:
        assert entity["length"] > 0
        assert entity["offset"] + entity["length"] <= u16len(text)


def test_numeric_html_entities() -> None:
    assert render("&#26041;&#x6CD5; &#99999999; &#0;", "HTML")[0] == "方法 &#99999999; &#0;"
