// An ordered list people rearrange by drag and drop, or with the keyboard: each row has "Move up" and
// "Move down" buttons, and the outcome is announced to screen readers. The caller saves the new order.
import { useState, type ReactNode } from 'react';

export interface ReorderListProps<T> {
  items: T[];
  /** What the rows are, for labels: "module", "lesson", "course". */
  noun: string;
  keyOf: (item: T) => string;
  labelOf: (item: T) => string;
  /** Called with the items in their new order. */
  onReorder: (items: T[]) => void;
  renderItem: (item: T, index: number) => ReactNode;
  disabled?: boolean;
}

/** The list with the item at `from` moved to `to`. */
export function moved<T>(items: T[], from: number, to: number): T[] {
  if (from === to || to < 0 || to >= items.length) return items;
  const next = items.slice();
  const [item] = next.splice(from, 1);
  next.splice(to, 0, item);
  return next;
}

export function ReorderList<T>({ items, noun, keyOf, labelOf, onReorder, renderItem, disabled }: ReorderListProps<T>) {
  const [dragging, setDragging] = useState<number | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const move = (from: number, to: number) => {
    if (to < 0 || to >= items.length || from === to) return;
    onReorder(moved(items, from, to));
    setAnnouncement(`${labelOf(items[from])} moved to position ${to + 1} of ${items.length}.`);
  };
  return (
    <>
      <ol className="reorder">
        {items.map((item, index) => (
          <li
            key={keyOf(item)}
            className={`reorder__item${dragging === index ? ' reorder__item--dragging' : ''}`}
            draggable={!disabled}
            onDragStart={(event) => {
              setDragging(index);
              // Firefox starts a drag only with some data set.
              event.dataTransfer?.setData('text/plain', keyOf(item));
              if (event.dataTransfer) event.dataTransfer.effectAllowed = 'move';
            }}
            onDragOver={(event) => event.preventDefault()}
            onDrop={(event) => {
              event.preventDefault();
              if (dragging !== null) move(dragging, index);
              setDragging(null);
            }}
            onDragEnd={() => setDragging(null)}
          >
            <span className="reorder__handle" aria-hidden="true">
              ⋮⋮
            </span>
            <div className="reorder__body">{renderItem(item, index)}</div>
            <span className="reorder__moves">
              <button
                type="button"
                className="button button--small button--ghost"
                aria-label={`Move ${noun} “${labelOf(item)}” up`}
                disabled={disabled || index === 0}
                onClick={() => move(index, index - 1)}
              >
                ↑
              </button>
              <button
                type="button"
                className="button button--small button--ghost"
                aria-label={`Move ${noun} “${labelOf(item)}” down`}
                disabled={disabled || index === items.length - 1}
                onClick={() => move(index, index + 1)}
              >
                ↓
              </button>
            </span>
          </li>
        ))}
      </ol>
      <p className="sr-only" aria-live="polite">
        {announcement}
      </p>
    </>
  );
}
