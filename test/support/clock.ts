// A clock for the sandboxes (their `now` option) that runs with real time and that a test moves on
// at once: a rate-limit window or a search lag passes without sleeping through it.
export interface SteppedClock {
  now(): number;
  /** moves the clock `ms` forward, for good */
  advance(ms: number): void;
}

export function steppedClock(): SteppedClock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance(ms) {
      offset += ms;
    },
  };
}
