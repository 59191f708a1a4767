"""The built site read as a browser reads it: what ``mkdocs build --strict`` cannot see.

A strict build passed while a browser showed option tables with shifted
columns (a ``|`` in a type), an endpoint syntax swallowed as an HTML tag
(``<host>[:<port>]``), a bold sentence broken by ``PET_*``, and an API
reference without names or signatures, with raw ``:class:`` roles and a
list folded into one paragraph. These tests parse the built HTML
(BeautifulSoup over the standard library's parser) and compare what a reader
sees with the code the pages are generated from.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import markdown
import pytest
from bs4 import BeautifulSoup, Tag

from rendezvous_di.backends import etcd_v3
from rendezvous_di.backends.builtin import BUILTIN_BACKENDS  # no torch: descriptions only
from tests.support.procs import REPO

# A reST role, in a docstring (``:class:`Name```) or as a page shows one (``:class:Name``).
ROLE = re.compile(r"(?<![\w:]):(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj):(?=\S)")
# Elements a page may contain; anything else is text a browser took for a tag (``<host>``).
# fmt: off
HTML_ELEMENTS = frozenset((
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del",
    "details", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "s", "samp", "small",
    "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "u", "ul", "var",
))
# fmt: on
CONTAINER_PROVIDERS = (
    "config_file",
    "environ",
    "config",
    "flags",
    "layers",
    "plugin_policy",
    "settings",
    "parameters",
    "backends",
    "handler",
)


def text(element: Tag) -> str:
    """What a reader sees in ``element``, whitespace collapsed."""
    return " ".join(element.get_text().split())


@pytest.fixture(scope="module")
def articles(built_site: Path) -> dict[str, Tag]:
    """Each page's content (the theme's navigation left out), keyed by its source page."""
    found = {}
    for page in sorted((REPO / "docs").glob("*.md")):
        html = built_site / ("" if page.stem == "index" else page.stem) / "index.html"
        article = BeautifulSoup(html.read_text(), "html.parser").find("article")
        assert isinstance(article, Tag), html
        found[page.name] = article
    return found


def rows(table: Tag) -> Iterator[list[str]]:
    for row in table.find_all("tr"):
        yield [text(cell) for cell in row.find_all(["th", "td"])]


def table_after(article: Tag, heading_id: str) -> Tag:
    heading = article.find(id=heading_id)
    assert heading is not None, f"no heading #{heading_id}"
    table = heading.find_next("table")
    assert isinstance(table, Tag), f"no table after #{heading_id}"
    return table


def test_every_table_keeps_its_columns(articles: dict[str, Tag]) -> None:
    """Python-Markdown pads or cuts a row to the header's width, so the contents are
    compared too (below); a row of another width means hand-written HTML went wrong."""
    for page, article in articles.items():
        for table in article.find_all("table"):
            header, *body = list(rows(table))
            for row in body:
                assert len(row) == len(header), f"{page}: {row} under {header}"


# torch's built-ins, and etcd-v3, which rendezvous-di ships (its table is generated too)
DOCUMENTED = {**BUILTIN_BACKENDS, etcd_v3.NAME: etcd_v3.DESCRIPTION}


@pytest.mark.parametrize("backend", sorted(DOCUMENTED))
def test_backend_option_tables_show_each_option_as_declared(
    articles: dict[str, Tag], backend: str
) -> None:
    schema = DOCUMENTED[backend].schema
    assert schema is not None
    header, *body = list(rows(table_after(articles["backends.md"], backend)))
    assert header == ["option", "type", "default", "meaning"]
    expected = []
    for option in schema.options:
        notes = ["required"] * option.required + ["torchrun passes it itself"] * option.launcher
        meaning = option.help + (f" ({', '.join(notes)})" if notes else "")
        default = "-" if option.default is None else str(option.default)
        expected.append([option.name, option.type_name, default, meaning])
    assert body == expected


@pytest.mark.parametrize(
    ("backend", "option", "shown"),
    [
        ("c10d", "store_type", "tcp|file"),
        ("etcd", "protocol", "http|https"),
        ("etcd-v2", "protocol", "http|https"),
        ("etcd-v3", "protocol", "http|https"),
    ],
)
def test_a_type_with_a_bar_stays_in_its_cell(
    articles: dict[str, Tag], backend: str, option: str, shown: str
) -> None:
    by_name = {row[0]: row for row in rows(table_after(articles["backends.md"], backend))}
    assert by_name[option][1] == shown


def test_torchrun_table_shows_every_flag_and_variable(articles: dict[str, Tag]) -> None:
    from rendezvous_di.config.torchrun import TORCHRUN_OPTIONS

    (table,) = [
        t for t in articles["configuration.md"].find_all("table") if "torchrun flag" in text(t)
    ]
    header, *body = list(rows(table))
    assert header == ["setting", "torchrun flag", "environment", "meaning"]
    assert body == [[o.key, o.flag, o.env, o.help] for o in TORCHRUN_OPTIONS]
    assert [
        "endpoint",
        "--rdzv-endpoint",
        "PET_RDZV_ENDPOINT",
        "rendezvous endpoint, <host>[:<port>]",
    ] in body


def test_no_text_is_taken_for_an_html_tag(articles: dict[str, Tag]) -> None:
    for page, article in articles.items():
        unknown = {t.name for t in article.find_all(True)} - HTML_ELEMENTS
        assert not unknown, f"{page}: text rendered as tags {sorted(unknown)}"


def test_bold_text_with_pet_star_renders_whole(articles: dict[str, Tag]) -> None:
    bold = [text(b) for b in articles["configuration.md"].find_all("strong")]
    assert (
        "defaults < detected scheduler < config file (YAML) < PET_* environment < "
        "explicit values < flags"
    ) in bold


def test_every_pet_star_of_a_page_survives_rendering(articles: dict[str, Tag]) -> None:
    """A ``PET_*`` in prose is a ``*`` Markdown may pair with the next one into emphasis."""
    for page, article in articles.items():
        written = (REPO / "docs" / page).read_text().count("PET_*")
        assert text(article).count("PET_*") >= written, page
        for emphasis in article.find_all(["em", "strong"]):
            assert not text(emphasis).endswith("PET_"), f"{page}: {emphasis}"


def test_no_raw_rest_roles_on_any_page(articles: dict[str, Tag]) -> None:
    for page, article in articles.items():
        page_text = article.get_text()
        role = ROLE.search(page_text)
        assert role is None, f"{page}: {page_text[role.start() - 60 : role.end() + 60]!r}"


def test_docstrings_use_markdown_not_rest_roles() -> None:
    """One docstring style (Google sections, Markdown text) across the package."""
    found = []
    for path in sorted((REPO / "rendezvous_di").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node) or ""
                found += [f"{path.relative_to(REPO)}: {m.group()}" for m in ROLE.finditer(doc)]
    assert not found, (
        "reST roles in docstrings (mkdocstrings renders Markdown): write `Name`, or "
        f"[`Name`][rendezvous_di.Name] for a name on the reference page: {found}"
    )


def public_names() -> list[tuple[str, str]]:
    import rendezvous_di
    import rendezvous_di.testing

    return [
        (module.__name__, name)
        for module in (rendezvous_di, rendezvous_di.testing)
        for name in module.__all__
    ]


@pytest.mark.parametrize(("module", "name"), public_names(), ids=[n for _, n in public_names()])
def test_reference_has_a_heading_and_signature_per_public_name(
    articles: dict[str, Tag], module: str, name: str
) -> None:
    path = f"{module}.{name}"
    heading = articles["reference.md"].find(id=path)
    assert isinstance(heading, Tag), f"no heading {path}"
    assert re.fullmatch(r"h[1-6]", heading.name), f"#{path} is a {heading.name}, not a heading"
    assert path in text(heading)
    signature = heading.find_next_sibling()
    assert isinstance(signature, Tag), f"nothing after the heading of {path}"
    assert "doc-signature" in (signature.get("class") or []), f"no signature under {path}"
    shown = text(signature)
    value: Any = getattr(importlib.import_module(module), name)
    if not callable(value):
        assert shown == f"{name} = {value!r}"
        return
    assert shown.startswith(f"{name}("), shown
    try:
        parameters = inspect.signature(value).parameters
    except ValueError:  # an exception without a constructor of its own: BaseException's
        parameters = {}
    for parameter in parameters:
        assert re.search(rf"\b{parameter}\b", shown), f"{parameter} missing from {shown}"


def test_docstring_lists_render_as_lists(articles: dict[str, Tag]) -> None:
    reference = articles["reference.md"]
    for paragraph in reference.find_all("p"):
        if "doc-class-bases" in (paragraph.get("class") or []):
            continue
        lines = paragraph.get_text().splitlines()
        folded = [line for line in lines[1:] if re.match(r"\s*([-*+]|\d+\.)\s|\s+\w+: ", line)]
        assert not folded, f"a list folded into a paragraph: {text(paragraph)[:200]}"
    heading = reference.find(id="rendezvous_di.RendezvousContainer")
    assert isinstance(heading, Tag)
    assert isinstance(heading.parent, Tag)
    items = [text(cell) for cell in heading.parent.select("li > b, li > code, tr > td:first-child")]
    assert [p for p in CONTAINER_PROVIDERS if p not in items] == []


def test_docstring_sections_document_one_name_per_row(articles: dict[str, Tag]) -> None:
    """Google sections take one name per entry: ``a, b: text`` shows name ``a,`` of type ``b``."""
    for table in articles["reference.md"].find_all("table"):
        header, *body = list(rows(table))
        if header[:1] == ["Name"]:
            assert [row[0] for row in body if not row[0].isidentifier()] == [], header


def load_hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", REPO / "docs" / "hooks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TRICKY = [
    "tcp|file",
    "<host>[:<port>]",
    "PET_* and *emphasis* and __dunder__",
    "a_b_c",
    "a `tick` and a \\ backslash",
    "[link](target) &amp; &lt;",
]


def test_cell_renders_any_text_as_itself() -> None:
    """The generators' one escaping function, through the site's own Markdown extensions."""
    cell = load_hooks().cell
    table = ["| text | code |", "| --- | --- |"]
    table += [f"| {cell(v)} | {cell(v, code=True)} |" for v in TRICKY]
    html = markdown.markdown("\n".join(table), extensions=["tables"])
    body = list(rows(BeautifulSoup(f"<div>{html}</div>", "html.parser")))[1:]
    assert body == [[" ".join(v.split())] * 2 for v in TRICKY]


def test_troubleshooting_shows_each_case_as_the_commands_print_it(
    articles: dict[str, Tag],
) -> None:
    """Every output on the page is generated from the commands: no hand-copied line is left
    to go stale (as the v2 API's ``fix:`` line did), and each case is there."""
    page = articles["troubleshooting.md"]
    text = page.get_text()
    assert "generated:" not in text
    blocks = [pre.get_text() for pre in page.find_all("pre")]
    shown = "\n".join(b for b in blocks if "$ rendezvous-di" in b or "$ PET_" in b)
    for expected in (
        "its v2 API is disabled (HTTP 404)",  # a real etcd without --enable-v2
        "error: etcd-v3: etcd at etcd:2379 is unreachable:",  # a silent listener
        "error: stopped by SIGTERM; no worker is left running",
        "error: cannot write the output: No space left on device",
        "starts with the scheme https://",
        "is a host with a port",
        "holds more than 10000 values",
        "once its YAML aliases are expanded",
        "'2:1': the maximum, 1, is below the minimum, 2",
    ):
        assert expected in shown, expected
    assert "fix: restart etcd with --enable-v2=true" not in text
    assert "plugin 'etcd-v3'" not in text
    # Every "error:" line on the page is in a generated block, under the command it came from.
    for block in blocks:
        if "error: " in block and "$ " not in block:
            raise AssertionError(f"an output without its command:\n{block}")
