/**
 * A futex-style mutex on one Int32 word of shared memory (Drepper, "Futexes Are Tricky", mutex 2):
 *   0 free, 1 held, 2 held and somebody may be waiting.
 * Acquire spins briefly (critical sections are a few hundred nanoseconds), then parks in
 * Atomics.wait. Release stores 0 and wakes one waiter only when the word said 2.
 *
 * Atomics.compareExchange has acquire semantics and Atomics.exchange/store release semantics, so
 * plain typed-array reads and writes made while the lock is held are ordered with respect to the
 * next holder on any thread.
 *
 * Holder marks: given `ownerAt`, the holder's `owner` number is stored in word[ownerAt] right
 * after the lock is taken and cleared right before it is released, with no function entry or
 * loop edge in between (a return is neither). V8 stops a terminated thread (Worker.terminate, a
 * worker out of memory) only at a function's entry or a loop's back edge, so a thread cannot die
 * holding the lock without its mark, and a supervisor can tell whose lock is orphaned.
 */

import { threadId } from 'node:worker_threads';

/** This thread's holder mark: threadId + 1, so that 0 means free (the main thread's id is 0). */
export const LOCK_OWNER = threadId + 1;

const FREE = 0;
const HELD = 1;
const CONTENDED = 2;
const SPINS = 64;

export function lockWord(word: Int32Array, index: number, ownerAt = -1, owner = 0): void {
  const c = Atomics.compareExchange(word, index, FREE, HELD);
  if (c !== FREE) acquireSlow(word, index, c);
  if (ownerAt >= 0) word[ownerAt] = owner;
}

/** lockWord's wait for a held lock: returns, from inside its loops, once this thread holds it. */
function acquireSlow(word: Int32Array, index: number, c: number): void {
  for (let i = 0; i < SPINS; i++) {
    if (c === HELD || c === FREE) {
      c = Atomics.compareExchange(word, index, FREE, HELD);
      if (c === FREE) return;
    }
  }
  if (c !== CONTENDED && Atomics.exchange(word, index, CONTENDED) === FREE) return;
  for (;;) {
    Atomics.wait(word, index, CONTENDED);
    if (Atomics.exchange(word, index, CONTENDED) === FREE) return;
  }
}

export function unlockWord(word: Int32Array, index: number, ownerAt = -1): void {
  if (ownerAt >= 0) word[ownerAt] = 0;
  if (Atomics.exchange(word, index, FREE) === CONTENDED) Atomics.notify(word, index, 1);
}

/**
 * The lock at word[index], held by the thread whose mark is `dead`, passed to this thread with
 * the lock still held; false (nothing changed) when that thread does not hold it. For a
 * supervisor, once the thread with that mark has stopped: it alone could change the mark.
 */
export function takeOverWord(word: Int32Array, index: number, ownerAt: number, dead: number): boolean {
  if (Atomics.load(word, index) === FREE || Atomics.load(word, ownerAt) !== dead) return false;
  word[ownerAt] = LOCK_OWNER;
  return true;
}
