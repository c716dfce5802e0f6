"""Command-line interface (thin): parse arguments, call the library, print.

Exit codes (``ptce-nlp --help`` and the README list them):

====  ==========================================================
0     every input was read and all outputs were written
1     internal error (a bug: please report it with the command)
2     usage error (unknown option, missing argument, bad value, an
      output that is, holds or lies inside an input); nothing written
3     some inputs failed; outputs were written for the others
4     no usable input (invalid manifest, or every file failed), or
      the Dask cluster of --dask is unreachable; nothing was written
5     outputs could not be written (full disk, read-only...); the
      previous outputs are unchanged
130   interrupted (Ctrl-C); no partial output is left
143   terminated (SIGTERM); no partial output is left
====  ==========================================================
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import warnings
from pathlib import Path

import click

from . import __version__
from .errors import InputFileWarning, ManifestError, OutputError, PathConflictError, PtceError, Terminated

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_PARTIAL, EXIT_NO_INPUT, EXIT_OUTPUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 5, 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports a process killed by it

EXIT_CODES_HELP = """\b
Exit codes:
  0    all inputs read, outputs written
  1    internal error (please report it)
  2    usage error (or an output among the inputs); nothing written
  3    some inputs failed (listed); outputs written for the others
  4    no usable input (invalid manifest or every file failed),
       or the --dask scheduler unreachable; nothing written
  5    outputs could not be written (disk full...); previous kept
  130  interrupted; no partial output left
  143  terminated (SIGTERM); no partial output left
"""

#: errno values that can only come from writing (an input is never on a full or read-only disk for reading).
_WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG)


_DASK = "ptce_nlp.dask"


class _Command(click.Command):
    """A command that runs inside the Dask engine given with ``--dask`` (unreachable: exit 4, nothing written)."""

    def invoke(self, ctx: click.Context):
        spec = ctx.meta.get(_DASK)  # set by --dask (_dask_option)
        if spec is None:
            return super().invoke(ctx)
        from .engine import DaskEngine

        with DaskEngine.connect(spec):
            return super().invoke(ctx)


class _Cli(click.Group):
    """A group that turns library errors into one-line ``Error:`` messages."""

    command_class = _Command

    def main(self, args=None, *rest, standalone_mode: bool = True, **kwargs):
        if args is None and standalone_mode:  # a process of its own (the ptce-nlp script), ended by the command
            from ._gc import freeze_process

            freeze_process()
        return super().main(args, *rest, standalone_mode=standalone_mode, **kwargs)

    def invoke(self, ctx: click.Context):
        previous = _terminate_cleanly()
        shown = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None) -> None:
            """A library warning about an input (:class:`InputFileWarning`) as one ``Warning:`` line."""
            if issubclass(category, InputFileWarning):
                click.echo(f"Warning: {message}", err=True)
            else:
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        try:
            return super().invoke(ctx)
        except ManifestError as exc:
            _error(str(exc) + "\nFix the manifest and run again.")
            ctx.exit(EXIT_NO_INPUT)
        except PathConflictError as exc:
            _error(str(exc))
            ctx.exit(EXIT_USAGE)
        except OutputError as exc:
            _error(str(exc))
            ctx.exit(EXIT_OUTPUT)
        except PtceError as exc:
            _error(str(exc))
            ctx.exit(EXIT_NO_INPUT)
        except Terminated:
            _error("terminated (SIGTERM); no partial output was left behind")
            ctx.exit(EXIT_TERMINATED)
        except KeyboardInterrupt:
            _error("interrupted; no partial output was left behind")
            ctx.exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:  # pragma: no cover - a bug, reported without a traceback
            if isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS:  # a writer outside io.atomic_write
                _error(f"{exc.filename or 'an output'}: cannot write here ({exc.strerror or exc})")
                ctx.exit(EXIT_OUTPUT)
            if ctx.params.get("debug") or (ctx.obj or {}).get("debug"):
                raise
            _error(f"internal error: {exc.__class__.__name__}: {exc} "
                   "(run again with --debug for the traceback and report it)")
            ctx.exit(EXIT_INTERNAL)
        finally:
            warnings.showwarning = shown
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


def _error(message: str) -> None:
    click.echo(f"Error: {message}", err=True)


def _terminate_cleanly():
    """Make SIGTERM raise :class:`Terminated` (a KeyboardInterrupt), so that it cleans up as Ctrl-C does.

    Returns the previous handler to put back, or None when no handler could be installed (not the main thread).
    """
    owner = os.getpid()

    def on_sigterm(signum, frame):
        if os.getpid() != owner:  # a forked worker (spaCy n_process): die as it would have
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        if _in_gc_callback(frame):  # an exception raised there is ignored (Dask's GC diagnosis): send it again
            import threading

            threading.Timer(0.05, os.kill, (owner, signal.SIGTERM)).start()
            return
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # signal handlers can only be set in the main thread
        return None
    return signal.SIG_DFL if previous is None else previous


def _in_gc_callback(frame) -> bool:
    """Whether ``frame`` runs inside a garbage-collector callback (``gc.callbacks``), where Python ignores an
    exception (it only prints it): a signal handled there must not raise."""
    import gc

    codes = {getattr(getattr(cb, "__func__", cb), "__code__", None) for cb in list(gc.callbacks)}
    codes.discard(None)
    while codes and frame is not None:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


def _check_outputs(outputs, *, paths=(), allow_outside: bool = False, codebook: str | None = None, model=None,
                   cache_dir=None, files=()) -> None:
    """Refuse (exit 2) an output that is, holds or lies inside an input, before anything is read or written."""
    from .codebook import SHIPPED
    from .corpus import find_sources, input_paths
    from .io import check_outputs

    inputs = []
    if paths:
        sources, _ = find_sources(paths, allow_outside=allow_outside)
        inputs += input_paths(paths, sources)
    if codebook is not None and codebook not in SHIPPED:
        inputs.append(("codebook", Path(codebook)))
    check_outputs(outputs, [*inputs, ("model", model), ("cache folder", cache_dir), *files])


def _allow_outside_option(f):
    return click.option("--allow-outside", is_flag=True,
                        help="Read manifest rows and links of a folder that point outside the corpus folder "
                             "(refused by default, each named on an Error: line).")(f)


@click.group(cls=_Cli, epilog=EXIT_CODES_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="ptce-nlp")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Text mining of French documents on territorial economic poles (PTCE,
    clusters, pôles de compétitivité): ingest, code, score, export, report.

    \b
    Examples:
      ptce-nlp run corpus --out out        # the whole job: open out/report.html
      ptce-nlp code corpus --out out       # coded segments only
    """
    ctx.obj = {"debug": debug}


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder that receives documents.csv and segments.csv.")
@click.option("--max-file-mb", default=200.0, show_default=True, type=click.FloatRange(min=0.001),
              help="Refuse input files larger than this.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar, no summary (errors still shown).")
