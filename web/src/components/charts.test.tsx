import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { BarChart, niceMax } from './charts';

afterEach(cleanup);

describe('niceMax', () => {
  it('rounds the top of the scale up to 1, 2 or 5 × 10^n', () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(0.3)).toBe(0.5);
    expect(niceMax(7)).toBe(10);
    expect(niceMax(13)).toBe(20);
    expect(niceMax(200)).toBe(200);
    expect(niceMax(201)).toBe(500);
  });
});

describe('BarChart', () => {
  const points = [
    { label: '2026-12-01', value: 2 },
    { label: '2026-12-02', value: 0 },
    { label: '2026-12-03', value: 5 },
  ];

  it('draws one bar per day, heights in proportion, the tallest reaching the top of the scale', () => {
    const { container } = render(<BarChart title="Active students" points={points} />);
    const bars = [...container.querySelectorAll('rect')];
    expect(bars.map((b) => Number(b.getAttribute('data-value')))).toEqual([2, 0, 5]);
    const heights = bars.map((b) => Number(b.getAttribute('height')));
    expect(heights[1]).toBe(0);
    expect(heights[0] / heights[2]).toBeCloseTo(2 / 5);
  });

  it('says what it shows to screen readers and keeps the numbers in a table', () => {
    render(<BarChart title="Quiz submissions" points={points} />);
    expect(screen.getByRole('img', { name: 'Quiz submissions: 7 over 3 days, highest 5 on 2026-12-03.' })).toBeInTheDocument();
    expect(screen.getByRole('figure', { name: 'Quiz submissions' })).toBeInTheDocument();
    expect(screen.getByRole('cell', { name: '2026-12-03' }).nextElementSibling).toHaveTextContent('5');
  });

  it('says when there is nothing to show', () => {
    render(<BarChart title="Lab hours" unit=" h" points={[]} />);
    expect(screen.getByRole('img', { name: 'Lab hours: no data.' })).toBeInTheDocument();
  });
});
