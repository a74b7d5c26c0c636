"""Subscription results shared within a process (core/shared_results.py): subscribers of one event with the
same selection get one execution's result; a selection that uses other variables, another event or a
result with errors is executed per operation; a type whose fields could depend on the caller is refused."""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator

import pytest
import strawberry
from strawberry.types import ExecutionResult

from subgraphs.core.schema import build_schema
from subgraphs.core.shared_results import shared_projection


@strawberry.enum
class Colour(enum.Enum):
    RED = "RED"


@shared_projection
@strawberry.type
class Tick:
    seq: int
    colour: Colour
    note: str | None
    label: str


EVENTS: dict[int, Tick] = {}


@strawberry.type
class Query:
    ok: bool = True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def ticks(self, seq: int, after: int | None = None) -> AsyncGenerator[Tick, None]:
        # A new object per subscriber, as a real stream yields: sharing goes by the event's values.
        event = EVENTS[seq]
        yield Tick(seq=event.seq, colour=event.colour, note=event.note, label=event.label)


schema = build_schema(query=Query, subscription=Subscription)
QUERY = """subscription($seq: Int!, $after: Int, $withNote: Boolean = true) {
  ticks(seq: $seq, after: $after) { seq colour label note @include(if: $withNote) } }"""


async def first_result(**variables: object) -> ExecutionResult:
    stream = await schema.subscribe(QUERY, variable_values=variables)
    assert not isinstance(stream, ExecutionResult), stream
    async for result in stream:
        await stream.aclose()
        return result
    raise AssertionError("no result")


async def test_subscribers_of_one_event_share_its_result():
    EVENTS[1] = Tick(seq=1, colour=Colour.RED, note="n", label="one")
    first = await first_result(seq=1, after=0)
    # another subscriber, another `after` (a root argument: it chose the stream, not the projection)
    second = await first_result(seq=1, after=None)
    assert first.data == {"ticks": {"seq": 1, "colour": "RED", "label": "one", "note": "n"}}
    assert second.data is first.data  # one execution's result


async def test_a_selection_with_other_variables_or_another_event_executes_again():
    EVENTS[2] = Tick(seq=2, colour=Colour.RED, note="n", label="two")
    shown = await first_result(seq=2)
    hidden = await first_result(seq=2, withNote=False)
    assert hidden.data == {"ticks": {"seq": 2, "colour": "RED", "label": "two"}}
    assert shown.data == {"ticks": {"seq": 2, "colour": "RED", "label": "two", "note": "n"}}
    EVENTS[2] = Tick(seq=2, colour=Colour.RED, note="changed", label="two")  # other values, other key
    changed = await first_result(seq=2)
    assert changed.data == {"ticks": {"seq": 2, "colour": "RED", "label": "two", "note": "changed"}}


async def test_a_result_with_errors_stays_with_its_operation():
    EVENTS[3] = Tick(seq=3, colour=Colour.RED, note=None, label=None)  # pyright: ignore[reportArgumentType]  # a non-null field without a value
    first = await first_result(seq=3)
    second = await first_result(seq=3)
    assert first.errors and second.errors
    assert first.errors[0] is not second.errors[0]  # executed, masked and logged for each operation


def test_a_type_whose_fields_could_depend_on_the_caller_is_refused():
    with pytest.raises(TypeError, match="Computed.label"):

        @shared_projection
        @strawberry.type
        class Computed:
            seq: int

            @strawberry.field
            def label(self, info: strawberry.Info) -> str:
                return str(info.context)

    with pytest.raises(TypeError, match="Nested.tick"):

        @shared_projection
        @strawberry.type
        class Nested:
            tick: Tick
