"""A course that exercises every writer: Markdown with headings, lists, emphasis, code, links, an attached
image and untrusted bits; a generated deck; an exercise; a quiz with every question type."""

from __future__ import annotations

import base64
import io
import re
import zipfile
from pathlib import Path

import pytest

import subgraphs.content.exports
from subgraphs.content.exports.document import (
    Attachment,
    CourseDocument,
    Exercise,
    Lesson,
    Module,
    Question,
    Quiz,
)

SCHEMAS = Path(subgraphs.content.exports.__file__).parent / "schemas"
# A 2×2 PNG made for these tests.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg=="
)
# Strings that only a quiz's answers contain: none of them may appear where learners read.
SECRET_ANSWERS = ("zebra-quokka", "because-secret-explanation", "4217")

INSTALL = """# Install Python

Use **uv** and *pip*, see [the docs](https://docs.python.org/3/) and [a bad link](javascript:alert(1)).

- one
- two
  - nested

```python
def greet(name):
    return f"hello {name}"
```

![architecture diagram](diagram.png)

![remote image](https://example.com/tracker.png)

<script>alert("x")</script>
"""

DECK = """## Why Python
- readable
- batteries included

---

## The REPL
- try things fast

---

## Next steps
1. install
2. practice
"""


def course_document() -> CourseDocument:
    return CourseDocument(
        title="Python Foundations",
        description="From zero to scripts.",
        category="Programming",
        difficulty="BEGINNER",
        language="en",
        modules=(
            Module(
                "Getting started",
                (
                    Lesson("Installing Python", INSTALL, (Attachment("diagram.png", "image/png", PNG),)),
                    Lesson("Generated slides", DECK),
                ),
            ),
            Module(
                "Data structures",
                (
                    Lesson(
                        "Lists",
                        "Lists hold items.\n\n## Indexing\n\n- `xs[0]` is the first\n- negative counts back",
                    ),
                    # An attachment named like the page's own Markdown source must not replace it.
                    Lesson(
                        "Dictionaries",
                        "Keys map to values. See [the notes](source.md).",
                        (Attachment("source.md", "text/markdown", b"# My notes\n"),),
                    ),
                ),
            ),
        ),
        exercises=(Exercise("FizzBuzz", "Print **fizz** for multiples of 3.", "python"),),
        quizzes=(
            Quiz(
                "Check your basics",
                "Five questions.",
                70,
                (
                    Question(
                        "SINGLE_CHOICE",
                        "Which keyword defines a function? </script><!--",  # must not break the quiz page
                        ("def", "fun", "lambda"),
                        (0,),
                        2,
                        "because-secret-explanation",
                    ),
                    Question("MULTIPLE_CHOICE", "Which are mutable?", ("list", "tuple", "dict"), (0, 2)),
                    Question("TRUE_FALSE", "Python is dynamically typed.", (), (True,)),
                    Question("SHORT_ANSWER", "Name the animal code word.", (), ("zebra-quokka",)),
                    Question("NUMERIC", "What is 4200 + 17?", (), (4217, 0.5)),
                ),
            ),
        ),
    )


@pytest.fixture
def course() -> CourseDocument:
    return course_document()


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def manifest_hrefs(manifest: bytes) -> list[str]:
    return re.findall(rb'<file href="([^"]+)"', manifest)
