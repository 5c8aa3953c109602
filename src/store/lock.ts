/**
 * A futex-style mutex on one Int32 word of shared memory (Drepper, "Futexes Are Tricky", mutex 2):
 *   0 free, 1 held, 2 held and somebody may be waiting.
 * Acquire spins briefly (critical sections are a few hundred nanoseconds), then parks in
 * Atomics.wait. Release stores 0 and wakes one waiter only when the word said 2.
 *
 * Atomics.compareExchange has acquire semantics and Atomics.exchange/store release semantics, so
 * plain typed-array reads and writes made while the lock is held are ordered with respect to the
 * next holder on any thread.
 */

const FREE = 0;
const HELD = 1;
const CONTENDED = 2;
const SPINS = 64;

export function lockWord(word: Int32Array, index: number): void {
  let c = Atomics.compareExchange(word, index, FREE, HELD);
  if (c === FREE) return;
  for (let i = 0; i < SPINS; i++) {
    if (c === HELD || c === FREE) {
      c = Atomics.compareExchange(word, index, FREE, HELD);
      if (c === FREE) return;
    }
  }
  if (c !== CONTENDED) c = Atomics.exchange(word, index, CONTENDED);
  while (c !== FREE) {
    Atomics.wait(word, index, CONTENDED);
    c = Atomics.exchange(word, index, CONTENDED);
  }
}

export function unlockWord(word: Int32Array, index: number): void {
  if (Atomics.exchange(word, index, FREE) === CONTENDED) Atomics.notify(word, index, 1);
}
