"""Command line: ``python build.py [build|serve|check|new] [--strict]``.

Exit codes: 0 success, 1 content errors, 2 usage errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .diagnostics import Report
from .pipeline import Project, build

EXIT_OK, EXIT_CONTENT, EXIT_USAGE = 0, 1, 2


def _common_options(defaults: bool) -> argparse.ArgumentParser:
    """Options accepted before and after the command.  After it they default to
    SUPPRESS, so 'build.py --strict check' keeps the --strict given first."""
    def default(value):
        return value if defaults else argparse.SUPPRESS

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--strict", action="store_true", default=default(False), help="treat warnings as errors")
    common.add_argument("--root", type=Path, default=default(Path.cwd()),
                        help="project folder (default: current folder)")
    common.add_argument("--out", type=Path, default=default(None), help="output folder (default: ROOT/site)")
    common.add_argument("--debug", action="store_true", default=default(False),
                        help="also print the traceback of any internal error (for bug reports)")
    return common


def parser() -> argparse.ArgumentParser:
    common = _common_options(defaults=False)
    top = argparse.ArgumentParser(prog="build.py", parents=[_common_options(defaults=True)],
                                  description="Build the Mend guide from content/ and templates/ into site/.")
    commands = top.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("build", parents=[common], help="build the site into site/ (the default)",
                        description="Build the site into site/; the previous site stays if the build fails.")
    serve = commands.add_parser("serve", parents=[common], help="build, serve and rebuild on every change",
                                description="Build, serve on 127.0.0.1 with live reload, and rebuild on change.")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    commands.add_parser("check", parents=[common], help="run every check without writing anything",
                        description="Run every check and print the report; writes nothing.")
    new = commands.add_parser("new", parents=[common], help="start a page with valid front matter",
                              description="Create content/<section>/SLUG.md for a page of KIND.")
    new.add_argument("kind", metavar="KIND", choices=("article", "faq", "worksheet", "page"),
                     help="article, faq, worksheet or page")
    new.add_argument("slug", metavar="SLUG", help="file name without .md, e.g. space-after-a-breakup")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return EXIT_CONTENT
    except Exception as exc:  # noqa: BLE001 - the last resort: never a traceback unless asked
        report = Report()
        report.internal(str(args.root), exc)
        _print_report(report, args)
        return EXIT_CONTENT


def _print_report(report: Report, args) -> None:
    text = report.format(args.strict)
    if text:
        print(text, file=sys.stderr)
    if args.debug:
        for trace in report.tracebacks:
            print(trace, file=sys.stderr)


def _run(args) -> int:
    project = Project(args.root.resolve(), args.out.resolve() if args.out else None)
    if not project.content.is_dir():
        print(f"build.py: error: no content/ folder in {project.root}", file=sys.stderr)
        return EXIT_USAGE
    command = args.command or "build"
    if command in ("build", "serve"):
        from .publish import refusal
        refused = refusal(project.out, project.root)
        if refused:
            print(f"build.py: error: --out {refused}", file=sys.stderr)
            print("    hint: choose an empty folder, or one an earlier build made (default: site/)", file=sys.stderr)
            return EXIT_USAGE
    if command == "serve":
        from .serve import serve
        return serve(project, host=args.host, port=args.port, strict=args.strict)
    if command == "new":
        from .scaffold import new_page
        return new_page(project, args.kind, args.slug)
    result = build(project, strict=args.strict, write=(command == "build"))
    _print_report(result.report, args)
    if command == "check":
        from .report import editorial_table
        sys.stderr.flush()
        print(editorial_table(result.editorial, result.report, result.today, args.strict), flush=True)
    print(result.summary(args.strict), file=sys.stderr)
    return EXIT_CONTENT if result.report.failed(args.strict) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