@_allow_outside_option
def ingest(paths: tuple[Path, ...], out_dir: Path, max_file_mb: float, quiet: bool, allow_outside: bool) -> None:
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
    from .io import all_or_nothing

    _check_outputs([("--out", out_dir, "folder")], paths=paths, allow_outside=allow_outside)
    sources, _ = find_sources(paths, allow_outside=allow_outside)
    bar = tqdm(total=len(sources), desc="Lecture des documents", unit="doc", disable=quiet or None,
               file=sys.stderr, leave=False)

    def progress(path: str, failure) -> None:
        if failure is not None:
            bar.write(f"Error: {failure}", file=sys.stderr)
        else:
            bar.update(1)

    try:
        result = run_ingest(paths, max_file_mb=max_file_mb, progress=progress, allow_outside=allow_outside)
    finally:
        bar.close()
    ctx = click.get_current_context()
    if not result.documents:
        _error(f"no document could be read from {len(result.failures)} input(s); nothing written")
        ctx.exit(EXIT_NO_INPUT)
    with all_or_nothing():
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
                     help="A YAML codebook, a REFI-QDA .qdc codebook, or the name of a shipped one "
                          "(ptce, referentiel).")(f)
    f = click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Parse cache folder (default: the per-user cache, ~/.cache/ptce_nlp).")(f)
    f = click.option("--no-cache", is_flag=True, help="Parse everything again and write nothing to the cache.")(f)
    f = click.option("--jobs", "-j", default=1, show_default=True, type=click.IntRange(min=1),
                     help="Processes for parsing (spaCy n_process).")(f)
    f = _dask_option(f)
    f = click.option("--accent-insensitive", is_flag=True, help="Match lemmas without regard to accents.")(f)
    f = click.option("--quiet", "-q", is_flag=True, help="No progress bar, no summary (errors still shown).")(f)
    return f


def _dask_option(f):
    """``--dask ADDRESS|local:N``: parse on a Dask cluster. Checked here (exit 2); the connection is opened by
    :class:`_Command` before the command reads or writes anything, and closed after it."""

    def check(ctx, param, value):
        if value is not None:
            from .engine import parse_spec
            from .errors import DaskSpecError

            try:
                parse_spec(value)
            except DaskSpecError as exc:
                raise click.BadParameter(exc.reason) from None
            ctx.meta[_DASK] = value

    return click.option("--dask", metavar="ADDRESS|local:N", default=None, expose_value=False, callback=check,
                        help="Clean, parse and code on a Dask cluster: a scheduler address (tcp://HOST:PORT) or local:N (N "
                             "worker processes on this machine); --jobs is then unused. See the README, "
                             "\"Running on a Dask cluster\".")(f)


def _coder_options(f):
    f = click.option("--coder", type=click.Choice(["hybrid", "lexicon"]), default="hybrid", show_default=True,
                     help="coded_sentences.csv: the lexicon and the learned coder, or the lexicon alone.")(f)
    f = click.option("--coder-model", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="A learned-coder folder written by `ptce-nlp learn` (default: models/coder).")(f)
    f = click.option("--count-reported", is_flag=True,
                     help="Count reported passages (« selon X », citations) in counts and scores.")(f)
    return f


def _load_codebook_cli(spec: str, quiet: bool):
    from .codebook import SHIPPED, Codebook

    if spec.lower().endswith(".qdc"):  # a REFI-QDA codebook (issue 5)
        from .export import read_qdc

        book = read_qdc(Path(spec))
    else:
        book = Codebook.shipped(spec) if spec in SHIPPED else Codebook.from_yaml(Path(spec))
    if not quiet:
        for warning in book.warnings:
            click.echo(f"Warning: {book.source}: {warning}", err=True)
    return book


def _read_inputs(paths, quiet: bool, *, cache_dir=None, no_cache: bool = False, allow_outside: bool = False,
                 spool: bool = False):
    """Read the inputs with a progress bar, reporting each failure: ``(documents, failures)``. ``spool``: the
    documents' texts wait in a temporary file (:class:`ptce_nlp.corpus.DocumentSpool`) for a stage that goes
    through them a few at a time, so that memory does not grow with the corpus."""
    from tqdm import tqdm

    from .corpus import find_sources, iter_read
    from .types import ReadFailure

    sources, failures = find_sources(paths, allow_outside=allow_outside)
    for failure in failures:
        _error(str(failure))
    from .cache import default_cache_dir

    cache = None if no_cache else (cache_dir or default_cache_dir())
    documents = _spool(cache) if spool else []
    for item in tqdm(iter_read(sources, cache_dir=cache), total=len(sources), desc="Lecture", unit="doc",
                     disable=quiet or None, file=sys.stderr, leave=False):
        if isinstance(item, ReadFailure):
            _error(str(item))
            failures.append(item)
        else:
            documents.append(item)
    return documents, failures


def _spool(cache_dir):
    """A :class:`ptce_nlp.corpus.DocumentSpool` in the cache folder (on disk, where the run writes anyway; the
    system's temporary folder is often in memory), or in the temporary folder when there is none or it cannot
    be made."""
    from .corpus import DocumentSpool

    if cache_dir is not None:
        try:
            Path(cache_dir).mkdir(parents=True, exist_ok=True)
            return DocumentSpool(directory=cache_dir)
        except OSError:
            pass
    return DocumentSpool()


