"""The built tables (gather.tables.Table) as text: md, csv or tex, every cell from the same glyphs.

Text formats (`render(tables, fmt)`):
  md   GitHub pipe tables, a "### T5 ..." heading, notes as a list; unicode −, ±, –, Δ, †.
  csv  per table a "# T5 ..." line, one header row, the rows, "# note" lines, a blank line.
       A cell stays one string, in ASCII: "35.8 +/- 0.3", Δ "+0.4 +/- 0.2 [-0.1, +0.9]",
       missing "-", unpaired Δ marked "*", conditional Δ "^". (Split on " +/- " and "[" to get
       the numbers.)
  tex  per table a "% T5 ..." comment and a booktabs tabular; "$\\pm$", "--" for missing,
       ASCII "-" for minus, notes as "% " comments.

T2-T4 (the DaR paper's layout) put an arm's improvement over the baseline in brackets after its
mean ± std: "94.1 ± 0.2 (+0.3 [−0.1, +0.6])"; "original paper" cells print the published number
with two decimals, as recorded.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from common.vocab import IID
from gather.collect import Warn, warn_stderr
from gather.stats import Delta, Summary
from gather.tables import ArmCell, Cost, CostedSummary, Published, Table, gather_tables


@dataclass(frozen=True)
class Glyphs:
    """The characters a format prints for minus, ±, a missing cell, % and the unpaired mark."""

    minus: str
    pm: str
    missing: str
    percent: str
    unpaired: str
    delta: str
    conditional: str


MD = Glyphs(minus="−", pm="±", missing="–", percent="%", unpaired="†", delta="Δ", conditional="‡")
CSV = Glyphs(minus="-", pm="+/-", missing="-", percent="%", unpaired="*", delta="Delta", conditional="^")
TEX = Glyphs(minus="-", pm="$\\pm$", missing="--", percent="\\%", unpaired="$^\\dagger$",
             delta="$\\Delta$", conditional="$^\\ddagger$")


def format_number(x: float, g: Glyphs, signed: bool = False, decimals: int = 1) -> str:
    """x to `decimals` places; signed adds "+" to positives; a value rounding to 0 is "0.0"."""
    text = f"{abs(x):.{decimals}f}"
    if float(text) == 0.0:
        return text
    if x < 0:
        return g.minus + text
    return ("+" if signed else "") + text


def format_summary(s: Summary | None, g: Glyphs) -> str:
    """"35.8" for one seed, "35.8 ± 0.3" for several, the missing glyph for none."""
    if s is None:
        return g.missing
    if s.std is None:
        return format_number(s.mean, g)
    return f"{format_number(s.mean, g)} {g.pm} {format_number(s.std, g)}"


def format_delta(d: Delta | None, g: Glyphs) -> str:
    """"+0.4" (one pair), "+0.4 ± 0.2 [−0.1, +0.9]" (several), "+0.4†" (unpaired means), a
    trailing "‡" when the Δ is conditional on one backbone per arm."""
    if d is None:
        return g.missing
    head = format_number(d.mean, g, signed=True)
    mark = g.conditional if d.conditional else ""
    if not d.paired:
        return head + g.unpaired
    if d.std is None:
        return head + mark
    return (f"{head} {g.pm} {format_number(d.std, g)} "
            f"[{format_number(d.low, g, True)}, {format_number(d.high, g, True)}]{mark}")


def format_improvement(d: Delta, g: Glyphs) -> str:
    """A paper-layout cell's bracket: "+0.4" (one pair), "+0.4 [−0.1, +0.9]" (an interval), marked
    † (unpaired means) or ‡ (conditional on one backbone per arm) as format_delta marks them."""
    head = format_number(d.mean, g, signed=True)
    if not d.paired:
        return head + g.unpaired
    mark = g.conditional if d.conditional else ""
    if d.low is None or d.high is None:
        return head + mark
    return f"{head} [{format_number(d.low, g, True)}, {format_number(d.high, g, True)}]{mark}"


def format_cost(c: Cost, g: Glyphs) -> str:
    """A cost in percent, at most one decimal, "%": 1.0 -> "100%", Δ -0.14 -> "−14%"."""
    if c.value is None:
        return g.missing
    text = format_number(100.0 * c.value, g, signed=c.signed).removesuffix(".0")
    return text + g.percent


def format_cell(cell, g: Glyphs) -> str:
    """Any cell of a Row as text in the glyphs of one format."""
    if isinstance(cell, CostedSummary):
        if cell.summary is None:
            return g.missing
        cost = f" ({format_cost(Cost(cell.cost), g)})" if cell.cost is not None else ""
        return format_summary(cell.summary, g) + cost
    if isinstance(cell, ArmCell):
        bracket = f" ({format_improvement(cell.improvement, g)})" if cell.improvement is not None else ""
        return format_summary(cell.summary, g) + bracket
    if isinstance(cell, Published):  # as printed: two decimals
        return format_number(cell.value, g, decimals=2)
    if isinstance(cell, Cost):
        return format_cost(cell, g)
    if isinstance(cell, Delta):
        return format_delta(cell, g)
    if isinstance(cell, Summary) or cell is None:
        return format_summary(cell, g)
    return glyph_text(str(cell), g)


def glyph_text(text: str, g: Glyphs) -> str:
    """Free text (labels) with the unicode Δ and − swapped for the format's glyphs."""
    return text.replace("Δ", g.delta).replace("−", g.minus)


