import { Buffer } from 'node:buffer';

/**
 * Redis's glob matching (util.c stringmatchlen) for KEYS, SCAN MATCH, PSUBSCRIBE and CONFIG GET:
 * * ? [abc] [^a] [a-z] and \ escapes, over bytes.
 */
export function globMatch(pattern: Uint8Array | string, subject: Uint8Array | string, nocase = false): boolean {
  const p = typeof pattern === 'string' ? Buffer.from(pattern) : pattern;
  const s = typeof subject === 'string' ? Buffer.from(subject) : subject;
  return globMatchAt(p, s, 0, s.length, nocase);
}

/** globMatch against subject[off, off + len), without a view of it (KEYS over the store's arena). */
export function globMatchAt(pattern: Uint8Array, subject: Uint8Array, off: number, len: number, nocase = false): boolean {
  noSuffixMatches = false;
  return matchAt(pattern, 0, subject, off, off + len, nocase, 0);
}

/**
 * Set when the pattern after some `*` matched no suffix of the subject from where that `*` began.
 * Every element between two stars consumes exactly one byte, so an enclosing `*` that tries a
 * later start reaches the inner one later too, and can only retry suffixes that already failed:
 * it gives up at once. Without this, `*a*a*a…b` against a long run of `a` takes exponential time
 * (Redis 7.0.9, CVE-2022-36021, the same rule as stringmatchlen's skipLongerMatches).
 */
let noSuffixMatches = false;

const lower = (c: number, nocase: boolean) => (nocase && c >= 65 && c <= 90 ? c + 32 : c);

/** Whether p[pi..] matches s[si, end). */
function matchAt(p: Uint8Array, pi: number, s: Uint8Array, si: number, end: number, nocase: boolean, depth: number): boolean {
  // Redis caps recursion so a hostile pattern cannot blow the stack.
  if (depth > 1000) return false;
  while (pi < p.length) {
    const c = p[pi]!;
    if (c === 42) {
      while (pi + 1 < p.length && p[pi + 1] === 42) pi++;
      if (pi + 1 === p.length) return true;
      for (let k = si; k <= end; k++) {
        if (matchAt(p, pi + 1, s, k, end, nocase, depth + 1)) return true;
        if (noSuffixMatches) return false;
      }
      noSuffixMatches = true;
      return false;
    }
    if (si >= end) return false;
    if (c === 63) {
      pi++;
      si++;
      continue;
    }
    if (c === 91) {
      pi++;
      const not = p[pi] === 94;
      if (not) pi++;
      let matched = false;
      const sc = lower(s[si]!, nocase);
      while (pi < p.length && p[pi] !== 93) {
        if (p[pi] === 92 && pi + 1 < p.length) {
          pi++;
          if (lower(p[pi]!, nocase) === sc) matched = true;
        } else if (pi + 2 < p.length && p[pi + 1] === 45) {
          let a = lower(p[pi]!, nocase);
          let b = lower(p[pi + 2]!, nocase);
          if (a > b) [a, b] = [b, a];
          if (sc >= a && sc <= b) matched = true;
          pi += 2;
        } else if (lower(p[pi]!, nocase) === sc) matched = true;
        pi++;
      }
      if (pi < p.length) pi++;
      if (not) matched = !matched;
      if (!matched) return false;
      si++;
      continue;
    }
    if (c === 92 && pi + 1 < p.length) pi++;
    if (lower(p[pi]!, nocase) !== lower(s[si]!, nocase)) return false;
    pi++;
    si++;
  }
  return si === end;
}
