"""Parses a PAKE export back with independent parsers and prints what they read, as JSON.

Usage: parse_exports.py FORMAT FILE   (FORMAT: bibtex | ris | csljson | csv)

bibtex: bibtexparser 2 (LaTeX decoded by its pylatexenc middleware); ris: rispy; csljson:
citeproc-py's CSL-JSON reader, rendered with its bundled Harvard style; csv: Python's csv.
"""

import csv
import io
import json
import sys


def bibtex(text):
    import bibtexparser
    from bibtexparser import middlewares as m

    lib = bibtexparser.parse_string(
        text,
        append_middleware=[m.LatexDecodingMiddleware(), m.SeparateCoAuthors()],
    )
    if lib.failed_blocks:
        raise SystemExit(f"unparsed blocks: {[b.raw for b in lib.failed_blocks]}")
    out = []
    for e in lib.entries:
        f = {k: v.value for k, v in e.fields_dict.items()}
        out.append({"type": e.entry_type, "key": e.key, **f})
    return out


def ris(text):
    import rispy

    return [
        {k: v for k, v in r.items() if isinstance(v, (str, list))}
        for r in rispy.loads(text)
    ]


def csljson(text):
    from citeproc import (
        Citation,
        CitationItem,
        CitationStylesBibliography,
        CitationStylesStyle,
        formatter,
    )
    from citeproc.source.json import CiteProcJSON

    items = json.loads(text)
    source = CiteProcJSON(items)
    style = CitationStylesStyle("harvard-cite-them-right", validate=False)
    bib = CitationStylesBibliography(style, source, formatter.plain)
    for i in items:
        bib.register(Citation([CitationItem(i["id"])]))
    rendered = [str(b) for b in bib.bibliography()]
    return {"items": items, "rendered": rendered}


def table(text):
    return list(csv.DictReader(io.StringIO(text, newline="")))


def main():
    kind, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    parsed = {"bibtex": bibtex, "ris": ris, "csljson": csljson, "csv": table}[kind](text)
    json.dump(parsed, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