def _damaged_note(stats: dict) -> str:
    """``; N damaged cache entries ...`` for a summary line, or nothing."""
    n = int(stats.get("damaged", 0))
    if not n:
        return ""
    return f"; {n} damaged cache entr{'y' if n == 1 else 'ies'} found (checksum) and made again"


def _code_corpus(documents, book, *, cache_dir, no_cache, jobs, accent_insensitive, quiet, count_reported=False,
                 out_dir=None, sentence_coder=None):
    """The coding of documents with a progress bar; with ``out_dir``, the three tables written as documents are
    coded (:func:`ptce_nlp.analysis.write_coding`, all or nothing) and the stats returned instead."""
    from tqdm import tqdm

    from .analysis import code_documents, write_coding
    from .io import all_or_nothing

    bar = tqdm(total=len(documents), desc="Analyse spaCy", unit="doc", disable=quiet or None, file=sys.stderr,
               leave=False)

    def progress(done: int) -> None:
        bar.n = done
        bar.refresh()

    try:
        if out_dir is not None:
            paths = {"coded": out_dir / "coded_segments.csv", "counts": out_dir / "code_counts.csv",
                     "sentences": out_dir / "coded_sentences.csv"}
            with all_or_nothing():
                return write_coding(documents, book, paths, sentence_coder=sentence_coder, cache_dir=cache_dir,
                                    jobs=jobs, accent_insensitive=accent_insensitive,
                                    count_reported=count_reported, progress=progress)
        return code_documents(documents, book, cache_dir=cache_dir, use_cache=not no_cache, jobs=jobs,
                              accent_insensitive=accent_insensitive, count_reported=count_reported,
                              progress=progress)
    finally:
        bar.close()


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder that receives coded_segments.csv, code_counts.csv and coded_sentences.csv.")
@click.option("--from-table", "table", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Code the cells of a CSV, JSONL or XLSX table instead of files.")
@click.option("--id-col", default=None, help="With --from-table: the column of document ids.")
@click.option("--text-col", default=None, help="With --from-table: the column of texts.")
@_codebook_option
@_coder_options
@_allow_outside_option
def code(paths, out_dir, table, id_col, text_col, codebook_path, cache_dir, no_cache, jobs, accent_insensitive,
         quiet, coder, coder_model, count_reported, allow_outside):
    """Code documents against a codebook (lemmas, multiword terms, negation, contrast, reported speech).

    Writes coded_segments.csv (one row per match, with start_char/end_char
    into the original text, the sentence, and the negated/contrast/reported
    flags), code_counts.csv (counts and densities per 1,000 tokens per
    document, code and category; flagged matches are not counted) and
    coded_sentences.csv (one row per sentence: 0/1, probability and source
    of each of the four categories, from the lexicon and the learned coder).

    \b
    Examples:
      ptce-nlp code corpus --out out
      ptce-nlp code fiches/ --codebook mon_codebook.yaml --jobs 2 --out res
      ptce-nlp code --from-table reponses.xlsx --id-col id --text-col texte --out res
      ptce-nlp code corpus --coder-model mon_modele --out res      # a coder trained by `ptce-nlp learn`
    """
    from .io import all_or_nothing, write_csv

    ctx = click.get_current_context()
    _check_outputs([("--out", out_dir, "folder")], paths=paths if table is None else (),
                   allow_outside=allow_outside, codebook=codebook_path, cache_dir=cache_dir,
                   files=[("input table", table), ("coder model", coder_model)])
    from .pipeline import load_sentence_coder

    book = _load_codebook_cli(codebook_path, quiet)
    sentence_coder = load_sentence_coder(coder, coder_model)
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
        # coded a few at a time: the texts wait in a temporary file (10^8 tokens are about 1.2 GB of text)
        documents, failures = _read_inputs(paths, quiet, cache_dir=cache_dir, no_cache=no_cache,
                                           allow_outside=allow_outside, spool=True)
    if not documents:
        _error("no document could be read; nothing written")
        ctx.exit(EXIT_NO_INPUT)
    from .analysis import has_lone_cr

    if not no_cache and not has_lone_cr(documents):  # streamed: tables written as documents are coded
        stats = _code_corpus(documents, book, cache_dir=cache_dir, no_cache=no_cache, jobs=jobs,
                             accent_insensitive=accent_insensitive, quiet=quiet, count_reported=count_reported,
                             out_dir=out_dir, sentence_coder=sentence_coder)
    else:
        result = _code_corpus(documents, book, cache_dir=cache_dir, no_cache=no_cache, jobs=jobs,
                              accent_insensitive=accent_insensitive, quiet=quiet, count_reported=count_reported)
        from .analysis import scored_mask
        from .classify import hybrid_sentences

        sentences = hybrid_sentences(result.parsed, result.coded, sentence_coder)
        with all_or_nothing():
            write_csv(result.coded, out_dir / "coded_segments.csv")
            write_csv(result.counts, out_dir / "code_counts.csv")
            write_csv(sentences, out_dir / "coded_sentences.csv")
        n_scored = int(scored_mask(result.coded, count_reported=count_reported).sum()) if len(result.coded) else 0
        stats = {**result.stats, "matches": len(result.coded), "counted": n_scored, "sentences": len(sentences)}
    if not quiet:
        n, n_scored = stats["matches"], stats["counted"]
        click.echo(f"Coded {len(documents)} document(s): {n} matches ({n_scored} counted, "
                   f"{n - n_scored} negated, contrast or reported); {stats['sentences']} sentences; "
                   f"parsed {stats['parsed']}, from cache {stats['cached']}{_damaged_note(stats)}.", err=True)
        click.echo(f"Wrote {out_dir / 'coded_segments.csv'}, {out_dir / 'code_counts.csv'}, "
                   f"{out_dir / 'coded_sentences.csv'}", err=True)
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
@_allow_outside_option
def kwic(paths, code_id, category, lemma, window, csv_path, codebook_path, cache_dir, no_cache, jobs,
         accent_insensitive, quiet, allow_outside):
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
    _check_outputs([("--csv", csv_path, "file")], paths=paths, allow_outside=allow_outside, codebook=codebook_path,
                   cache_dir=cache_dir)
    book = _load_codebook_cli(codebook_path, quiet)
    from .analysis import UnknownCodeError, _unknown

    if code_id is not None and code_id not in book:
        raise UnknownCodeError(_unknown("code", code_id, [c.id for c in book]))
    if category is not None and category not in {c.id for c in book.categories()}:
        raise UnknownCodeError(_unknown("category", category, [c.id for c in book.categories()]))
    documents, failures = _read_inputs(paths, quiet, cache_dir=cache_dir, no_cache=no_cache,
                                       allow_outside=allow_outside)
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
@_allow_outside_option
def topics(paths, out_dir, model_dir, unit, k_min, k_max, k_fixed, seed, codebook_path, cache_dir, no_cache, jobs,
           accent_insensitive, quiet, allow_outside):
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
    from .export import write_tables
    from .features import extract_units
    from .io import all_or_nothing
    from .topics import fit_topics

    if k_min > k_max:
        raise click.UsageError(f"--k-min {k_min} is larger than --k-max {k_max}")
    ctx = click.get_current_context()
    _check_outputs([("--out", out_dir, "folder"), ("--save-model", model_dir, "folder")], paths=paths,
                   allow_outside=allow_outside, codebook=codebook_path, cache_dir=cache_dir)
    book = _load_codebook_cli(codebook_path, quiet)
    documents, failures = _read_inputs(paths, quiet, cache_dir=cache_dir, no_cache=no_cache, allow_outside=allow_outside)
    if not documents:
        _error("no document could be read; nothing written")
        ctx.exit(EXIT_NO_INPUT)
    result = _code_corpus(documents, book, cache_dir=cache_dir, no_cache=no_cache, jobs=jobs,
                          accent_insensitive=accent_insensitive, quiet=quiet)
    units = extract_units(result.parsed, result.coded, book, unit=unit)
    fixed = {"lda": k_fixed, "nmf": k_fixed} if k_fixed else None
    fitted = fit_topics(units, book, ks=range(k_min, k_max + 1), n_topics=fixed, random_state=seed)
    model = None
    if model_dir is not None:
        from .closeness import ClosenessModel

        sentences = extract_units(result.parsed, result.coded, book, unit="sentence")
        model = ClosenessModel(random_state=seed).fit(sentences, codebook=book)
    with all_or_nothing():  # the tables and the model folder, or nothing
        written = write_tables(fitted.tables, out_dir)
        if model is not None:
            from .models import save_model

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
@_dask_option
@click.option("--jobs", "-j", default=1, show_default=True, type=click.IntRange(min=1),
              help="Processes for parsing (spaCy n_process).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar, no summary (errors still shown).")
@_allow_outside_option
def closeness(paths, model_dir, out_dir, cache_dir, no_cache, jobs, quiet, allow_outside):
    """Score documents on the axis -1 (cluster discourse) ... +1 (ESS values) with a saved model.

    Nothing is refitted: the model's vocabulary, word scores, seeded topics
    and word polarities are applied to the new texts, coded with the model's
    own codebook. Writes closeness.csv (per document: composite score and
    interval, then lexicon, wordscores, topics and embedding scores with
    their intervals), closeness_poles.csv, closeness_agreement.csv (Spearman
    rho between methods over poles), closeness_validation.csv (rho with
    the ESS-ness order of pole types), closeness_explain.csv (the terms and
    codes pulling each document and pole towards each end),
    closeness_sentences.csv, closeness_kwic.csv and closeness_code_weights.csv.

    \b
    Examples:
      ptce-nlp closeness corpus --model models/reference --out out
      ptce-nlp closeness nouvelles_fiches/ --model models/reference --out res
    """
    from .closeness import closeness_tables
    from .export import write_tables
    from .features import extract_units
    from .io import all_or_nothing
    from .models import load_model

    ctx = click.get_current_context()
    saved = load_model(model_dir)
    _check_outputs([("--out", out_dir, "folder")], paths=paths, allow_outside=allow_outside, model=model_dir,
                   cache_dir=cache_dir)
    documents, failures = _read_inputs(paths, quiet, cache_dir=cache_dir, no_cache=no_cache, allow_outside=allow_outside)
    if not documents:
        _error("no document could be read; nothing written")
        ctx.exit(EXIT_NO_INPUT)
    result = _code_corpus(documents, saved.codebook, cache_dir=cache_dir, no_cache=no_cache, jobs=jobs,
                          accent_insensitive=False, quiet=quiet)
    units = extract_units(result.parsed, result.coded, saved.codebook, unit=saved.closeness.unit_)
    tables = closeness_tables(saved.closeness, units)
    with all_or_nothing():
        written = write_tables(tables, out_dir)
    if not quiet:
        n_empty = int(tables["closeness"]["score"].isna().sum())
        click.echo(f"Scored {len(documents)} document(s) with {model_dir}"
                   + (f" ({n_empty} without a score: see the reason column)" if n_empty else "") + ".", err=True)
        click.echo("Wrote " + ", ".join(str(p) for p in written), err=True)
    if failures:
        click.echo(f"{len(failures)} input(s) failed, the others were scored.", err=True)
        ctx.exit(EXIT_PARTIAL)


# --------------------------------------------------------------------------- exports, QDA import, agreement (issue 5)

EXPORT_FORMATS = ("qdpx", "qdc", "xlsx", "csv", "jsonl", "iramuteq")


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", required=True, type=click.Choice(EXPORT_FORMATS),
              help="qdpx: REFI-QDA project; qdc: codebook; xlsx: one workbook; csv: a folder of tables; "
                   "jsonl: coded segments; iramuteq: corpus for IRaMuTeQ.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="The file to write (a folder for --format csv).")
@click.option("--excel-fr", is_flag=True, help="CSV in UTF-8 with BOM and ';' separator (French Excel).")
@click.option("--include-tables", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="xlsx/csv: also include every CSV table of this folder (closeness.csv, topic_terms.csv...).")
@click.option("--name", "project_name", default="ptce_nlp", show_default=True, help="qdpx: project name.")
@_codebook_option
@_allow_outside_option
def export(paths, fmt, out, excel_fr, include_tables, project_name, codebook_path, cache_dir, no_cache, jobs,
           accent_insensitive, quiet, allow_outside):
    """Code documents with the codebook, then export the coding for other tools.

    \b
    Formats:
      qdpx      REFI-QDA project for NVivo, ATLAS.ti, MAXQDA, QualCoder (texts,
                codebook, codings, metadata as variables and cases; negated and
                contrast matches also carry a review code)
      qdc       the codebook alone (REFI-QDA); no PATHS
      xlsx      one workbook: coded_segments, code_counts, pole_counts sheets
      csv       the same tables as CSV files in the folder --out
      jsonl     coded segments, one JSON object per line
      iramuteq  the texts with **** star lines (pole, type, region...) for IRaMuTeQ

    \b
    Examples:
      ptce-nlp export corpus --format qdpx --out out/ptce.qdpx
      ptce-nlp export --format qdc --out out/codebook.qdc
      ptce-nlp export corpus --format xlsx --include-tables out --out ptce_complet.xlsx
      ptce-nlp export corpus --format csv --excel-fr --out out/excel
    """
    from .export import write_iramuteq, write_jsonl, write_qdc, write_qdpx, write_tables, write_xlsx
    from .io import all_or_nothing

    ctx = click.get_current_context()
    _check_outputs([("--out", out, "folder" if fmt == "csv" else "file")], paths=paths if fmt != "qdc" else (),
                   allow_outside=allow_outside, codebook=codebook_path, cache_dir=cache_dir,
                   files=[("tables folder", include_tables)])
    book = _load_codebook_cli(codebook_path, quiet)
    if fmt == "qdc":
        if paths:
            raise click.UsageError("--format qdc exports the codebook only: give no PATHS")
        write_qdc(book, out)
        if not quiet:
            click.echo(f"Wrote {out} ({len(book)} codes)", err=True)
        return
    if not paths:
        raise click.UsageError(f"--format {fmt} needs PATHS to read")
    if include_tables is not None and not include_tables.is_dir():
        raise click.BadParameter(f"{include_tables} is not a folder", param_hint="--include-tables")
    documents, failures = _read_inputs(paths, quiet, cache_dir=cache_dir, no_cache=no_cache, allow_outside=allow_outside)
    if not documents:
        _error("no document could be read; nothing written")
        ctx.exit(EXIT_NO_INPUT)
    if fmt == "iramuteq":
        write_iramuteq(documents, out)
        written = [out]
    else:
        result = _code_corpus(documents, book, cache_dir=cache_dir, no_cache=no_cache, jobs=jobs,
                              accent_insensitive=accent_insensitive, quiet=quiet)
        if fmt == "qdpx":
            written = [write_qdpx(result.parsed, result.coded, book, out, name=project_name)]
        elif fmt == "jsonl":
            written = [write_jsonl(result.coded, out)]
        else:
            from .analysis import pole_counts

            tables = {"coded_segments": result.coded, "code_counts": result.counts,
                      "pole_counts": pole_counts(result.counts)}
            if include_tables is not None:
                tables.update(_extra_tables(include_tables, set(tables)))
            with all_or_nothing():
                written = write_tables(tables, out, excel_fr=excel_fr) if fmt == "csv" else [write_xlsx(tables, out)]
    if not quiet:
        click.echo(f"Exported {len(documents)} document(s) as {fmt}: wrote {', '.join(map(str, written))}", err=True)
    if failures:
        click.echo(f"{len(failures)} input(s) failed, the others were exported.", err=True)
        ctx.exit(EXIT_PARTIAL)


def _extra_tables(folder: Path, taken: set[str]) -> dict:
    import pandas as pd

    from .errors import InputFileError

    tables = {}
    for path in sorted(folder.glob("*.csv")):
        if path.stem in taken:
            continue
        try:
            tables[path.stem] = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False, sep=None,
                                            engine="python")
        except Exception as exc:  # a table that cannot be read is named, not a traceback
            raise InputFileError(path, f"cannot read the table ({exc.__class__.__name__}: {exc})") from None
    return tables


