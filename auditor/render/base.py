"""The renderer registry: one small class per report format, and writing reports to disk.

A format is a `Renderer` subclass decorated with `@register`, in its own module under
`auditor.render`; `auditor/render/__init__.py` imports each such module so that importing
the package fills `RENDERERS`. Renderers import their heavy libraries inside `render`, so
importing this package stays cheap (`--help` and `validate` never load jinja2).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar, TypeVar

from auditor.files import locked_folder
from auditor.files import write_atomically as write_atomically  # re-exported by auditor.render
from auditor.report import AuditReport


class Renderer(ABC):
    """Turns an `AuditReport` into the bytes of one file."""

    name: ClassVar[str]
    """What the user types after `--format`, e.g. `html`."""
    extension: ClassVar[str]
    """The file name suffix without the dot, e.g. `html` or `sarif.json`."""
    media_type: ClassVar[str]
    """The MIME type of the output, for uploads and artifacts."""

    @abstractmethod
    def render(self, report: AuditReport) -> bytes:
        """The complete file content."""

    def filename(self, stem: str) -> str:
        return f"{stem}.{self.extension}"

    def render_files(self, report: AuditReport, stem: str) -> dict[str, bytes]:
        """Every file of this format by name: `<stem>.<extension>`, and any file it links to beside it."""
        return {self.filename(stem): self.render(report)}


RENDERERS: dict[str, Renderer] = {}

R = TypeVar("R", bound=type[Renderer])


def register(renderer_class: R) -> R:
    """Class decorator: add one instance of `renderer_class` to `RENDERERS` under its name."""
    name = renderer_class.name
    if name in RENDERERS:
        raise ValueError(f"a renderer named {name!r} is already registered")
    RENDERERS[name] = renderer_class()
    return renderer_class


def get_renderer(name: str) -> Renderer:
    try:
        return RENDERERS[name]
    except KeyError:
        known = ", ".join(sorted(RENDERERS)) or "(none)"
        raise ValueError(f"unknown report format {name!r}; known formats: {known}") from None


def write_reports(
    report: AuditReport, out_dir: Path, formats: list[str], stem: str = "sspr-audit"
) -> list[Path]:
    """Render `report` in each format and write `<out_dir>/<stem>.<extension>` files.

    Every format is rendered before anything is written, so an unknown format or a failing
    renderer leaves the folder untouched. Each file is replaced atomically: a reader sees the
    old report or the new one, never half of one. Files are readable by the owner only,
    because reports name tenant objects and settings.
    """
    renderers = [get_renderer(name) for name in dict.fromkeys(formats)]
    rendered = [pair for renderer in renderers for pair in renderer.render_files(report, stem).items()]
    with locked_folder(out_dir) as folder:  # written relative to the locked descriptor: never through a link
        return [folder.write(filename, content) for filename, content in rendered]
