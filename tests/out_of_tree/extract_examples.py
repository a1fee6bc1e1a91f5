"""Writes the README's example files to a directory, so the tests build exactly what the README shows.

An example file is a fenced code block preceded by a line ``<!-- example: NAME -->``.
"""
import pathlib
import re
import sys

MARKER = re.compile(r"<!-- example: (?P<name>[\w.]+) -->\s*\n```[\w+-]*\n(?P<body>.*?)\n```", re.S)


def main(readme: str, out_dir: str) -> int:
    text = pathlib.Path(readme).read_text()
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    found = MARKER.findall(text)
    if not found:
        print(f"{readme}: no '<!-- example: NAME -->' blocks found", file=sys.stderr)
        return 1
    for name, body in found:
        (out / name).write_text(body + "\n")
        print(f"extracted {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