@main.command("import-qdpx", epilog=EXIT_CODES_HELP)
@click.argument("qdpx_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder that receives coded_segments.csv, documents.csv, users.csv and codebook.yaml.")
@click.option("--codebook", "codebook_path", default="ptce", show_default=True,
              help="Codebook to recognise codes by (GUID or name) when their description lost the code id.")
@click.option("--quiet", "-q", is_flag=True, help="No summary (errors still shown).")
def import_qdpx(qdpx_file, out_dir, codebook_path, quiet):
    """Read a project from NVivo, ATLAS.ti, MAXQDA, QualCoder (.qdpx) into tables.

    Writes coded_segments.csv (one row per coding: doc_id, segment_id,
    code_id, category, term, start_char, end_char, text, negated, contrast,
    code_name, coder, selection_guid, export_start_char, export_end_char),
    documents.csv, users.csv and codebook.yaml. An unsafe or inconsistent
    file is refused with one line naming the problem, and nothing is written.

    \b
    Example:
      ptce-nlp import-qdpx codage_manuel.qdpx --out manuel
    """
    import pandas as pd

    from .export import read_qdpx
    from .io import all_or_nothing, atomic_write, write_csv

    _check_outputs([("--out", out_dir, "folder")], codebook=codebook_path, files=[("input project", qdpx_file)])
    book = _load_codebook_cli(codebook_path, True)
    project = read_qdpx(qdpx_file, codebook=book)
    docs = pd.DataFrame([{"doc_id": d.doc_id, "n_chars": len(d.text), **dict(d.metadata)} for d in project.documents])
    with all_or_nothing():
        write_csv(project.coded, out_dir / "coded_segments.csv")
        write_csv(docs, out_dir / "documents.csv")
        write_csv(project.users, out_dir / "users.csv")
        with atomic_write(out_dir / "codebook.yaml") as fh:
            fh.write(project.codebook.to_yaml())
    for warning in project.warnings + project.codebook.warnings:
        click.echo(f"Warning: {qdpx_file}: {warning}", err=True)
    if not quiet:
        coders = sorted(set(project.coded["coder"]) - {""})
        click.echo(f"Imported {len(project.documents)} document(s), {len(project.coded)} coding(s) of "
                   f"{project.coded['code_id'].nunique()} code(s) by {len(coders)} coder(s)"
                   f"{' (' + ', '.join(coders) + ')' if coders else ''} from {project.origin or 'an unnamed tool'}.",
                   err=True)
        click.echo(f"Wrote {out_dir}/coded_segments.csv, documents.csv, users.csv, codebook.yaml", err=True)


