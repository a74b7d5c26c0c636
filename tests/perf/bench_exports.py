"""Benchmark: export time per format of a 10-module course, and Common Cartridge import time.

    uv run python tests/perf/bench_exports.py [--rounds 5] [--lessons 4]

Pure functions, no services: the course document is built here (10 modules × N lessons of ~1 KB Markdown
with headings, lists, code and an attached 40 KB PNG in every module's first lesson; 10 exercises; 2 quizzes
of 10 questions of every type). Per format: median and max wall time of `render`, and the output's size.
Figures are for reading, not asserted; the machine's load average is printed with them.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from subgraphs.content.exports import ExportFormat, read_common_cartridge, render  # noqa: E402
from subgraphs.content.exports.document import (  # noqa: E402
    Attachment,
    CourseDocument,
    Exercise,
    Lesson,
    Module,
    Question,
    Quiz,
)

BODY = """## Overview of {topic}

This lesson covers **{topic}** in depth, with *examples* and [references](https://docs.python.org/3/).
Each section builds on the last; read it in order and try the code as you go.

- why {topic} matters
- how it works under the hood
  - the data model
  - the costs
- common mistakes

```python
def example_{n}(items):
    total = 0
    for item in items:
        total += item * {n}
    return total
```

## Practice

1. Read the example.
2. Change it.
3. Explain the result to a colleague.

{image}
"""


def _png() -> bytes:
    image = Image.effect_noise((160, 120), 64).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def course(lessons_per_module: int) -> CourseDocument:
    png = _png()
    modules = []
    for m in range(1, 11):
        lessons = []
        for n in range(1, lessons_per_module + 1):
            first = n == 1
            body = BODY.format(topic=f"topic {m}.{n}", n=n, image="![diagram](diagram.png)" if first else "")
            attachments = (Attachment("diagram.png", "image/png", png),) if first else ()
            lessons.append(Lesson(f"Lesson {m}.{n}: topic {m}.{n}", body, attachments))
        modules.append(Module(f"Module {m}", tuple(lessons)))
    questions = []
    for q in range(10):
        questions += [
            Question("SINGLE_CHOICE", f"Pick one ({q})", ("a", "b", "c", "d"), (q % 4,)),
            Question("MULTIPLE_CHOICE", f"Pick some ({q})", ("a", "b", "c"), (0, 2)),
            Question("TRUE_FALSE", f"True? ({q})", (), (q % 2 == 0,)),
            Question("SHORT_ANSWER", f"Word ({q})", (), ("word",)),
            Question("NUMERIC", f"Number ({q})", (), (q, 0.5)),
        ]
    quizzes = tuple(Quiz(f"Quiz {i}", "", 60, tuple(questions[i * 25 : (i + 1) * 25])) for i in range(2))
    exercises = tuple(
        Exercise(f"Exercise {i}", BODY.format(topic=f"ex {i}", n=i, image="")) for i in range(10)
    )
    return CourseDocument(
        "Benchmark course",
        "Ten modules.",
        "Programming",
        modules=tuple(modules),
        exercises=exercises,
        quizzes=quizzes,
    )


def timing(times: list[float]) -> str:
    return f"median {statistics.median(times) * 1000:8.1f} ms   max {max(times) * 1000:8.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--lessons", type=int, default=4, help="lessons per module")
    args = parser.parse_args()
    doc = course(args.lessons)
    lessons = sum(len(m.lessons) for m in doc.modules)
    print(
        f"course: 10 modules, {lessons} lessons, 10 exercises, 2 quizzes × 25 questions; {args.rounds} rounds"
    )
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    cartridge = b""
    for fmt in ExportFormat:
        times = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            data = render(fmt, doc)
            times.append(time.perf_counter() - start)
        if fmt is ExportFormat.COMMON_CARTRIDGE:
            cartridge = data
        print(f"{fmt.value:<17} {timing(times)}   size {len(data) / 1024:8.1f} KiB")
    times = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        read_common_cartridge(cartridge)
        times.append(time.perf_counter() - start)
    print(f"{'CC import':<17} {timing(times)}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
