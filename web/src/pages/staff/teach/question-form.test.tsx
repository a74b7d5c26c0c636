import { cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import type { QuestionInput } from '../../../gql/graphql';
import { QuestionForm } from './QuestionForm';

afterEach(cleanup);

/** Renders a new-question form and returns what it submitted. */
function setup(props: Partial<Parameters<typeof QuestionForm>[0]> = {}) {
  const submitted: QuestionInput[] = [];
  render(<QuestionForm submitLabel="Add question" onSubmit={(q) => submitted.push(q)} {...props} />);
  return { submitted, user: userEvent.setup({ delay: null }) };
}

describe('The question form', () => {
  it('writes a single-choice question with one right option', async () => {
    const { submitted, user } = setup();
    await user.type(screen.getByLabelText('Prompt (Markdown)'), 'What does `len("ab")` return?');
    await user.type(screen.getByLabelText('Option 1'), '1');
    await user.type(screen.getByLabelText('Option 2'), '2');
    await user.click(screen.getByRole('button', { name: 'Add an option' }));
    await user.type(screen.getByLabelText('Option 3'), '3');
    await user.click(screen.getByRole('radio', { name: 'Option 1 is right' }));
    await user.click(screen.getByRole('radio', { name: 'Option 2 is right' }));
    await user.clear(screen.getByLabelText('Points'));
    await user.type(screen.getByLabelText('Points'), '2');
    await user.type(screen.getByLabelText(/^Explanation/), 'Two characters.');
    await user.click(screen.getByRole('button', { name: 'Add question' }));
    expect(submitted).toEqual([
      { type: 'SINGLE_CHOICE', prompt: 'What does `len("ab")` return?', options: ['1', '2', '3'], correctChoices: [1], points: 2, explanation: 'Two characters.' },
    ]);
  });

  it('writes a multiple-choice question, keeping the right options when one is removed', async () => {
    const { submitted, user } = setup();
    await user.selectOptions(screen.getByLabelText('Question type'), 'MULTIPLE_CHOICE');
    await user.type(screen.getByLabelText('Prompt (Markdown)'), 'Which are sequences?');
    await user.click(screen.getByRole('button', { name: 'Add an option' }));
    for (const [i, text] of ['dict', 'list', 'str'].entries()) await user.type(screen.getByLabelText(`Option ${i + 1}`), text);
    await user.click(screen.getByRole('checkbox', { name: 'Option 2 is right' }));
    await user.click(screen.getByRole('checkbox', { name: 'Option 3 is right' }));
    await user.click(screen.getByRole('button', { name: 'Remove option 1' }));
    await user.click(screen.getByRole('button', { name: 'Add question' }));
    expect(submitted[0]).toMatchObject({ type: 'MULTIPLE_CHOICE', options: ['list', 'str'], correctChoices: [0, 1], points: 1, explanation: null });
  });

  it('writes a true/false question', async () => {
    const { submitted, user } = setup();
    await user.selectOptions(screen.getByLabelText('Question type'), 'TRUE_FALSE');
    await user.type(screen.getByLabelText('Prompt (Markdown)'), 'Tuples are mutable.');
    await user.click(screen.getByRole('radio', { name: 'False' }));
    await user.click(screen.getByRole('button', { name: 'Add question' }));
    expect(submitted[0]).toEqual({ type: 'TRUE_FALSE', prompt: 'Tuples are mutable.', correctBoolean: false, points: 1, explanation: null });
  });

  it('writes a short-answer question with its accepted answers', async () => {
    const { submitted, user } = setup();
    await user.selectOptions(screen.getByLabelText('Question type'), 'SHORT_ANSWER');
    await user.type(screen.getByLabelText('Prompt (Markdown)'), 'The keyword that defines a function?');
    await user.type(screen.getByLabelText(/^Accepted answers/), 'def{enter}  DEF {enter}{enter}');
    await user.click(screen.getByRole('button', { name: 'Add question' }));
    expect(submitted[0]).toMatchObject({ type: 'SHORT_ANSWER', acceptedAnswers: ['def', 'DEF'] });
  });

  it('writes a numeric question with a tolerance', async () => {
    const { submitted, user } = setup();
    await user.selectOptions(screen.getByLabelText('Question type'), 'NUMERIC');
    await user.type(screen.getByLabelText('Prompt (Markdown)'), 'What is 22/7, roughly?');
    await user.type(screen.getByLabelText('Right answer'), '3.14');
    await user.type(screen.getByLabelText('Tolerance (±)'), '0.01');
    await user.click(screen.getByRole('button', { name: 'Add question' }));
    expect(submitted[0]).toMatchObject({ type: 'NUMERIC', correctNumber: 3.14, tolerance: 0.01 });
  });

  it('starts from an existing question and shows the server’s field errors at their fields', async () => {
    const { submitted, user } = setup({
      initial: { type: 'NUMERIC', prompt: 'Pi?', options: [], points: 3, explanation: 'About 3.14.', correctAnswer: { number: 3.14, tolerance: 0.005 } },
      errors: { 'question.points': 'Points must be between 1 and 100.' },
    });
    expect(screen.getByLabelText('Right answer')).toHaveValue(3.14);
    expect(screen.getByLabelText('Points')).toHaveAccessibleDescription('Points must be between 1 and 100.');
    await user.click(screen.getByRole('button', { name: 'Add question' }));
    expect(submitted[0]).toEqual({ type: 'NUMERIC', prompt: 'Pi?', correctNumber: 3.14, tolerance: 0.005, points: 3, explanation: 'About 3.14.' });
  });
});
