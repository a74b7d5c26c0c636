// Answers as the form holds them and as the API takes them (AnswerInput), one shape per question type.
import type { AnswerInput, QuestionType } from '../../gql/graphql';

export interface SavedAnswer {
  questionId: string;
  choices?: number[] | null;
  boolean?: boolean | null;
  text?: string | null;
  number?: number | null;
}

/** Is there anything in this answer worth saving? */
export function isAnswered(type: QuestionType, answer: AnswerInput | undefined): boolean {
  if (!answer) return false;
  switch (type) {
    case 'SINGLE_CHOICE':
    case 'MULTIPLE_CHOICE':
      return (answer.choices?.length ?? 0) > 0;
    case 'TRUE_FALSE':
      return answer.boolean != null;
    case 'SHORT_ANSWER':
      return (answer.text ?? '').trim() !== '';
    case 'NUMERIC':
      return answer.number != null && Number.isFinite(answer.number);
  }
}

export function toInput(saved: SavedAnswer): AnswerInput {
  return { choices: saved.choices ?? null, boolean: saved.boolean ?? null, text: saved.text ?? null, number: saved.number ?? null };
}

export function toggleChoice(choices: number[] | null | undefined, index: number): number[] {
  const current = choices ?? [];
  return current.includes(index) ? current.filter((c) => c !== index) : [...current, index].sort((a, b) => a - b);
}

/** Attempts the student may still start; null means unlimited. */
export function attemptsLeft(allowed: number | null | undefined, used: number): number | null {
  return allowed == null ? null : Math.max(0, allowed - used);
}
