"""Typed errors of the generator domain."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import strawberry

from subgraphs.core.errors import Conflict, DomainError, Error


class GeneratorErrorCode(StrEnum):
    BUDGET_EXCEEDED = "BUDGET_EXCEEDED"
    JOB_FINISHED = "JOB_FINISHED"
    NOT_SUCCEEDED = "NOT_SUCCEEDED"


@strawberry.type(description="The organization's daily token budget is spent; nothing was sent to a model.")
class BudgetExceededError(Error):
    daily_token_budget: int
    tokens_used_today: int


class BudgetExceeded(DomainError):
    graphql_type = BudgetExceededError
    default_code = GeneratorErrorCode.BUDGET_EXCEEDED.value
    default_message = "This organization has used its AI token budget for today."

    def __init__(self, budget: int, used: int) -> None:
        self.budget = budget
        self.used = used
        super().__init__()

    def details(self) -> dict[str, Any]:
        return {"daily_token_budget": self.budget, "tokens_used_today": self.used}


class JobFinished(Conflict):
    default_code = GeneratorErrorCode.JOB_FINISHED.value
    default_message = "This generation job has already finished."


class NotSucceeded(Conflict):
    default_code = GeneratorErrorCode.NOT_SUCCEEDED.value
    default_message = "Only the result of a succeeded generation job can be applied."


GENERATOR_ERRORS: tuple[type[DomainError], ...] = (BudgetExceeded,)
