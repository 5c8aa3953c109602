/**
 * globMatch (src/protocol/glob.ts): Redis's stringmatchlen cases, hostile patterns that take
 * exponential time without the suffix rule, and random patterns against a matcher built another
 * way (dynamic programming over pattern elements).
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { globMatch } from '../../src/protocol/glob.ts';
import { seeded } from '../seeded.ts';

describe('globMatch', () => {
  it.each([
    ['*', '', true],
    ['*', 'anything', true],
    ['h?llo', 'hello', true],
    ['h?llo', 'hllo', false],
    ['h*llo', 'hllo', true],
    ['h*llo', 'heeeello', true],
    ['h[ae]llo', 'hallo', true],
    ['h[ae]llo', 'hillo', false],
    ['h[^e]llo', 'hallo', true],
    ['h[^e]llo', 'hello', false],
    ['h[a-b]llo', 'hbllo', true],
    ['h[b-a]llo', 'hallo', true],
    ['h[a-b]llo', 'hcllo', false],
    ['h\\*llo', 'h*llo', true],
    ['h\\*llo', 'hello', false],
    ['[\\]]', ']', true],
    ['*[', 'x', false],
    ['a[', 'ab', false],
    ['a[b', 'ab', true],
    ['a\\', 'a\\', true],
    ['*.txt', 'notes.txt', true],
    ['*.txt', 'notes.txt.bak', false],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'acb', false],
    ['**a', 'a', true],
  ])('%j against %j is %s', (p, s, want) => {
    expect(globMatch(p, s)).toBe(want);
  });

  it('folds ASCII case only when asked (CONFIG GET, COMMAND LIST FILTERBY PATTERN)', () => {
    expect(globMatch('MAX*', 'maxmemory')).toBe(false);
    expect(globMatch('MAX*', 'maxmemory', true)).toBe(true);
    expect(globMatch('[A-C]x', 'bx', true)).toBe(true);
  });

  it('answers hostile patterns (many stars, no match) without trying every split', async () => {
    // Tried split by split, these take longer than the universe has existed: they run in a
    // worker that is stopped after 20 s, so a regression fails the test rather than hanging it.
    const cases: [string, boolean][] = [
      ['*a'.repeat(40) + 'b', false],
      ['*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*?b', false],
      ['*a'.repeat(40), true],
      ['*a'.repeat(40) + '*', true],
    ];
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.module).then(({ globMatch }) => {
        const long = Buffer.from('a'.repeat(5000));
        parentPort.postMessage(workerData.cases.map(([p]) => globMatch(p, long)));
      });`;
    const w = new Worker(code, { eval: true, workerData: { module: new URL('../../src/protocol/glob.ts', import.meta.url).href, cases } });
    try {
      const got = await new Promise<boolean[] | 'stopped'>((resolve, reject) => {
        const t = setTimeout(() => resolve('stopped'), 20_000);
        w.once('message', (m: boolean[]) => {
          clearTimeout(t);
          resolve(m);
        });
        w.once('error', reject);
      });
      expect(got).toEqual(cases.map(([, want]) => want));
    } finally {
      await w.terminate();
    }
  }, 30_000);

  it('agrees with a dynamic-programming matcher on 20,000 random patterns and subjects', () => {
    const r = seeded(0x61ab);
    const patChars = ['a', 'b', '*', '*', '?', '[ab]', '[^a]', '[a-b]', '\\*', '\\a', '['];
    for (let i = 0; i < 20_000; i++) {
      const p = Array.from({ length: r(8) }, () => patChars[r(patChars.length)]!).join('');
      const s = Array.from({ length: r(10) }, () => 'ab*['[r(4)]!).join('');
      expect(globMatch(p, s), `${JSON.stringify(p)} ~ ${JSON.stringify(s)}`).toBe(dpMatch(p, s));
    }
  });
});

type Elem = { kind: 'star' } | { kind: 'one'; test: (c: number) => boolean };

/** The pattern as elements, read with stringmatchlen's rules for classes and escapes. */
function elements(pattern: string): Elem[] {
  const p = Buffer.from(pattern, 'latin1');
  const out: Elem[] = [];
  let i = 0;
  while (i < p.length) {
    const c = p[i]!;
    if (c === 0x2a) {
      out.push({ kind: 'star' });
      i++;
    } else if (c === 0x3f) {
      out.push({ kind: 'one', test: () => true });
      i++;
    } else if (c === 0x5b) {
      i++;
      const not = p[i] === 0x5e;
      if (not) i++;
      const ranges: [number, number][] = [];
      while (i < p.length && p[i] !== 0x5d) {
        if (p[i] === 0x5c && i + 1 < p.length) {
          ranges.push([p[i + 1]!, p[i + 1]!]);
          i += 2;
        } else if (i + 2 < p.length && p[i + 1] === 0x2d) {
          const a = Math.min(p[i]!, p[i + 2]!);
          const b = Math.max(p[i]!, p[i + 2]!);
          ranges.push([a, b]);
          i += 3;
        } else {
          ranges.push([p[i]!, p[i]!]);
          i++;
        }
      }
      if (i < p.length) i++;
      out.push({ kind: 'one', test: (x) => ranges.some(([a, b]) => x >= a && x <= b) !== not });
    } else {
      const lit = c === 0x5c && i + 1 < p.length ? p[++i]! : c;
      out.push({ kind: 'one', test: (x) => x === lit });
      i++;
    }
  }
  return out;
}

/** ok[j] after reading k bytes: whether the first j elements can match those k bytes. */
function dpMatch(pattern: string, subject: string): boolean {
  const els = elements(pattern);
  const s = Buffer.from(subject, 'latin1');
  let ok = new Array<boolean>(els.length + 1).fill(false);
  ok[0] = true;
  for (let j = 0; j < els.length; j++) if (els[j]!.kind === 'star' && ok[j]) ok[j + 1] = true;
  for (let k = 0; k < s.length; k++) {
    const next = new Array<boolean>(els.length + 1).fill(false);
    for (let j = 0; j < els.length; j++) {
      const e = els[j]!;
      if (e.kind === 'star') {
        if (ok[j + 1]) next[j + 1] = true;
      } else if (ok[j] && e.test(s[k]!)) next[j + 1] = true;
    }
    for (let j = 0; j < els.length; j++) if (els[j]!.kind === 'star' && next[j]) next[j + 1] = true;
    ok = next;
  }
  return ok[els.length]!;
}
