"""Command-line interface (thin): parse arguments, call the library, print.

Exit codes (``ptce-nlp --help`` and the README list them):

====  ==========================================================
0     every input was read and all outputs were written
1     internal error (a bug: please report it with the command)
2     usage error (unknown option, missing argument, bad value)
3     some inputs failed; outputs were written for the others
4     no usable input (invalid manifest, or every file failed);
      nothing was written
5     outputs could not be written
130   interrupted (Ctrl-C); no partial output is left
====  ==========================================================
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__
from .errors import ManifestError, OutputError, PtceError

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_PARTIAL, EXIT_NO_INPUT, EXIT_OUTPUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 5, 130

EXIT_CODES_HELP = """\b
Exit codes:
  0    all inputs read, outputs written
  1    internal error (please report it)
  2    usage error
  3    some inputs failed (listed); outputs written for the others
  4    no usable input (invalid manifest or every file failed)
  5    outputs could not be written
  130  interrupted; no partial output left
"""


class _Cli(click.Group):
    """A group that turns library errors into one-line ``Error:`` messages."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ManifestError as exc:
            _error(str(exc) + "\nFix the manifest and run again.")
            ctx.exit(EXIT_NO_INPUT)
        except OutputError as exc:
            _error(str(exc))
            ctx.exit(EXIT_OUTPUT)
        except PtceError as exc:
            _error(str(exc))
            ctx.exit(EXIT_NO_INPUT)
        except KeyboardInterrupt:
            _error("interrupted; no partial output was left behind")
            ctx.exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:  # pragma: no cover - a bug, reported without a traceback
            if ctx.params.get("debug") or (ctx.obj or {}).get("debug"):
                raise
            _error(f"internal error: {exc.__class__.__name__}: {exc} "
                   "(run again with --debug for the traceback and report it)")
            ctx.exit(EXIT_INTERNAL)


def _error(message: str) -> None:
    click.echo(f"Error: {message}", err=True)


@click.group(cls=_Cli, epilog=EXIT_CODES_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="ptce-nlp")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Text mining of French documents on territorial economic poles (PTCE,
    clusters, pôles de compétitivité): ingest, code, score, export, report.

    \b
    Example:
      ptce-nlp ingest corpus --out out
    """
    ctx.obj = {"debug": debug}


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder that receives documents.csv and segments.csv.")
@click.option("--max-file-mb", default=200.0, show_default=True, type=click.FloatRange(min=0.001),
              help="Refuse input files larger than this.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar, no summary (errors still shown).")
def ingest(paths: tuple[Path, ...], out_dir: Path, max_file_mb: float, quiet: bool) -> None:
    """Read, clean and segment documents (txt, md, docx, odt, pdf, html).

    PATHS are files, folders (read through their manifest.csv when they have
    one, else file by file with doc_id = file name) or manifest.csv files.
    Writes documents.csv (one row per document, with metadata and counts) and
    segments.csv (paragraphs and sentences with start_char/end_char into the
    original text).

    \b
    Example:
      ptce-nlp ingest corpus --out out
      ptce-nlp ingest fiches/*.pdf notes.docx --out results
    """
    from tqdm import tqdm

    from .corpus import find_sources
    from .ingest import ingest as run_ingest
    from .ingest import write_ingest

    sources, _ = find_sources(paths)
    bar = tqdm(total=len(sources), desc="Lecture des documents", unit="doc", disable=quiet or None,
               file=sys.stderr, leave=False)

    def progress(path: str, failure) -> None:
        if failure is not None:
            bar.write(f"Error: {failure}", file=sys.stderr)
        else:
            bar.update(1)

    try:
        result = run_ingest(paths, max_file_mb=max_file_mb, progress=progress)
    finally:
        bar.close()
    ctx = click.get_current_context()
    if not result.documents:
        _error(f"no document could be read from {len(result.failures)} input(s); nothing written")
        ctx.exit(EXIT_NO_INPUT)
    written = write_ingest(result, out_dir)
    if not quiet:
        n_par = int((result.segments_table["kind"] == "paragraph").sum())
        n_sent = len(result.segments_table) - n_par
        click.echo(f"Read {len(result.documents)} document(s): {n_par} paragraphs, {n_sent} sentences.", err=True)
        click.echo("Wrote " + ", ".join(str(p) for p in written), err=True)
    if result.failures:
        click.echo(f"{len(result.failures)} input(s) failed, the others were read:", err=True)
        for failure in result.failures:
            click.echo(f"  - {failure}", err=True)
        ctx.exit(EXIT_PARTIAL)
