import { describe, expect, it } from 'vitest';
import { followText, startsOver, usd } from './generation-text';

describe('the text of a generation job, rebuilt from its events', () => {
  const run = (events: { message: string; partial: string }[]) =>
    events.reduce<{ text: string; prev: (typeof events)[number] | null }>((acc, e) => ({ text: followText(acc.text, e, acc.prev), prev: e }), { text: '', prev: null }).text;

  it('concatenates what each event adds', () => {
    expect(run([{ message: 'Queued.', partial: '' }, { message: 'Started (attempt 1).', partial: '' }, { message: 'Writing.', partial: '{"ti' }, { message: 'Writing.', partial: 'tle"' }])).toBe('{"title"');
  });

  it('starts over when the model is re-asked or the connection dropped, once per new attempt', () => {
    const events = [
      { message: 'Writing.', partial: 'broken' },
      { message: 'Writing (re-asked after invalid output, attempt 2).', partial: '{"a"' },
      { message: 'Writing (re-asked after invalid output, attempt 2).', partial: ':1}' },
    ];
    expect(run(events)).toBe('{"a":1}');
    expect(run([{ message: 'Writing.', partial: 'abc' }, { message: 'Writing (the connection dropped; starting over).', partial: 'ab' }, { message: 'Writing.', partial: 'cd' }])).toBe('abcd');
    expect(startsOver({ message: 'Started (attempt 2).', partial: '' }, { message: 'Requeued: its worker stopped.', partial: '' })).toBe(true);
  });

  it('shows small costs with their digits', () => {
    expect(usd(0.0171)).toBe('$0.0171');
    expect(usd(2.5)).toBe('$2.50');
  });
});
