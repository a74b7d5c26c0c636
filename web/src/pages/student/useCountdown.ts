import { useEffect, useRef } from 'react';
import { secondsLeft } from '../../lib/time';
import { useNow } from '../../lib/useNow';

/** Seconds left until the deadline (ticking), calling `onExpire` once when it reaches zero. */
export function useCountdown(deadline: string | null | undefined, onExpire: () => void): number | null {
  const now = useNow(1000, !!deadline);
  const left = secondsLeft(deadline, now);
  const fired = useRef<string | null>(null);
  const expire = useRef(onExpire);
  expire.current = onExpire;
  useEffect(() => {
    if (deadline && left === 0 && fired.current !== deadline) {
      fired.current = deadline;
      expire.current();
    }
  }, [deadline, left]);
  return left;
}
