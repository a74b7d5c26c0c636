"""Quizzes as QTI 1.2 in the Common Cartridge profile (cc.multiple_choice, cc.multiple_response,
cc.true_false, cc.fib), and back. Numeric questions use cc.fib with a vargte/varlte range (as Canvas does)."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape, quoteattr

from lxml import etree  # pyright: ignore[reportAttributeAccessIssue]  # compiled, without stubs

from .document import Answer, Question, Quiz
from .errors import ExportError

QTI_NS = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
PROFILES = {
    "SINGLE_CHOICE": "cc.multiple_choice.v0p1",
    "MULTIPLE_CHOICE": "cc.multiple_response.v0p1",
    "TRUE_FALSE": "cc.true_false.v0p1",
    "SHORT_ANSWER": "cc.fib.v0p1",
    "NUMERIC": "cc.fib.v0p1",
}


def _meta(fields: dict[str, str]) -> str:
    return "".join(
        f"<qtimetadatafield><fieldlabel>{escape(k)}</fieldlabel><fieldentry>{escape(v)}</fieldentry></qtimetadatafield>"
        for k, v in fields.items()
    )


def _mattext(text: str) -> str:
    return f'<material><mattext texttype="text/plain">{escape(text)}</mattext></material>'


def _number(value: Answer) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _item(ident: str, question: Question) -> str:
    kind = question.type
    if kind not in PROFILES:
        raise ExportError(f"question type {kind!r} has no QTI form")
    labels: list[tuple[str, str]] = []
    if kind in ("SINGLE_CHOICE", "MULTIPLE_CHOICE"):
        labels = [(f"{ident}_{i}", option) for i, option in enumerate(question.options)]
    elif kind == "TRUE_FALSE":
        labels = [(f"{ident}_true", "True"), (f"{ident}_false", "False")]
    if labels:
        cardinality = "Multiple" if kind == "MULTIPLE_CHOICE" else "Single"
        choices = "".join(
            f"<response_label ident={quoteattr(i)}>{_mattext(t)}</response_label>" for i, t in labels
        )
        response = (
            f'<response_lid ident="response1" rcardinality="{cardinality}"><render_choice>{choices}'
            f"</render_choice></response_lid>"
        )
    else:
        response = (
            '<response_str ident="response1" rcardinality="Single"><render_fib>'
            '<response_label ident="answer1"/></render_fib></response_str>'
        )

    if kind == "SINGLE_CHOICE":
        condition = "".join(
            f'<varequal respident="response1">{labels[int(i)][0]}</varequal>' for i in question.correct[:1]
        )
    elif kind == "MULTIPLE_CHOICE":
        correct = {int(i) for i in question.correct}
        parts = [
            f'<varequal respident="response1">{ident_}</varequal>'
            if index in correct
            else f'<not><varequal respident="response1">{ident_}</varequal></not>'
            for index, (ident_, _) in enumerate(labels)
        ]
        condition = f"<and>{''.join(parts)}</and>"
    elif kind == "TRUE_FALSE":
        truth = bool(question.correct[0]) if question.correct else True
        condition = f'<varequal respident="response1">{ident}_{"true" if truth else "false"}</varequal>'
    elif kind == "NUMERIC":
        value, tolerance = (list(question.correct) + [0, 0])[:2]
        low, high = float(value) - float(tolerance), float(value) + float(tolerance)
        condition = (
            f'<vargte respident="response1">{_number(low)}</vargte>'
            f'<varlte respident="response1">{_number(high)}</varlte>'
        )
    else:
        condition = "".join(
            f'<varequal respident="response1" case="No">{escape(str(a))}</varequal>' for a in question.correct
        )
        condition = f"<or>{condition}</or>" if len(question.correct) > 1 else condition

    feedback_link = (
        '<displayfeedback feedbacktype="Response" linkrefid="general_fb"/>' if question.explanation else ""
    )
    general = (
        f'<respcondition continue="Yes"><conditionvar><other/></conditionvar>{feedback_link}</respcondition>'
        if question.explanation
        else ""
    )
    feedback = (
        f'<itemfeedback ident="general_fb"><flow_mat><material><mattext texttype="text/plain">'
        f"{escape(question.explanation)}</mattext></material></flow_mat></itemfeedback>"
        if question.explanation
        else ""
    )
    meta = {"cc_profile": PROFILES[kind], "cc_weighting": str(question.points), "coursegraph_type": kind}
    return (
        f"<item ident={quoteattr(ident)} title={quoteattr(question.prompt[:80])}>"
        f"<itemmetadata><qtimetadata>{_meta(meta)}</qtimetadata></itemmetadata>"
        f"<presentation>{_mattext(question.prompt)}{response}</presentation>"
        "<resprocessing><outcomes>"
        '<decvar varname="SCORE" vartype="Decimal" minvalue="0" maxvalue="100"/></outcomes>'
        f"{general}"
        f'<respcondition continue="No"><conditionvar>{condition}</conditionvar>'
        f'<setvar action="Set" varname="SCORE">100</setvar></respcondition></resprocessing>{feedback}</item>'
    )


def write_assessment(ident: str, quiz: Quiz) -> bytes:
    items = "".join(_item(f"{ident}_i{n}", q) for n, q in enumerate(quiz.questions, start=1))
    meta = {"cc_profile": "cc.exam.v0p1", "qmd_assessmenttype": "Examination", "cc_maxattempts": "unlimited"}
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<questestinterop xmlns="{QTI_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="{QTI_NS} http://www.imsglobal.org/profile/cc/ccv1p3/ccv1p3_qtiasiv1p2p1_v1p0.xsd">'
        f"<assessment ident={quoteattr(ident)} title={quoteattr(quiz.title)}>"
        f"<qtimetadata>{_meta(meta)}</qtimetadata>"
        f'<section ident="root_section">{items}</section></assessment></questestinterop>\n'
    ).encode()


# --- reading: namespace-agnostic (Canvas, Moodle and older CC versions use other namespaces) ---


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _all(element: etree._Element, name: str) -> list[etree._Element]:
    return [e for e in element.iter() if _local(e) == name]


def _text(element: etree._Element | None) -> str:
    """A mattext's text; HTML (Canvas writes text/html) reduced to its text."""
    if element is None:
        return ""
    raw = "".join(element.itertext()).strip()
    if (element.get("texttype") or "").lower() == "text/html" or raw.startswith("<"):
        try:
            raw = " ".join(
                etree.fromstring(f"<div>{raw}</div>", etree.HTMLParser(no_network=True)).itertext()
            )
        except (etree.XMLSyntaxError, ValueError):
            raw = re.sub(r"<[^>]+>", " ", raw)
    return re.sub(r"\s+", " ", raw).strip()


