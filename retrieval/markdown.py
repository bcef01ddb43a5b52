"""Clean Markdown and MDX (Docusaurus) articles for display and embedding, and cut them into sections.

Cleaning keeps headings, paragraphs, lists, tables, absolute links and fenced code, and removes
what the rendered page does not show as text: front matter, MDX `import`/`export`
lines, HTML comments, `<head>`, `<script>` and `<style>` blocks, JSX/HTML tags (their inner text
stays), admonition fences (`:::tip Title` keeps its title), images and the targets of relative
links. Fenced code blocks and inline code spans are never changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEADING_SEPARATOR = " > "
_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*#*[ \t]*$")
_FRONT_MATTER_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s?(.*)$")
_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INLINE_CODE = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_HIDDEN_BLOCK = re.compile(r"<(head|script|style)\b[^>]*>.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_MDX_STATEMENT = re.compile(
    r"^(?:import\s+(?:[\w*{}\s,]+\s+from\s+)?['\"][^'\"]+['\"]|export\s+(?:default|const|let|var|function)\b.*?);?[ \t]*$",
    re.MULTILINE,
)
# A tag name followed by attributes, where JSX attribute values may hold one level of nested braces
# such as src={useBaseUrl('img/a.png')} or style={{color: 'red'}}. Names with dots or colons are
# left alone, so autolinks (<https://...>) and placeholders such as <example.com> survive.
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s(?:[^<>{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)?/?\s*>")
_LINE_BREAK_TAG = re.compile(r"<br\s*/?\s*>", re.IGNORECASE)
_JSX_SPACE = re.compile(r"\{\s*(['\"])\s*\1\s*\}")
_ADMONITION = re.compile(r"^[ \t]*:::[ \t]*([A-Za-z]*)[ \t]*(?:\[([^\]]*)\])?[ \t]*(.*?)[ \t]*$", re.MULTILINE)
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_RELATIVE_LINK = re.compile(r"\[([^\]]+)\]\((?!https?://|mailto:)[^)]*\)")
_BLANK_RUNS = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)


@dataclass(frozen=True)
class Section:
    """The body of a document under one heading path, with its offset in the document text."""

    heading: str
    text: str
    start: int


@dataclass(frozen=True)
class TextBlock:
    """A run of lines that is either fenced code (kept verbatim) or prose (cleaned)."""

    text: str
    is_code: bool


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split a leading YAML front matter block from `text` and return its scalar fields and the rest.

    Only the subset of YAML that help-centre front matter uses is read: `key: value` lines with
    plain, single- or double-quoted values, and `|` or `>` block scalars. Keys with nested lists or
    mappings get an empty string. Text without a closing `---` or `...` line is returned unchanged.
    """
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text
    end = next((number for number in range(1, len(lines)) if lines[number].strip() in ("---", "...")), None)
    if end is None:
        return {}, text
    return _parse_front_matter(lines[1:end]), "\n".join(lines[end + 1 :])


def _parse_front_matter(lines: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    number = 0
    while number < len(lines):
        match = _FRONT_MATTER_KEY.match(lines[number])
        number += 1
        if not match:
            continue
        key, raw = match.group(1), match.group(2).strip()
        if raw[:1] in ("|", ">"):
            block = []
            while number < len(lines) and (not lines[number].strip() or lines[number][:1] in (" ", "\t")):
                block.append(lines[number].strip())
                number += 1
            joiner = "\n" if raw[0] == "|" else " "
            values[key] = joiner.join(line for line in block if line).strip()
        else:
            values[key] = _unquote(raw)
    return values


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1].replace("''", "'")
    # A plain scalar ends at a comment marker.
    return raw.split(" #", 1)[0].strip()


def split_code_blocks(text: str) -> list[TextBlock]:
    """Split Markdown into alternating prose and fenced-code blocks.

    A fence closes at a line of the same character that is at least as long as the opening one. An
    unclosed fence runs to the end of the text, as CommonMark renders it.
    """
    blocks: list[TextBlock] = []
    current: list[str] = []
    fence = ""
    for line in text.split("\n"):
        if not fence:
            match = _FENCE_OPEN.match(line)
            if match:
                _flush(blocks, current, is_code=False)
                fence = match.group(1)
            current.append(line)
            continue
        current.append(line)
        stripped = line.strip()
        if stripped.startswith(fence) and set(stripped) == {fence[0]}:
            _flush(blocks, current, is_code=True)
            fence = ""
    _flush(blocks, current, is_code=bool(fence))
    return blocks


def _flush(blocks: list[TextBlock], lines: list[str], *, is_code: bool) -> None:
    if lines:
        blocks.append(TextBlock("\n".join(lines), is_code))
        lines.clear()


def clean_markdown(text: str) -> str:
    """Return the readable Markdown of an article body (front matter already removed)."""
    parts = [block.text if block.is_code else _clean_prose(block.text) for block in split_code_blocks(text)]
    joined = "\n".join(parts)
    joined = _TRAILING_SPACE.sub("", joined)
    return _BLANK_RUNS.sub("\n\n", joined).strip()


def _clean_prose(text: str) -> str:
    # Inline code may contain tag-like text (`<script>`), so it is swapped out while tags are removed.
    spans: list[str] = []

    def hide(match: re.Match[str]) -> str:
        spans.append(match.group(0))
        return f"\ue000{len(spans) - 1}\ue001"

    text = _INLINE_CODE.sub(hide, text)
    text = _HTML_COMMENT.sub("", text)
    text = _HIDDEN_BLOCK.sub("", text)
    text = _MDX_STATEMENT.sub("", text)
    text = _LINE_BREAK_TAG.sub(" ", text)
    text = _TAG.sub("", text)
    text = _JSX_SPACE.sub(" ", text)
    text = _ADMONITION.sub(_admonition_title, text)
    text = _IMAGE.sub("", text)
    text = _RELATIVE_LINK.sub(r"\1", text)
    return re.sub(r"\ue000(\d+)\ue001", lambda match: spans[int(match.group(1))], text)


def _admonition_title(match: re.Match[str]) -> str:
    # ":::tip Title" and ":::tip[Title]" keep the title as a line of text. A bare ":::note" and the
    # closing ":::" become empty lines.
    return (match.group(2) or match.group(3) or "").strip()


def split_sections(text: str) -> list[Section]:
    """Cut Markdown text at ATX headings (`#` to `######`) outside fenced code.

    Heading lines themselves belong to no section. They appear in the `heading` path of the
    sections below them. Sections with no text are dropped.
    """
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    section_start = 0
    offset = 0

    def close(end: int) -> None:
        body = text[section_start:end]
        if body.strip():
            leading = len(body) - len(body.lstrip())
            sections.append(
                Section(HEADING_SEPARATOR.join(name for _, name in stack), body.strip(), section_start + leading)
            )

    for block in split_code_blocks(text):
        for line in block.text.split("\n"):
            match = None if block.is_code else _ATX_HEADING.match(line)
            if match:
                close(offset)
                level = len(match.group(1))
                while stack and stack[-1][0] >= level:
                    stack.pop()
                name = (match.group(2) or "").strip()
                if name:
                    stack.append((level, name))
                section_start = offset + len(line) + 1
            offset += len(line) + 1
    close(len(text))
    return sections
