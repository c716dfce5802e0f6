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


# --------------------------------------------------------------------------- topics and closeness (issue 4)

def _write_tables(tables, out_dir: Path) -> list[Path]:
    from .io import write_csv

    return [write_csv(frame, out_dir / f"{name}.csv") for name, frame in tables.items()]


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder that receives topic_terms.csv, topic_shares.csv, topic_selection.csv...")
@click.option("--save-model", "model_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also fit the closeness model and save it with the topic models in this folder.")
@click.option("--unit", type=click.Choice(["sentence", "paragraph", "document"]), default="paragraph",
              show_default=True, help="Units of text the topic models see.")
@click.option("--k-min", default=4, show_default=True, type=click.IntRange(min=2), help="Smallest k tried.")
@click.option("--k-max", default=12, show_default=True, type=click.IntRange(min=2), help="Largest k tried.")
@click.option("--k", "k_fixed", default=None, type=click.IntRange(min=2),
              help="Use this k for LDA and NMF instead of choosing it.")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed (same seed, same results).")
@_codebook_option
def topics(paths, out_dir, model_dir, unit, k_min, k_max, k_fixed, seed, codebook_path, cache_dir, no_cache, jobs,
           accent_insensitive, quiet):
    """Fit topic models (LDA, NMF, seeded NMF) and write their tables.

    k is chosen over --k-min..--k-max by NPMI coherence among the k stable
    across seeds (see the README). Writes topic_terms.csv, topic_shares.csv,
    topic_pole_shares.csv, topic_selection.csv, topic_segments.csv and
    topic_seeds.csv. With --save-model, also fits the closeness model on
    sentences and saves everything as a model folder (JSON/NPZ, model card).

    \b
    Examples:
      ptce-nlp topics corpus --out out
      ptce-nlp topics corpus --out out --save-model models/reference
    """
    from .features import extract_units
    from .topics import fit_topics

    if k_min > k_max:
        raise click.UsageError(f"--k-min {k_min} is larger than --k-max {k_max}")
    ctx = click.get_current_context()
    book = _load_codebook_cli(codebook_path, quiet)
    documents, failures = _read_inputs(paths, quiet)
    if not documents:
        _error("no document could be read; nothing written")
        ctx.exit(EXIT_NO_INPUT)
    result = _code_corpus(documents, book, cache_dir=cache_dir, no_cache=no_cache, jobs=jobs,
                          accent_insensitive=accent_insensitive, quiet=quiet)
    units = extract_units(result.parsed, result.coded, book, unit=unit)
    fixed = {"lda": k_fixed, "nmf": k_fixed} if k_fixed else None
    fitted = fit_topics(units, book, ks=range(k_min, k_max + 1), n_topics=fixed, random_state=seed)
    written = _write_tables(fitted.tables, out_dir)
    if model_dir is not None:
        from .closeness import ClosenessModel
        from .models import save_model

        sentences = extract_units(result.parsed, result.coded, book, unit="sentence")
        model = ClosenessModel(random_state=seed).fit(sentences, codebook=book)
        save_model(model_dir, model, book, topics=fitted, documents=documents)
        written.append(model_dir)
    if not quiet:
        ks = ", ".join(f"{name} k={model.n_topics}" for name, model in fitted.models.items())
        click.echo(f"Fitted topic models on {len(units)} {unit} units of {len(documents)} document(s): {ks}.",
                   err=True)
        click.echo("Wrote " + ", ".join(str(p) for p in written), err=True)
    if failures:
        click.echo(f"{len(failures)} input(s) failed, the others were used.", err=True)
        ctx.exit(EXIT_PARTIAL)


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--model", "model_dir", required=True, type=click.Path(path_type=Path),
              help="A saved model folder (models/reference, or one written by topics --save-model).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder that receives closeness.csv, closeness_poles.csv, closeness_agreement.csv...")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Parse cache folder (default: the per-user cache, ~/.cache/ptce_nlp).")
@click.option("--no-cache", is_flag=True, help="Parse everything again and write nothing to the cache.")
@click.option("--jobs", "-j", default=1, show_default=True, type=click.IntRange(min=1),
              help="Processes for parsing (spaCy n_process).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar, no summary (errors still shown).")
def closeness(paths, model_dir, out_dir, cache_dir, no_cache, jobs, quiet):
    """Score documents on the axis -1 (cluster discourse) ... +1 (ESS values) with a saved model.

    Nothing is refitted: the model's vocabulary, word scores, seeded topics
    and word polarities are applied to the new texts, coded with the model's
    own codebook. Writes closeness.csv (per document: composite score and
    interval, then lexicon, wordscores, topics and embedding scores with
    their intervals), closeness_poles.csv, closeness_agreement.csv (Spearman
    rho between methods over poles) and closeness_validation.csv (rho with
    the ESS-ness order of pole types).

    \b
    Examples:
      ptce-nlp closeness corpus --model models/reference --out out
      ptce-nlp closeness nouvelles_fiches/ --model models/reference --out res
    """
    from .features import extract_units
    from .closeness import closeness_tables
    from .models import load_model

    ctx = click.get_current_context()
    saved = load_model(model_dir)
    documents, failures = _read_inputs(paths, quiet)
    if not documents:
        _error("no document could be read; nothing written")
        ctx.exit(EXIT_NO_INPUT)
    result = _code_corpus(documents, saved.codebook, cache_dir=cache_dir, no_cache=no_cache, jobs=jobs,
                          accent_insensitive=False, quiet=quiet)
    units = extract_units(result.parsed, result.coded, saved.codebook, unit=saved.closeness.unit_)
    tables = closeness_tables(saved.closeness, units)
    written = _write_tables(tables, out_dir)
    if not quiet:
        n_empty = int(tables["closeness"]["score"].isna().sum())
        click.echo(f"Scored {len(documents)} document(s) with {model_dir}"
                   + (f" ({n_empty} without a score: see the reason column)" if n_empty else "") + ".", err=True)
        click.echo("Wrote " + ", ".join(str(p) for p in written), err=True)
    if failures:
        click.echo(f"{len(failures)} input(s) failed, the others were scored.", err=True)
        ctx.exit(EXIT_PARTIAL)
