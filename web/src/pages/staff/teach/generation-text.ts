// The text a generation job has written so far, rebuilt from its events: each event's `partial` is the text
// written since the one before, and a new attempt (a re-ask, a dropped connection) starts over.
export interface TextEvent {
  message: string;
  partial: string;
}

/** True when this event's text replaces everything before it (the first event of a new attempt). */
export function startsOver(event: TextEvent, previous: TextEvent | null): boolean {
  if (!previous || event.message === previous.message) return false;
  return event.message.startsWith('Started') || /starting over|re-asked/.test(event.message);
}

export function followText(text: string, event: TextEvent, previous: TextEvent | null): string {
  return startsOver(event, previous) ? event.partial : text + event.partial;
}

/** "1,234" with the reader's separators. */
export const count = (n: number) => n.toLocaleString();

/** "$0.0171": small sums need their digits. */
export const usd = (n: number) => `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}`;
