"""The router's answer for a course becomes the exports' CourseDocument (quiz answers in its encoding)."""

from __future__ import annotations

import uuid

from subgraphs.content.course_reader import document_of
from subgraphs.content.exports.document import Attachment


def test_document_of_maps_modules_lessons_exercises_and_quizzes():
    lesson_id = str(uuid.uuid4())
    course = {
        "title": "Rust",
        "description": "Systems",
        "category": "programming",
        "difficulty": "INTERMEDIATE",
        "modules": {
            "nodes": [
                {
                    "id": "m",
                    "title": "Ownership",
                    "lessons": {"nodes": [{"id": lesson_id, "title": "Moves", "body": "# Moves"}]},
                }
            ]
        },
        "exercises": {"nodes": [{"title": "Borrow", "instructions": "Do it", "language": "rust"}]},
        "quizzes": {
            "nodes": [
                {
                    "title": "Q",
                    "description": "",
                    "passingScore": 70,
                    "questions": {
                        "nodes": [
                            {
                                "type": "SINGLE_CHOICE",
                                "prompt": "Pick",
                                "options": ["a", "b"],
                                "points": 2,
                                "explanation": "",
                                "correctAnswer": {
                                    "choices": [1],
                                    "boolean": None,
                                    "acceptedAnswers": None,
                                    "number": None,
                                },
                            },
                            {
                                "type": "TRUE_FALSE",
                                "prompt": "Yes?",
                                "options": [],
                                "points": 1,
                                "explanation": "because",
                                "correctAnswer": {
                                    "choices": None,
                                    "boolean": True,
                                    "acceptedAnswers": None,
                                    "number": None,
                                },
                            },
                            {
                                "type": "NUMERIC",
                                "prompt": "Pi",
                                "options": [],
                                "points": 1,
                                "explanation": "",
                                "correctAnswer": {
                                    "choices": None,
                                    "boolean": None,
                                    "acceptedAnswers": None,
                                    "number": 3.14,
                                    "tolerance": 0.01,
                                },
                            },
                            {
                                "type": "SHORT_ANSWER",
                                "prompt": "Name",
                                "options": [],
                                "points": 1,
                                "explanation": "",
                                "correctAnswer": None,
                            },
                        ]
                    },
                }
            ]
        },
    }
    files = {uuid.UUID(lesson_id): [Attachment(name="a.pdf", mime_type="application/pdf", data=b"%PDF")]}
    doc = document_of(course, files)
    assert (doc.title, doc.description, doc.category, doc.difficulty) == (
        "Rust",
        "Systems",
        "programming",
        "INTERMEDIATE",
    )
    lesson = doc.modules[0].lessons[0]
    assert (doc.modules[0].title, lesson.title, lesson.body_markdown) == ("Ownership", "Moves", "# Moves")
    assert lesson.attachments[0].name == "a.pdf"
    assert doc.exercises[0].language == "rust"
    quiz = doc.quizzes[0]
    assert quiz.passing_score == 70
    assert [q.correct for q in quiz.questions] == [(1,), (True,), (3.14, 0.01), ()]
    assert quiz.questions[0].options == ("a", "b") and quiz.questions[0].points == 2