def _metadata(element: etree._Element) -> dict[str, str]:
    fields: dict[str, str] = {}
    for field in _all(element, "qtimetadatafield"):
        label = next((_text(e) for e in field if _local(e) == "fieldlabel"), "")
        entry = next((_text(e) for e in field if _local(e) == "fieldentry"), "")
        fields.setdefault(label, entry)
    return fields


def _read_item(item: etree._Element) -> Question | None:
    meta = _metadata(item)
    profile = meta.get("cc_profile", "") + " " + meta.get("question_type", "")
    presentation = next(iter(_all(item, "presentation")), None)
    if presentation is None:
        return None
    responses = [
        e for e in presentation.iter() if _local(e).startswith("response_") and _local(e) != "response_label"
    ]
    if len(responses) != 1:
        return None  # matching, multiple blanks, ...: no question type of ours holds them
    prompt_el = next(
        (
            e
            for e in _all(presentation, "mattext")
            if not any(_local(a) == "response_label" for a in e.iterancestors())
        ),
        None,
    )
    prompt = _text(prompt_el)
    labels = [
        (label.get("ident", ""), _text(next(iter(_all(label, "mattext")), None)))
        for label in _all(presentation, "response_label")
    ]
    lid = next(iter(_all(presentation, "response_lid")), None)
    conditions = [
        c
        for c in _all(item, "respcondition")
        if any(_local(s) == "setvar" and (s.text or "").strip() not in ("", "0") for s in c)
    ]
    correct_conds = conditions[:1] if conditions else []
    equal = [
        (e.text or "").strip()
        for c in correct_conds
        for e in _all(c, "varequal")
        if not any(_local(a) == "not" for a in e.iterancestors())
    ]
    points = max(1, round(_float(meta.get("cc_weighting") or meta.get("points_possible")) or 1))
    feedback = next((_text(next(iter(_all(f, "mattext")), None)) for f in _all(item, "itemfeedback")), "")
    declared = meta.get("coursegraph_type", "")
    if lid is not None:
        ids = [ident for ident, _ in labels]
        texts = [text for _, text in labels]
        is_tf = "true_false" in profile or declared == "TRUE_FALSE"
        if is_tf and len(labels) == 2:
            truth_ident = equal[0] if equal else ids[0]
            truth = (
                texts[ids.index(truth_ident)].lower() in ("true", "yes", "vrai", "wahr")
                if truth_ident in ids
                else True
            )
            return Question("TRUE_FALSE", prompt, (), (truth,), points, feedback)
        indexes = tuple(ids.index(value) for value in equal if value in ids)
        if not indexes:
            return None  # a survey question: nothing to score against
        multiple = (
            lid.get("rcardinality") == "Multiple"
            or "multiple_response" in profile
            or "multiple_answers" in profile
        )
        return Question(
            "MULTIPLE_CHOICE" if multiple else "SINGLE_CHOICE",
            prompt,
            tuple(texts),
            indexes,
            points,
            feedback,
        )
    low = [n for c in correct_conds for e in _all(c, "vargte") if (n := _float(e.text)) is not None]
    high = [n for c in correct_conds for e in _all(c, "varlte") if (n := _float(e.text)) is not None]
    if low and high:
        middle, tolerance = (low[0] + high[0]) / 2, (high[0] - low[0]) / 2
        return Question("NUMERIC", prompt, (), (_clean(middle), _clean(tolerance)), points, feedback)
    exact = _float(equal[0]) if equal else None
    if (declared == "NUMERIC" or "numerical" in profile) and exact is not None:
        return Question("NUMERIC", prompt, (), (_clean(exact), 0), points, feedback)
    if not equal:
        return None  # an essay: marked by a person, not a question type of ours
    return Question("SHORT_ANSWER", prompt, (), tuple(equal), points, feedback)


def _float(text: str | None) -> float | None:
    try:
        number = float((text or "").strip())
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def _clean(number: float) -> int | float:
    return int(number) if float(number).is_integer() else number


def read_assessment(root: etree._Element, fallback_title: str) -> Quiz:
    """The quiz's questions of the types we have; others (essay, matching, surveys) are left out."""
    assessment = next(iter(_all(root, "assessment")), root)
    title = assessment.get("title") or fallback_title
    questions = tuple(q for q in (_read_item(item) for item in _all(assessment, "item")) if q is not None)
    return Quiz(title=title, questions=questions)
