"""Fill README.md's results table from a course run's results.json.

    python tools/results_to_readme.py course_out/results.json [README.md]

Replaces the lines between `<!-- results:start -->` and `<!-- results:end -->`.
From a multi-seed run (`python -m tl_helpers.course run --profile lite --seeds 0 1 2`)
each number reads `mean ± sd` and each row's status says `(3 seeds)`: the spread a
learner should expect between machines and seeds.
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
