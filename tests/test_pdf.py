"""Worksheet PDFs: fillable, tagged, the right size and length, byte-identical, rendered only when needed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import weasyprint
from conftest import BASIC_FILES, ROOT, SITE_YAML, page, run_build_py
from pypdf import PdfReader, PdfWriter

from mend import pdf
from mend.pipeline import Project, build

pytestmark = pytest.mark.slow    # left out of the fast lane: python -m pytest -m "not slow"

SHEET = page("worksheet", """\
    Fill this in when you have a quiet moment. If you feel unsafe, see [help](/help/).

    [text: first_name] What should we call you?

    ## How you feel

    [check: slept] I slept well
    [check: ate] I ate properly
    [scale: mood, 1-5] My mood | very low | very good
    [lines: notes, 4] Anything else

    ## Plans

    [table: pros_cons, 3] Reasons for | Reasons against
    """, title="Should I get back with my ex?", file_title="Weekly notes", pages=1, order=1)
OTHER = page("worksheet", "Second sheet.\n\n[text: one_thing] One thing\n", title="Another sheet",
             file_title="Other notes", pages=1, order=2)
FILES = {"content/worksheets/check-in.md": SHEET, "content/worksheets/another.md": OTHER}

POINTS = {"a4": (595.28, 841.89), "letter": (612.0, 792.0)}
MULTILINE, RADIO = 1 << 12, 1 << 15


def new_project(root: Path, files: dict[str, str]) -> Project:
    """A fixture site with the real templates and no bibliography (these sheets cite nothing)."""
    shutil.copytree(ROOT / "templates", root / "templates")
    for name, text in {"content/site.yaml": SITE_YAML, **BASIC_FILES, **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, "utf-8")
    return Project(root)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Project:
    project = new_project(tmp_path_factory.mktemp("pdf"), FILES)
    result = build(project, strict=True)
    assert result.written, result.report.format()
    return project


def reader(project: Project, path: str) -> PdfReader:
    return PdfReader(project.out / path)


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_each_paper_size_gives_a_fillable_tagged_one_page_pdf(built, paper):
    doc = reader(built, f"worksheets/check-in/check-in-{paper}.pdf")
    assert len(doc.pages) == 1
    box = doc.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(POINTS[paper], abs=0.01)
    assert doc.metadata.title == "Weekly notes"           # file_title, not the revealing page title
    assert doc.metadata.author == "Mend editorial team"
    assert doc.metadata.producer == f"WeasyPrint {weasyprint.__version__}"
    catalog = doc.trailer["/Root"]
    assert catalog["/Lang"] == "en-GB"
    assert bool(catalog["/MarkInfo"]["/Marked"]) and "/StructTreeRoot" in catalog
    assert bool(catalog["/ViewerPreferences"]["/DisplayDocTitle"])
    assert 'pdfuaid:part="1"' in catalog["/Metadata"].get_object().get_data().decode()
    fields = doc.get_fields()
    # Names carry the worksheet's slug: the booklet binds these very pages, so they must be unique there.
    kinds = {name: (f["/FT"], int(f.get("/Ff", 0)) & (MULTILINE | RADIO), f["/TU"]) for name, f in fields.items()}
    cells = {f"check-in/pros_cons_{row}_{side}": ("/Tx", 0, f"{heading}, row {row}") for row in (1, 2, 3)
             for side, heading in (("left", "Reasons for"), ("right", "Reasons against"))}
    assert kinds == {
        "check-in/first_name": ("/Tx", 0, "What should we call you?"),
        "check-in/slept": ("/Btn", 0, "I slept well"),
        "check-in/ate": ("/Btn", 0, "I ate properly"),
        "check-in/mood": ("/Btn", RADIO, "My mood (1 = very low, 5 = very good)"),
        "check-in/notes": ("/Tx", MULTILINE, "Anything else"),
        **cells,
    }
    assert len(fields["check-in/mood"]["/Kids"]) == 5 and list(fields["check-in/mood"]["/Opt"]) == ["1", "2", "3", "4", "5"]
    assert "/on" in fields["check-in/slept"]["/_States_"]


@pytest.mark.parametrize("path", ["worksheets/check-in/check-in-a4.pdf", "worksheets/worksheets-letter.pdf"])
def test_radio_buttons_are_reached_through_their_group_only(built, path):
    """The AcroForm's top-level /Fields lists each scale's group, never its buttons besides it
    (validators count those as extra fields)."""
    form = reader(built, path).trailer["/Root"]["/AcroForm"]
    top = [ref.get_object() for ref in form["/Fields"]]
    assert [f for f in top if "/Parent" in f] == []
    groups = [f for f in top if f.get("/FT") == "/Btn" and "/Kids" in f]
    assert len(groups) == 1 and len(groups[0]["/Kids"]) == 5            # the 1-5 mood scale
    assert all(kid.get_object()["/Parent"].get_object() == groups[0] for kid in groups[0]["/Kids"])


def test_pdfs_embed_the_shipped_fonts_and_stay_small(built):
    path = built.out / "worksheets/check-in/check-in-a4.pdf"
    doc = PdfReader(path)
    resources = [doc.pages[0]["/Resources"], doc.trailer["/Root"]["/AcroForm"]["/DR"]]
    fonts = {font.get_object()["/BaseFont"].split("+")[1] for r in resources for font in r["/Font"].values()}
    assert fonts == {"Atkinson-Hyperlegible", "Atkinson-Hyperlegible-Bold"}
    assert path.stat().st_size < 100_000


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_booklet_holds_every_worksheet_with_unique_field_names(built, paper):
    doc = reader(built, f"worksheets/worksheets-{paper}.pdf")
    assert doc.metadata.title == "Test site worksheets"
    assert len(doc.pages) == 2
    assert "What should we call you?" in doc.pages[0].extract_text()
    assert "Another sheet" in doc.pages[1].extract_text()    # each worksheet starts a page
    names = set(doc.get_fields())
    assert {"check-in/first_name", "check-in/mood", "check-in/pros_cons_3_right", "another/one_thing"} <= names


def test_links_in_a_pdf_point_to_the_website(built):
    doc = reader(built, "worksheets/check-in/check-in-a4.pdf")
    uris = [a.get_object()["/A"]["/URI"] for a in doc.pages[0]["/Annots"]
            if a.get_object()["/Subtype"] == "/Link"]
    assert uris == ["https://example.org/help/"]


def test_a_fresh_process_gives_byte_identical_pdfs(built, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(built.root / "content", copy / "content")
    shutil.copytree(built.root / "templates", copy / "templates")
    done = run_build_py(copy, "build", "--strict")     # no cache, another hash seed, other processes
    assert done.returncode == 0, done.stderr
    for path in sorted(built.out.rglob("*.pdf")):
        assert (copy / "site" / path.relative_to(built.out)).read_bytes() == path.read_bytes(), path


def test_pdfs_are_rendered_again_only_when_an_input_changed(tmp_path, monkeypatch):
    rendered: list[list[str]] = []
    real = pdf.render_jobs
    monkeypatch.setattr(pdf, "render_jobs", lambda tasks: rendered.append(sorted(j.path for j, _ in tasks)) or real(tasks))
    project = new_project(tmp_path, FILES)
    booklets = ["worksheets/worksheets-a4.pdf", "worksheets/worksheets-letter.pdf"]
    other = ["worksheets/another/another-a4.pdf", "worksheets/another/another-letter.pdf"]
    everything = sorted(booklets + other + ["worksheets/check-in/check-in-a4.pdf",
                                            "worksheets/check-in/check-in-letter.pdf"])

    def build_and_read() -> dict[str, bytes]:
        assert build(project, strict=True).written
        return {p.relative_to(project.out).as_posix(): p.read_bytes() for p in project.out.rglob("*.pdf")}

    first = build_and_read()
    assert rendered.pop() == everything
    assert build_and_read() == first and not any(rendered)     # nothing changed: nothing rendered
    rendered.clear()
    (project.content / "worksheets/another.md").write_text(OTHER.replace("One thing", "One small thing"))
    build_and_read()
    assert rendered.pop() == sorted(booklets + other)                   # only what shows that sheet
    with open(project.templates / "pdf/print.css", "a") as css:
        css.write("\nh1 { letter-spacing: 0.01em; }\n")
    build_and_read()
    assert rendered.pop() == everything


def test_a_worksheet_longer_than_its_pages_fails_the_build(tmp_path, run):
    long = page("worksheet", "".join(f"[lines: box_{n}, 20] Box {n}\n" for n in range(3)),
                title="Long", file_title="Long notes", pages=1)
    project = new_project(tmp_path, {"content/worksheets/long.md": long})
    outcome = run(project, "build")
    assert outcome.code == 1
    line = long.split("\n").index("pages: 1") + 1
    assert [d for d in outcome.diagnostics if "overflow" in d] == [
        f"content/worksheets/long.md:{line}:1: error[worksheet-overflow]: the worksheet needs 3 pages on {paper} "
        "paper but declares pages: 1" for paper in ("A4", "US Letter")]
    assert not project.out.exists()


def test_pdfs_read_no_file_outside_their_templates_and_nothing_from_the_network(tmp_path, run):
    project = new_project(tmp_path / "site", FILES)
    outside = tmp_path / "outside.css"
    outside.write_text("@page { size: A3 }")
    template = project.templates / "pdf/worksheet.html"
    template.write_text(template.read_text().replace(
        '<link rel="stylesheet" href="print.css">',
        f'<link rel="stylesheet" href="print.css"><link rel="stylesheet" href="{outside.as_uri()}">'
        '<link rel="stylesheet" href="https://example.org/remote.css">'))
    outcome = run(project, "build")
    assert outcome.code == 0, outcome.stderr
    warnings = [line for line in outcome.stderr.splitlines() if "warning[pdf-warning]" in line]
    assert any("outside.css" in w for w in warnings) and any("remote.css" in w for w in warnings)
    assert len(warnings) == 2 * len(FILES)     # once per worksheet, not per paper size or booklet
    box = reader(project, "worksheets/check-in/check-in-a4.pdf").pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(POINTS["a4"], abs=0.01)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs pdftoppm (Debian: poppler-utils)")
def test_values_filled_in_with_pypdf_appear_inside_their_boxes(built, tmp_path):
    from PIL import Image, ImageChops

    source = built.out / "worksheets/check-in/check-in-a4.pdf"
    filled = tmp_path / "filled.pdf"
    writer = PdfWriter(clone_from=PdfReader(source))
    values = {"check-in/first_name": "Sam Example", "check-in/notes": "Writing in the box",
              "check-in/pros_cons_2_right": "A reason", "check-in/slept": "/on"}
    writer.update_page_form_field_values(writer.pages[0], values, auto_regenerate=False)
    writer.write(filled)

    def raster(path: Path) -> Image.Image:
        """Page 1 at 72 dpi (one pixel a point), black and white."""
        out = tmp_path / path.stem
        subprocess.run(["pdftoppm", "-r", "72", "-png", "-singlefile", str(path), str(out)], check=True)
        return Image.open(out.with_suffix(".png")).convert("L").point(lambda v: 255 if v > 128 else 0)

    difference = ImageChops.difference(raster(source), raster(filled))
    assert difference.getbbox() is not None, "the filled-in values do not show"
    height = float(PdfReader(filled).pages[0].mediabox.height)
    boxes = []
    for annotation in PdfReader(filled).pages[0]["/Annots"]:
        field = annotation.get_object()
        if field.get("/T") in values:
            x1, y1, x2, y2 = (float(v) for v in field["/Rect"])      # corners, in either order
            boxes.append((min(x1, x2), height - max(y1, y2), max(x1, x2), height - min(y1, y2)))  # y down
    for y in range(difference.height):
        for x in range(difference.width):
            if difference.getpixel((x, y)):
                assert any(b[0] - 2 <= x <= b[2] + 2 and b[1] - 2 <= y <= b[3] + 2 for b in boxes), (x, y)
    for box in boxes:       # and every value made a mark in its own box
        assert difference.crop(tuple(round(v) for v in box)).getbbox() is not None, box


def test_the_weasyprint_pin_is_the_version_installed():
    pin = re.search(r'"weasyprint==([\d.]+)"', (ROOT / "pyproject.toml").read_text())
    assert pin and pin[1] == weasyprint.__version__
