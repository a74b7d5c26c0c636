import { act, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { clock, secondsLeft } from '../../lib/time';
import { attemptsLeft, isAnswered, toggleChoice } from './quiz-answers';
import { useCountdown } from './useCountdown';

function Timer({ deadline, onExpire }: { deadline: string | null; onExpire: () => void }) {
  const left = useCountdown(deadline, onExpire);
  return <p>{left == null ? 'no limit' : clock(left)}</p>;
}

describe('the quiz timer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-01-01T10:00:00Z'));
  });
  afterEach(() => vi.useRealTimers());

  it('counts down to the server deadline and expires exactly once', () => {
    const onExpire = vi.fn();
    render(<Timer deadline="2026-01-01T10:01:05Z" onExpire={onExpire} />);
    expect(screen.getByText('1:05')).toBeInTheDocument();
    act(() => vi.advanceTimersByTime(60_000));
    expect(screen.getByText('0:05')).toBeInTheDocument();
    expect(onExpire).not.toHaveBeenCalled();
    act(() => vi.advanceTimersByTime(10_000));
    expect(screen.getByText('0:00')).toBeInTheDocument();
    expect(onExpire).toHaveBeenCalledTimes(1);
  });

  it('shows no clock without a time limit', () => {
    const onExpire = vi.fn();
    render(<Timer deadline={null} onExpire={onExpire} />);
    act(() => vi.advanceTimersByTime(5_000));
    expect(screen.getByText('no limit')).toBeInTheDocument();
    expect(onExpire).not.toHaveBeenCalled();
  });

  it('expires at once for a deadline already passed (a reload after time ran out)', () => {
    const onExpire = vi.fn();
    render(<Timer deadline="2026-01-01T09:59:00Z" onExpire={onExpire} />);
    expect(onExpire).toHaveBeenCalledTimes(1);
  });
});

describe('time and answers', () => {
  it('formats clocks', () => {
    expect(clock(0)).toBe('0:00');
    expect(clock(75)).toBe('1:15');
    expect(clock(3725)).toBe('1:02:05');
    expect(secondsLeft('2026-01-01T00:00:10Z', Date.parse('2026-01-01T00:00:00.500Z'))).toBe(10);
    expect(secondsLeft(null, 0)).toBeNull();
  });

  it('knows what counts as answered', () => {
    expect(isAnswered('MULTIPLE_CHOICE', { choices: [] })).toBe(false);
    expect(isAnswered('MULTIPLE_CHOICE', { choices: [2] })).toBe(true);
    expect(isAnswered('TRUE_FALSE', { boolean: false })).toBe(true);
    expect(isAnswered('SHORT_ANSWER', { text: '  ' })).toBe(false);
    expect(isAnswered('NUMERIC', { number: 0 })).toBe(true);
    expect(isAnswered('NUMERIC', { number: Number.NaN })).toBe(false);
  });

  it('toggles choices and counts attempts left', () => {
    expect(toggleChoice([2], 0)).toEqual([0, 2]);
    expect(toggleChoice([0, 2], 2)).toEqual([0]);
    expect(attemptsLeft(3, 1)).toBe(2);
    expect(attemptsLeft(3, 5)).toBe(0);
    expect(attemptsLeft(null, 9)).toBeNull();
  });
});
