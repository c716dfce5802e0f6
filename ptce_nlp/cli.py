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


# --------------------------------------------------------------------------- coding

def _codebook_option(f):
    f = click.option("--codebook", "codebook_path", default="ptce", show_default=True,
                     help="A YAML codebook, or the name of a shipped one (ptce, referentiel).")(f)
    f = click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Parse cache folder (default: the per-user cache, ~/.cache/ptce_nlp).")(f)
    f = click.option("--no-cache", is_flag=True, help="Parse everything again and write nothing to the cache.")(f)
    f = click.option("--jobs", "-j", default=1, show_default=True, type=click.IntRange(min=1),
                     help="Processes for parsing (spaCy n_process).")(f)
    f = click.option("--accent-insensitive", is_flag=True, help="Match lemmas without regard to accents.")(f)
    f = click.option("--quiet", "-q", is_flag=True, help="No progress bar, no summary (errors still shown).")(f)
    return f


def _load_codebook_cli(spec: str, quiet: bool):
    from .codebook import SHIPPED, Codebook

    book = Codebook.shipped(spec) if spec in SHIPPED else Codebook.from_yaml(Path(spec))
    if not quiet:
        for warning in book.warnings:
            click.echo(f"Warning: {book.source}: {warning}", err=True)
    return book


def _read_inputs(paths, quiet: bool):
    from tqdm import tqdm

    from .corpus import find_sources, iter_read
    from .types import ReadFailure

    sources, failures = find_sources(paths)
    for failure in failures:
        _error(str(failure))
    documents = []
    for item in tqdm(iter_read(sources), total=len(sources), desc="Lecture", unit="doc",
                     disable=quiet or None, file=sys.stderr, leave=False):
        if isinstance(item, ReadFailure):
            _error(str(item))
            failures.append(item)
        else:
            documents.append(item)
    return documents, failures


