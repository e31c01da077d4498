"""Fill README.md's results table from a course run's results.json.

    python tools/results_to_readme.py course_out/results.json

Replaces the lines between `<!-- results:start -->` and `<!-- results:end -->`.
"""

import json
import sys
from pathlib import Path

from tl_helpers.course import results_table


def main(path: str, readme: str = "README.md") -> None:
    results = json.loads(Path(path).read_text())
    text = Path(readme).read_text()
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    if start not in text or end not in text:
        raise SystemExit(f"{readme} has no {start} ... {end} block.")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    Path(readme).write_text(f"{head}{start}\n{results_table(results)}\n{end}{tail}")
    print(f"updated {readme} from {path}")


if __name__ == "__main__":
    main(*sys.argv[1:])