def _read_coding(path: Path, book):
    """(coded table, documents or None) of a .qdpx or a coded_segments.csv (every row checked)."""
    from .errors import InputFileError

    if path.suffix.lower() == ".qdpx":
        from .export import read_qdpx

        project = read_qdpx(path, codebook=book)
        for warning in project.warnings:
            click.echo(f"Warning: {path}: {warning}", err=True)
        return project.coded, project.documents
    if path.suffix.lower() != ".csv":
        raise InputFileError(path, "expected a .qdpx project or a coded_segments.csv table")
    from .agreement import read_coding_table

    return read_coding_table(path), None


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("auto", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("manual", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--unit", type=click.Choice(["sentence", "segment"]), default="sentence", show_default=True,
              help="sentence: a code is present in a sentence or not; segment: the coded stretches of text.")
@click.option("--level", type=click.Choice(["code", "category"]), default="code", show_default=True)
@click.option("--segments", "segments_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="segments.csv (ptce-nlp ingest) giving the sentences when AUTO and MANUAL are both CSV.")
@click.option("--include-flagged", is_flag=True, help="Count negated and contrast matches as codings.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write agreement.csv and confusion.csv to this folder.")
@click.option("--coder-a", default=None, help="Keep only this coder's codings of AUTO (a user name of the project).")
@click.option("--coder-b", default=None, help="Keep only this coder's codings of MANUAL.")
@click.option("--codebook", "codebook_path", default="ptce", show_default=True,
              help="Codebook to recognise the codes of a .qdpx by.")
def agree(auto, manual, unit, level, segments_path, include_flagged, out_dir, coder_a, coder_b, codebook_path):
    """Agreement of two codings: percent agreement, Cohen's kappa, Krippendorff's alpha.

    AUTO and MANUAL are .qdpx projects (from ptce-nlp export or a QDA tool)
    or coded_segments.csv tables; two human coders' projects compare the
    same way. Units are the sentences of the texts (or, with --unit
    segment, the coded stretches). Prints one row per code and the pooled
    figures, then the confusion table (codes of AUTO in rows, of MANUAL in
    columns).

    \b
    Examples:
      ptce-nlp agree out/ptce.qdpx codage_manuel.qdpx
      ptce-nlp agree out/coded_segments.csv manuel.qdpx --level category --out accord
      ptce-nlp agree coder1.qdpx coder2.qdpx
      ptce-nlp agree projet.qdpx projet.qdpx --coder-a alice --coder-b bruno
    """
    import pandas as pd

    from .agreement import compare_codings, segment_units, sentence_units, units_from_segments
    from .io import all_or_nothing, write_csv

    _check_outputs([("--out", out_dir, "folder")], codebook=codebook_path,
                   files=[("input", auto), ("input", manual), ("segments table", segments_path)])
    book = _load_codebook_cli(codebook_path, True)
    coded_a, docs_a = _read_coding(auto, book)
    coded_b, docs_b = _read_coding(manual, book)
    for option, path, value in (("--coder-a", auto, coder_a), ("--coder-b", manual, coder_b)):
        if value is None:
            continue
        coded = coded_a if option == "--coder-a" else coded_b
        coders = sorted(set(coded["coder"].astype(str))) if "coder" in coded.columns else []
        if value not in coders:
            raise click.BadParameter(f"no coder {value!r} in {path} (coders: {', '.join(coders) or 'none'})",
                                     param_hint=option)
        if option == "--coder-a":
            coded_a = coded_a[coded_a["coder"] == value]
        else:
            coded_b = coded_b[coded_b["coder"] == value]
    if unit == "segment":
        units = segment_units(coded_a, coded_b)
    elif docs_b is not None or docs_a is not None:
        docs = docs_b if docs_b is not None else docs_a
        if docs_a is not None and docs_b is not None:
            common = {d.doc_id for d in docs_a} & {d.doc_id for d in docs_b}
            docs = [d for d in docs if d.doc_id in common]
        units = sentence_units(docs)
        texts = {d.doc_id: d.text for d in docs}
        # a tool may hold a document with other line endings than the toolkit: compare on the same text
        from .agreement import align_line_endings, check_spans_in_texts

        for path, coded, own in ((auto, coded_a, docs_a), (manual, coded_b, docs_b)):
            if own is None:  # a table: its spans must fit the texts, whatever their line endings
                check_spans_in_texts(coded, texts, path, any_line_endings=True)
        aligned = []
        for path, coded, own in ((auto, coded_a, docs_a), (manual, coded_b, docs_b)):
            own_texts = {d.doc_id: d.text for d in own} if own is not None else None
            coded, problems = align_line_endings(coded, texts, source_texts=own_texts)
            if own is None:
                check_spans_in_texts(coded, texts, path)
            for problem in problems:
                click.echo(f"Warning: {path}: {problem}", err=True)
            aligned.append(coded)
        coded_a, coded_b = aligned
    elif segments_path is not None:
        try:
            segments = pd.read_csv(segments_path, dtype={"doc_id": str, "segment_id": str}, keep_default_na=False)
        except FileNotFoundError:
            from .errors import InputFileError

            raise InputFileError(segments_path, "file not found") from None
        units = units_from_segments(segments)
    else:
        raise click.UsageError("AUTO and MANUAL are both CSV tables: give --segments segments.csv for the "
                               "sentences (or use --unit segment)")
    result = compare_codings(coded_a, coded_b, units, level=level, include_flagged=include_flagged)
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    table = result.table
    click.echo(f"{result.n_units} {unit} unit(s); A = {auto.name}, B = {manual.name}")
    click.echo(f"{level:<40} {'A+B':>5} {'A':>5} {'B':>5} {'none':>6} {'agree%':>7} {'kappa':>6} {'alpha':>6}")
    for r in table.itertuples():
        click.echo(f"{r.code:<40.40} {r.n_both:>5} {r.n_only_a:>5} {r.n_only_b:>5} {r.n_neither:>6} "
                   f"{100 * r.percent_agreement:>7.1f} {r.kappa:>6.3f} {r.alpha:>6.3f}")
    if out_dir is not None:
        with all_or_nothing():
            write_csv(table, out_dir / "agreement.csv")
            write_csv(result.confusion.reset_index(), out_dir / "confusion.csv")
        click.echo(f"Wrote {out_dir / 'agreement.csv'}, {out_dir / 'confusion.csv'}", err=True)
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
@click.option("--model", "model_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Saved model for closeness (and topics of small corpora); default: models/reference.")
@click.option("--fit", is_flag=True,
              help="Fit the closeness model on these documents (they must include the two reference texts).")
@_codebook_option
@_coder_options
@_allow_outside_option
def run_command(paths, out_dir, seed, max_file_mb, model_dir, fit, codebook_path, cache_dir, no_cache, jobs,
                accent_insensitive, quiet, coder, coder_model, count_reported, allow_outside):
    """Run the whole analysis and write the report: read, code, topics, closeness, exports, figures.

    PATHS are files, folders (read through their manifest.csv when they have
    one) or manifest.csv files. OUT receives documents.csv, segments.csv,
    coded_segments.csv, code_counts.csv, coded_sentences.csv (the four
    categories per sentence, lexicon and learned coder), the topic tables (topic_*.csv),
    closeness.csv, closeness_poles.csv, closeness_agreement.csv, pole_profiles.csv
    (territorialisation, governance and ESS <-> cluster per pole) and
    pole_referentiel.csv (référentiel PTCE evidence), ptce.qdpx and
    codebook.qdc (REFI-QDA), ptce.xlsx, corpus_iramuteq.txt,
    coded_segments.jsonl, figures/ (PNG and SVG), run.json (settings, versions,
    counts) and report.html, a self-contained page to open in any browser.
    Closeness applies the reference model unless --fit; topics are fitted on
    the corpus when it has enough paragraphs, else the model's are applied.
    Results are written to a temporary folder that replaces OUT only at the
    end: an interrupted run leaves OUT as it was.

    \b
    Examples:
      ptce-nlp run corpus --out out
      ptce-nlp run fiches/ notes.docx --codebook mon_codebook.yaml --jobs 2 --seed 1 --out resultats
      ptce-nlp run corpus --fit --out out_fit
    """
    from .pipeline import run as run_pipeline

    ctx = click.get_current_context()
    _check_outputs([("--out", out_dir, "folder")], paths=paths, allow_outside=allow_outside, codebook=codebook_path,
                   model=model_dir, cache_dir=cache_dir, files=[("coder model", coder_model)])
    book = _load_codebook_cli(codebook_path, quiet)
    progress = _StageProgress(quiet)
    try:
        result = run_pipeline(paths, out_dir, codebook=book, jobs=jobs, seed=seed, cache_dir=cache_dir,
                              use_cache=not no_cache, accent_insensitive=accent_insensitive,
                              max_file_mb=max_file_mb, progress=progress, model=model_dir, fit=fit,
                              allow_outside=allow_outside, coder=coder, coder_model=coder_model,
                              count_reported=count_reported)
    finally:
        progress.close()
    stats = result.stats
    if not quiet:
        click.echo(f"Read {stats['documents']} document(s), {stats['failed']} failed: {stats['paragraphs']} "
                   f"paragraphs, {stats['sentences']} sentences.", err=True)
        click.echo(f"Coded {stats['matches']} match(es): {stats['counted']} counted, "
                   f"{stats['matches'] - stats['counted']} negated, contrast or reported; "
                   f"{stats['sentences_coded']} sentence(s) with a category{_damaged_note(stats)}.", err=True)
        click.echo(f"Report: {result.report_path} (open it in a browser); tables and figures in {result.out_dir}/",
                   err=True)
    if result.failures:
        click.echo(f"{len(result.failures)} input(s) failed (listed in the report), the others were analysed:",
                   err=True)
        for failure in result.failures:
            click.echo(f"  - {failure}", err=True)
        ctx.exit(EXIT_PARTIAL)


# --------------------------------------------------------------------------- the learned coder

@main.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A CSV or XLSX table: a 'text' column (or 'doc_id' + 'segment_id' of PATHS' sentences) and one "
                   "0/1 column per category.")
@click.option("--from-qdpx", "qdpx_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A REFI-QDA project coded in NVivo, ATLAS.ti, MAXQDA or QualCoder with the codebook's codes.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The model folder to write (new, empty, or an earlier learned-coder folder).")
@_codebook_option
@_allow_outside_option
def learn(paths, labels_path, qdpx_path, out_dir, codebook_path, cache_dir, no_cache, jobs, accent_insensitive,
          quiet, allow_outside):
    """Train the learned sentence coder on a researcher's own coding.

    The model folder (JSON and NPZ, with a model card holding the training
    data's hash and cross-validated F1) is then used by `code` and `run`
    through --coder-model.

    \b
    Examples:
      ptce-nlp learn --labels etiquettes.xlsx --out mon_modele
      ptce-nlp learn --labels phrases_a_coder.xlsx corpus --out mon_modele   # rows by doc_id + segment_id
      ptce-nlp learn --from-qdpx projet_code.qdpx --out mon_modele
      ptce-nlp code corpus --coder-model mon_modele --out res
    """
    from .learn import fit_coder, save_learned, training_set_from_labels, training_set_from_qdpx

    if (labels_path is None) == (qdpx_path is None):
        raise click.UsageError("give either --labels FILE or --from-qdpx PROJECT.qdpx")
    _check_outputs([("--out", out_dir, "folder")], paths=paths, allow_outside=allow_outside, codebook=codebook_path,
                   cache_dir=cache_dir, files=[("labels table", labels_path), ("QDA project", qdpx_path)])
    book = _load_codebook_cli(codebook_path, quiet)
    if qdpx_path is not None:
        if paths:
            raise click.UsageError("--from-qdpx reads its documents from the project: give no PATHS")
        training = training_set_from_qdpx(qdpx_path, codebook=book, cache_dir=cache_dir, use_cache=not no_cache,
                                          jobs=jobs)
    else:
        documents = []
        if paths:
            documents, failures = _read_inputs(paths, quiet, cache_dir=cache_dir, no_cache=no_cache,
                                               allow_outside=allow_outside)
        training = training_set_from_labels(labels_path, documents, codebook=book, cache_dir=cache_dir,
                                            use_cache=not no_cache, jobs=jobs)
    for warning in training.warnings:
        click.echo(f"Warning: {warning}", err=True)
    coder, facts = fit_coder(training)
    save_learned(out_dir, coder, facts, codebook_name=book.name)
    if not quiet:
        click.echo(f"Learned from {facts['sentences']} sentences of {facts['documents']} document(s). "
                   "Cross-validated F1 (folds grouped by document), learned coder / lexicon alone:", err=True)
        for category, row in facts["cross_validation"]["scores"].items():
            click.echo(f"  {category:<20} {row['hybrid_f1']:.3f} / {row['lexicon_f1']:.3f}  "
                       f"({row['positives']} positive)", err=True)
        click.echo(f"Wrote {out_dir}/ ; use it with --coder-model {out_dir}", err=True)


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--n", "n", default=50, show_default=True, type=click.IntRange(min=1),
              help="How many sentences to suggest.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The XLSX table to write (a .qdpx project of the same name is written beside it).")
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Sentences already labelled (a labels table of `learn`): suggestions avoid their like.")
@click.option("--coder-model", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The learned coder whose doubts are asked about (default: models/coder).")
@_codebook_option
@_allow_outside_option
def suggest(paths, n, out_path, labels_path, coder_model, codebook_path, cache_dir, no_cache, jobs,
            accent_insensitive, quiet, allow_outside):
    """Pick the sentences most worth coding next (active learning).

    The sentences whose decision is the most uncertain and the least like those
    already labelled are written as an XLSX table to fill in (0/1 per category)
    and as a .qdpx project where they carry the code « À coder », to code in a
    QDA tool. Give either file back to `learn`.

    \b
    Examples:
      ptce-nlp suggest nouvelles_fiches/ --n 50 --out a_coder.xlsx
      ptce-nlp learn --labels a_coder.xlsx nouvelles_fiches/ --out mon_modele
      ptce-nlp learn --from-qdpx a_coder_code.qdpx --out mon_modele
    """
    from .analysis import code_documents
    from .classify import sentence_table, suggest as pick
    from .learn import read_labels, suggestions_table, write_suggestions
    from .pipeline import load_sentence_coder

    if out_path.suffix.lower() != ".xlsx":
        raise click.UsageError("--out must name an .xlsx file (the .qdpx is written beside it)")
    _check_outputs([("--out", out_path, "file"), ("--out", out_path.with_suffix(".qdpx"), "file")], paths=paths,
                   allow_outside=allow_outside, codebook=codebook_path, cache_dir=cache_dir,
                   files=[("labels table", labels_path), ("coder model", coder_model)])
    book = _load_codebook_cli(codebook_path, quiet)
    coder = load_sentence_coder("hybrid", coder_model)
    documents, failures = _read_inputs(paths, quiet, cache_dir=cache_dir, no_cache=no_cache,
                                       allow_outside=allow_outside)
    result = code_documents(documents, book, cache_dir=cache_dir, use_cache=not no_cache, jobs=jobs,
                            accent_insensitive=accent_insensitive) if documents else None
    pool = sentence_table(result.parsed, result.coded) if result is not None else None
    if pool is None or not len(pool):
        _error(f"{', '.join(map(str, paths))}: no sentence to suggest (no readable document with text); "
               "nothing written")
        click.get_current_context().exit(EXIT_NO_INPUT)
    labelled = None
    if labels_path is not None:
        known = read_labels(labels_path)
        if "text" in known.columns:
            done = set(known["text"].str.strip())
            labelled = pool[pool["text"].str.strip().isin(done)]
            pool = pool[~pool["text"].str.strip().isin(done)].reset_index(drop=True)
        elif "segment_id" in known.columns:
            keys = set(zip(known["doc_id"], known["segment_id"]))
            mask = [k in keys for k in zip(pool["doc_id"], pool["segment_id"])]
            labelled = pool[mask]
            pool = pool[[not m for m in mask]].reset_index(drop=True)
    picks = pick(coder, pool, labelled=labelled, n=n)
    table = suggestions_table(pool, picks)
    xlsx, qdpx = write_suggestions(documents, table, book, out_path)
    if not quiet:
        click.echo(f"Suggested {len(table)} sentence(s) of {table['doc_id'].nunique()} document(s) out of "
                   f"{len(pool)}: {xlsx} (fill the 0/1 columns) and {qdpx} (code the « À coder » sentences).",
                   err=True)
    if failures:
        click.get_current_context().exit(EXIT_PARTIAL)


if __name__ == "__main__":  # python -m ptce_nlp.cli
    main()