def _code_corpus(documents, book, *, cache_dir, no_cache, jobs, accent_insensitive, quiet):
    from tqdm import tqdm

    from .analysis import code_documents

    bar = tqdm(total=len(documents), desc="Analyse spaCy", unit="doc", disable=quiet or None, file=sys.stderr,
               leave=False)

    def progress(done: int) -> None:
        bar.n = done
        bar.refresh()

    try:
        return code_documents(documents, book, cache_dir=cache_dir, use_cache=not no_cache, jobs=jobs,
                              accent_insensitive=accent_insensitive, progress=progress)
    finally:
        bar.close()


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder that receives coded_segments.csv and code_counts.csv.")
@click.option("--from-table", "table", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Code the cells of a CSV, JSONL or XLSX table instead of files.")
@click.option("--id-col", default=None, help="With --from-table: the column of document ids.")
@click.option("--text-col", default=None, help="With --from-table: the column of texts.")
@_codebook_option
def code(paths, out_dir, table, id_col, text_col, codebook_path, cache_dir, no_cache, jobs, accent_insensitive,
         quiet):
    """Code documents against a codebook (lemmas, multiword terms, negation, contrast).

    Writes coded_segments.csv (one row per match, with start_char/end_char
    into the original text, the sentence, and the negated/contrast flags) and
    code_counts.csv (counts and densities per 1,000 tokens per document, code
    and category; negated and contrast matches are not counted).

    \b
    Examples:
      ptce-nlp code corpus --out out
      ptce-nlp code fiches/ --codebook mon_codebook.yaml --jobs 2 --out res
      ptce-nlp code --from-table reponses.xlsx --id-col id --text-col texte --out res
    """
    from .io import write_csv

    ctx = click.get_current_context()
    book = _load_codebook_cli(codebook_path, quiet)
    if table is not None:
        if paths:
            raise click.UsageError("give either PATHS or --from-table, not both")
        if not id_col or not text_col:
            raise click.UsageError("--from-table needs --id-col and --text-col")
        from .tables import read_table

        documents, skipped = read_table(table, id_col=id_col, text_col=text_col)
        for warning in skipped:
            click.echo(f"Warning: {warning}", err=True)
        failures = []
    else:
        if not paths:
            raise click.UsageError("give PATHS to code, or --from-table")
        documents, failures = _read_inputs(paths, quiet)
    if not documents:
        _error("no document could be read; nothing written")
        ctx.exit(EXIT_NO_INPUT)
    result = _code_corpus(documents, book, cache_dir=cache_dir, no_cache=no_cache, jobs=jobs,
                          accent_insensitive=accent_insensitive, quiet=quiet)
    write_csv(result.coded, out_dir / "coded_segments.csv")
    write_csv(result.counts, out_dir / "code_counts.csv")
    if not quiet:
        n_scored = int((~result.coded["negated"] & ~result.coded["contrast"]).sum()) if len(result.coded) else 0
        click.echo(f"Coded {len(documents)} document(s): {len(result.coded)} matches ({n_scored} counted, "
                   f"{len(result.coded) - n_scored} negated or contrast); parsed {result.stats['parsed']}, "
                   f"from cache {result.stats['cached']}.", err=True)
        click.echo(f"Wrote {out_dir / 'coded_segments.csv'}, {out_dir / 'code_counts.csv'}", err=True)
    if failures:
        click.echo(f"{len(failures)} input(s) failed, the others were coded.", err=True)
        ctx.exit(EXIT_PARTIAL)


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--code", "code_id", default=None, help="A code id (its sub-codes included).")
@click.option("--category", default=None, help="A top-level category id.")
@click.option("--lemma", default=None, help="A lemma (any token whose lemma it is).")
@click.option("--window", default=5, show_default=True, type=click.IntRange(min=0), help="Words of context.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the concordance to this CSV file.")
@_codebook_option
def kwic(paths, code_id, category, lemma, window, csv_path, codebook_path, cache_dir, no_cache, jobs,
         accent_insensitive, quiet):
    """Keyword in context: concordance of a code, a category or a lemma.

    \b
    Examples:
      ptce-nlp kwic corpus --code valeurs_ess.insertion --window 6
      ptce-nlp kwic corpus --lemma mutualisation --csv mutualisation.csv
    """
    from .analysis import kwic as make_kwic
    from .io import write_csv

    if sum(x is not None for x in (code_id, category, lemma)) != 1:
        raise click.UsageError("give exactly one of --code, --category or --lemma")
    ctx = click.get_current_context()
    book = _load_codebook_cli(codebook_path, quiet)
    from .analysis import UnknownCodeError, _unknown

    if code_id is not None and code_id not in book:
        raise UnknownCodeError(_unknown("code", code_id, [c.id for c in book]))
    if category is not None and category not in {c.id for c in book.categories()}:
        raise UnknownCodeError(_unknown("category", category, [c.id for c in book.categories()]))
    documents, failures = _read_inputs(paths, quiet)
    if not documents:
        _error("no document could be read")
        ctx.exit(EXIT_NO_INPUT)
    result = _code_corpus(documents, book, cache_dir=cache_dir, no_cache=no_cache, jobs=jobs,
                          accent_insensitive=accent_insensitive, quiet=quiet)
    table = make_kwic(result.parsed, result.coded, book, code=code_id, category=category, lemma=lemma,
                      window=window)
    for row in table.itertuples():
        flags = ("[nég] " if row.negated else "") + ("[contraste] " if row.contrast else "")
        click.echo(f"{row.doc_id:<28.28} {row.left[-50:]:>50} [{row.keyword}] {row.right:<50.50} {flags}")
    click.echo(f"{len(table)} occurrence(s).", err=True)
    if csv_path is not None:
        write_csv(table, csv_path)
    if failures:
        ctx.exit(EXIT_PARTIAL)


# --------------------------------------------------------------------------- the main job (issue 6)

class _StageProgress:
    """One progress bar per stage of ``ptce-nlp run``; input failures shown as ``Error:`` lines."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.stage = None
        self.bar = None

    def __call__(self, stage: str, done: int, total, failure=None) -> None:
        from tqdm import tqdm

        from .pipeline import STAGE_LABELS

        if failure is not None:
            (self.bar.write if self.bar is not None else click.echo)(f"Error: {failure}", file=sys.stderr)
        if self.quiet:
            return
        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = tqdm(total=total, desc=STAGE_LABELS.get(stage, stage), file=sys.stderr, disable=None,
                            leave=True, bar_format=self._format(total))
        if total is not None and self.bar.total != total:
            self.bar.total = total
            self.bar.bar_format = self._format(total)
        self.bar.n = done
        self.bar.refresh()

    @staticmethod
    def _format(total) -> str:
        return "{desc:<24} {bar:24} {n_fmt}/{total_fmt} [{elapsed}]" if total else "{desc:<24} … [{elapsed}]"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@main.command("run", epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder; replaced as a whole when the run succeeds (it must be empty, new, or hold an "
                   "earlier run).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of every random step (reproducible runs).")
@click.option("--max-file-mb", default=200.0, show_default=True, type=click.FloatRange(min=0.001),
              help="Refuse input files larger than this.")
@_codebook_option
def run_command(paths, out_dir, seed, max_file_mb, codebook_path, cache_dir, no_cache, jobs, accent_insensitive,
                quiet):
    """Run the whole analysis and write the report: read, code, tables, figures.

    PATHS are files, folders (read through their manifest.csv when they have
    one) or manifest.csv files. OUT receives documents.csv, segments.csv,
    coded_segments.csv, code_counts.csv, figures/ (PNG and SVG), run.json
    (settings, versions, counts) and report.html, a self-contained page to
    open in any browser. Results are written to a temporary folder that
    replaces OUT only at the end: an interrupted run leaves OUT as it was.

    \b
    Examples:
      ptce-nlp run corpus --out out
      ptce-nlp run fiches/ notes.docx --codebook mon_codebook.yaml --jobs 2 --seed 1 --out resultats
    """
    from .pipeline import run as run_pipeline

    ctx = click.get_current_context()
    book = _load_codebook_cli(codebook_path, quiet)
    progress = _StageProgress(quiet)
    try:
        result = run_pipeline(paths, out_dir, codebook=book, jobs=jobs, seed=seed, cache_dir=cache_dir,
                              use_cache=not no_cache, accent_insensitive=accent_insensitive,
                              max_file_mb=max_file_mb, progress=progress)
    finally:
        progress.close()
    stats = result.stats
    if not quiet:
        click.echo(f"Read {stats['documents']} document(s), {stats['failed']} failed: {stats['paragraphs']} "
                   f"paragraphs, {stats['sentences']} sentences.", err=True)
        click.echo(f"Coded {stats['matches']} match(es): {stats['counted']} counted, "
                   f"{stats['matches'] - stats['counted']} negated or contrast.", err=True)
        click.echo(f"Report: {result.report_path} (open it in a browser); tables and figures in {result.out_dir}/",
                   err=True)
    if result.failures:
        click.echo(f"{len(result.failures)} input(s) failed (listed in the report), the others were analysed:",
                   err=True)
        for failure in result.failures:
            click.echo(f"  - {failure}", err=True)
        ctx.exit(EXIT_PARTIAL)