def text_rows(table: Table, g: Glyphs) -> list[list[str]]:
    """The table's rows as strings in the glyphs of one format."""
    return [[format_cell(c, g) for c in row.labels + row.values] for row in table.rows]


def _ascii(note: str) -> str:
    return (note.replace("Δ", "Delta").replace("−", "-").replace("±", "+/-")
            .replace("†", "*").replace("‡", "^").replace("×", "x"))


def render_md(table: Table) -> str:
    """A GitHub pipe table under a "### T5 ..." heading, notes as a list."""
    spec = table.spec
    align = [":--"] * len(spec.label_columns) + ["--:"] * len(spec.metrics)
    lines = [f"### {spec.heading}", "", "| " + " | ".join(spec.columns) + " |",
             "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in text_rows(table, MD)]
    if table.notes:
        lines += [""] + [f"- {note}" for note in table.notes]
    return "\n".join(lines) + "\n"


def render_csv(table: Table) -> str:
    """"# T5 ..." then one header row and the rows (ASCII cells), then "# note" lines."""
    out = io.StringIO()
    out.write(f"# {table.spec.heading}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.spec.columns)
    writer.writerows(text_rows(table, CSV))
    for note in table.notes:
        out.write(f"# {_ascii(note)}\n")
    return out.getvalue()


_TEX_SPECIAL = {"_": "\\_", "%": "\\%", "&": "\\&", "#": "\\#"}


def tex_header(label: str) -> str:
    """A column header in TeX: "AP50^bb" -> "AP50$^{bb}$", "Pre-train Cost" unchanged, "DaR (73%
    cost)" -> "DaR (73\\% cost)"."""
    base, _, sup = label.partition("^")
    return _tex_text(base) + (f"$^{{{sup}}}$" if sup else "")


def _tex_text(cell: str) -> str:
    # only free text (arm and arch names) can carry TeX specials; numbers come from TEX glyphs
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in cell)


def render_tex(table: Table) -> str:
    """A booktabs tabular under a "% T5 ..." comment; a midrule between groups."""
    spec = table.spec
    n_labels = len(spec.label_columns)
    align = "l" * n_labels + "r" * len(spec.metrics)
    lines = [f"% {spec.heading}", f"\\begin{{tabular}}{{{align}}}",
             "\\toprule", " & ".join(tex_header(c) for c in spec.columns) + " \\\\", "\\midrule"]
    previous = None
    for row in table.rows:
        if previous is not None and row.group != previous:
            lines.append("\\midrule")
        previous = row.group
        # escape the free text before the glyphs add TeX of their own ($\Delta$)
        cells = [glyph_text(_tex_text(c), TEX) if isinstance(c, str) else format_cell(c, TEX)
                 for c in row.labels]
        cells += [format_cell(v, TEX) for v in row.values]
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    lines += [f"% {_ascii(note)}" for note in table.notes]
    return "\n".join(lines) + "\n"


RENDERERS = {"md": render_md, "csv": render_csv, "tex": render_tex}


def render(tables: list[Table], fmt: str = "md") -> str:
    """All tables in one format ("md", "csv" or "tex"), separated by blank lines."""
    if fmt not in RENDERERS:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(RENDERERS)}")
    return "\n".join(RENDERERS[fmt](t) for t in tables)


def render_all(results_dir: str | Path, baseline: str = IID, fmt: str = "md",
               warn: Warn = warn_stderr, original_paper: dict | None = None) -> str:
    """Collect every run under `results_dir` and render every table with data (`original_paper`:
    an experiment's published numbers for T2-T4, gather.tables.check_original_paper)."""
    tables, _ = gather_tables(results_dir, baseline, warn, original_paper)
    return render(tables, fmt)
