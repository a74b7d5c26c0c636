// Daily series as plain SVG bar charts: a few dozen bars need no chart library. Each chart is an image with
// a text summary for screen readers, and its numbers are in a table under "Show the numbers".
import { useId } from 'react';

export interface Point {
  label: string;
  value: number;
}

const WIDTH = 600;
const HEIGHT = 160;
const TOP = 12;
const BOTTOM = 20;

/** A scale with a round top: 0..max rounded up to 1, 2 or 5 × 10^n (never 0). */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (max <= step * power) return step * power;
  return 10 * power;
}

export function BarChart({ title, points, unit = '' }: { title: string; points: Point[]; unit?: string }) {
  const id = useId();
  const top = niceMax(Math.max(0, ...points.map((p) => p.value)));
  const slot = points.length ? WIDTH / points.length : WIDTH;
  const barWidth = Math.max(1, slot * 0.7);
  const total = points.reduce((sum, p) => sum + p.value, 0);
  const peak = points.reduce<Point | null>((best, p) => (!best || p.value > best.value ? p : best), null);
  const summary = points.length
    ? `${title}: ${round(total)}${unit} over ${points.length} days${peak && peak.value > 0 ? `, highest ${round(peak.value)}${unit} on ${peak.label}` : ''}.`
    : `${title}: no data.`;
  const y = (v: number) => TOP + (HEIGHT - TOP - BOTTOM) * (1 - v / top);
  return (
    <figure className="chart" aria-labelledby={`${id}-title`}>
      <figcaption id={`${id}-title`} className="chart__title">
        {title}
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={summary} preserveAspectRatio="none" className="chart__svg">
        <line x1={0} x2={WIDTH} y1={y(0)} y2={y(0)} className="chart__axis" />
        <line x1={0} x2={WIDTH} y1={y(top)} y2={y(top)} className="chart__grid" />
        <text x={4} y={y(top) + 10} className="chart__label">
          {round(top)}
          {unit}
        </text>
        {points.map((p, i) => (
          <rect key={p.label} data-value={p.value} x={i * slot + (slot - barWidth) / 2} y={y(p.value)} width={barWidth} height={y(0) - y(p.value)} className="chart__bar">
            <title>{`${p.label}: ${round(p.value)}${unit}`}</title>
          </rect>
        ))}
        {points.length > 0 && (
          <>
            <text x={2} y={HEIGHT - 4} className="chart__label">
              {points[0].label}
            </text>
            <text x={WIDTH - 2} y={HEIGHT - 4} textAnchor="end" className="chart__label">
              {points[points.length - 1].label}
            </text>
          </>
        )}
      </svg>
      <details>
        <summary>Show the numbers</summary>
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">{title}</th>
            </tr>
          </thead>
          <tbody>
            {points.map((p) => (
              <tr key={p.label}>
                <td>{p.label}</td>
                <td>{round(p.value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

const round = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
