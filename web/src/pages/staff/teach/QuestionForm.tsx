// One quiz question, every type: its prompt, points, explanation and the right answer in the type's own
// form (choices to tick, true/false, accepted answers, a number with a tolerance). Gives a QuestionInput.
import { useId, useState, type FormEvent } from 'react';
import { Field, TextAreaField } from '../../../components/ui';
import type { QuestionInput, QuestionType } from '../../../gql/graphql';

export const QUESTION_TYPES: { value: QuestionType; label: string }[] = [
  { value: 'SINGLE_CHOICE', label: 'Single choice' },
  { value: 'MULTIPLE_CHOICE', label: 'Multiple choice' },
  { value: 'TRUE_FALSE', label: 'True or false' },
  { value: 'SHORT_ANSWER', label: 'Short answer' },
  { value: 'NUMERIC', label: 'Number' },
];

/** What the form starts from: a question as the graph gives it, or nothing for a new one. */
export interface QuestionValue {
  type: QuestionType;
  prompt: string;
  options: string[];
  points: number;
  explanation?: string | null;
  correctAnswer?: {
    choices?: number[] | null;
    boolean?: boolean | null;
    acceptedAnswers?: string[] | null;
    number?: number | null;
    tolerance?: number | null;
  } | null;
}

interface QuestionFormProps {
  initial?: QuestionValue;
  submitLabel: string;
  busy?: boolean;
  /** Field errors keyed by their path under the input (`question.prompt`). */
  errors?: Record<string, string>;
  onSubmit: (question: QuestionInput) => void;
}

const isChoice = (type: QuestionType) => type === 'SINGLE_CHOICE' || type === 'MULTIPLE_CHOICE';

export function QuestionForm({ initial, submitLabel, busy, errors = {}, onSubmit }: QuestionFormProps) {
  const id = useId();
  const [type, setType] = useState<QuestionType>(initial?.type ?? 'SINGLE_CHOICE');
  const [prompt, setPrompt] = useState(initial?.prompt ?? '');
  const [options, setOptions] = useState<string[]>(initial?.options.length ? initial.options : ['', '']);
  const [correct, setCorrect] = useState<number[]>(initial?.correctAnswer?.choices ?? []);
  const [truth, setTruth] = useState<boolean>(initial?.correctAnswer?.boolean ?? true);
  const [accepted, setAccepted] = useState((initial?.correctAnswer?.acceptedAnswers ?? []).join('\n'));
  const [number, setNumber] = useState(initial?.correctAnswer?.number?.toString() ?? '');
  const [tolerance, setTolerance] = useState(initial?.correctAnswer?.tolerance?.toString() ?? '');
  const [points, setPoints] = useState(String(initial?.points ?? 1));
  const [explanation, setExplanation] = useState(initial?.explanation ?? '');
  const error = (field: string) => errors[`question.${field}`];

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const question: QuestionInput = { type, prompt, points: Number(points), explanation: explanation.trim() || null };
    if (isChoice(type)) {
      question.options = options;
      question.correctChoices = type === 'SINGLE_CHOICE' ? correct.slice(0, 1) : correct;
    } else if (type === 'TRUE_FALSE') {
      question.correctBoolean = truth;
    } else if (type === 'SHORT_ANSWER') {
      question.acceptedAnswers = accepted.split('\n').map((a) => a.trim()).filter(Boolean);
    } else {
      question.correctNumber = number.trim() === '' ? null : Number(number);
      question.tolerance = tolerance.trim() === '' ? null : Number(tolerance);
    }
    onSubmit(question);
  };
  const toggle = (index: number, on: boolean) => {
    if (type === 'SINGLE_CHOICE') setCorrect(on ? [index] : []);
    else setCorrect(on ? [...correct, index].sort((a, b) => a - b) : correct.filter((i) => i !== index));
  };
  const removeOption = (index: number) => {
    setOptions(options.filter((_, i) => i !== index));
    setCorrect(correct.filter((i) => i !== index).map((i) => (i > index ? i - 1 : i)));
  };

  return (
    <form onSubmit={submit} noValidate className="stack question-form">
      <div className="field">
        <label htmlFor={`${id}-type`}>Question type</label>
        <select id={`${id}-type`} value={type} onChange={(e) => setType(e.target.value as QuestionType)}>
          {QUESTION_TYPES.map((t) => (
            <option key={t.value} value={t.value}>
              {t.label}
            </option>
          ))}
        </select>
      </div>
      <TextAreaField label="Prompt (Markdown)" rows={3} value={prompt} onChange={(e) => setPrompt(e.target.value)} error={error('prompt')} />
      {isChoice(type) && (
        <fieldset className="stack">
          <legend>Options, with the right {type === 'SINGLE_CHOICE' ? 'one' : 'ones'} ticked</legend>
          {options.map((option, index) => (
            <div key={index} className="inline option-row">
              <input
                type={type === 'SINGLE_CHOICE' ? 'radio' : 'checkbox'}
                name={`${id}-correct`}
                aria-label={`Option ${index + 1} is right`}
                checked={correct.includes(index)}
                onChange={(e) => toggle(index, e.target.checked)}
              />
              <Field label={`Option ${index + 1}`} value={option} onChange={(e) => setOptions(options.map((o, i) => (i === index ? e.target.value : o)))} error={error(`options.${index}`)} />
              <button type="button" className="button button--small button--ghost" onClick={() => removeOption(index)} disabled={options.length <= 2}>
                Remove option {index + 1}
              </button>
            </div>
          ))}
          {(error('options') || error('correctChoices')) && <p className="field__error">{error('options') ?? error('correctChoices')}</p>}
          <div>
            <button type="button" className="button button--small" onClick={() => setOptions([...options, ''])}>
              Add an option
            </button>
          </div>
        </fieldset>
      )}
      {type === 'TRUE_FALSE' && (
        <fieldset>
          <legend>The statement is</legend>
          <label className="choice">
            <input type="radio" name={`${id}-truth`} checked={truth} onChange={() => setTruth(true)} /> True
          </label>
          <label className="choice">
            <input type="radio" name={`${id}-truth`} checked={!truth} onChange={() => setTruth(false)} /> False
          </label>
        </fieldset>
      )}
      {type === 'SHORT_ANSWER' && (
        <TextAreaField
          label="Accepted answers, one a line (case is ignored)"
          rows={3}
          value={accepted}
          onChange={(e) => setAccepted(e.target.value)}
          error={error('acceptedAnswers')}
        />
      )}
      {type === 'NUMERIC' && (
        <div className="columns">
          <Field label="Right answer" type="number" step="any" value={number} onChange={(e) => setNumber(e.target.value)} error={error('correctNumber')} />
          <Field label="Tolerance (±)" type="number" step="any" min="0" value={tolerance} onChange={(e) => setTolerance(e.target.value)} error={error('tolerance')} />
        </div>
      )}
      <Field label="Points" type="number" min="1" value={points} onChange={(e) => setPoints(e.target.value)} error={error('points')} />
      <TextAreaField
        label="Explanation, shown after submitting (Markdown)"
        rows={2}
        value={explanation}
        onChange={(e) => setExplanation(e.target.value)}
        error={error('explanation')}
      />
      <div>
        <button type="submit" className="button button--primary" disabled={busy}>
          {submitLabel}
        </button>
      </div>
    </form>
  );
}
