/**
 * Incremental RESP request parser (RESP2/RESP3 requests are the same: arrays of bulk strings,
 * or inline commands). A byte state machine over Buffers: no request is ever turned into a
 * string, and a request split anywhere (even inside "\r\n") parses the same.
 *
 * `next()` returns an argv (Buffer views, valid until the next `push`), NEED_MORE when the
 * buffered bytes end inside a request, or a ProtocolError with Redis's exact text, after which
 * the connection must reply and close (networking.c processMultibulkBuffer / processInlineBuffer).
 *
 * Grammar (https://redis.io/docs/reference/protocol-spec/):
 *   request   = multibulk | inline
 *   multibulk = "*" count CRLF *( "$" len CRLF bytes CRLF )
 *   inline    = words separated by spaces, ending in LF (a CR before it is dropped), with
 *               "double" and 'single' quoted words (sdssplitargs)
 */
import { Buffer } from 'node:buffer';
import { copyInto } from '../bytes.ts';
import { PROTO_INLINE_MAX_SIZE, PROTO_MAX_BULK_LEN, PROTO_MAX_MULTIBULK_LEN } from './limits.ts';

export const NEED_MORE = 0;
export type NeedMore = typeof NEED_MORE;

/** nextFast() results. */
export const FAST_NONE = 0;
export const FAST_GET = 1;
export const FAST_SET = 2;
export const FAST_INCR = 3;
export const FAST_DECR = 4;
export const FAST_INCRBY = 5;
export const FAST_DECRBY = 6;
/**
 * SET key value EX seconds / PX milliseconds (the option in either letter case). With SETEX and
 * PSETEX below, the SETs with a relative expiry: fast-path.ts takes them as `kind >= FAST_SET_EX`
 * once the kinds after them are ruled out.
 */
export const FAST_SET_EX = 7;
export const FAST_SET_PX = 8;
/** SETEX key seconds value, PSETEX key milliseconds value. */
export const FAST_SETEX = 9;
export const FAST_PSETEX = 10;
/** TTL key, PTTL key, EXISTS key (one key): reads of the item's header alone. */
export const FAST_TTL = 11;
export const FAST_PTTL = 12;
export const FAST_EXISTS = 13;
/**
 * Kinds from here on run their command's own handler (fast-path.ts), on views of their arguments:
 * single-key commands with a fixed argument count, which need only what the fast path skips
 * (the table lookup, the central checks, the per-command bookkeeping) to be skipped too.
 */
export const FAST_FIRST_HANDLER = 14;
/** The kinds nextFast finds by name in a table (after the letter-by-letter ones): name and argument count (the name included). */
const NAMED_KINDS: readonly (readonly [number, string, number])[] = [
  [FAST_TTL, 'ttl', 2],
  [FAST_PTTL, 'pttl', 2],
  [FAST_EXISTS, 'exists', 2],
  ...[
    ['del', 2],
    ['unlink', 2],
    ['expire', 3],
    ['pexpire', 3],
    ['persist', 2],
    ['strlen', 2],
    ['getdel', 2],
    ['append', 3],
    ['getset', 3],
    ['setnx', 3],
    ['publish', 3],
  ].map(([name, argc], i) => [FAST_FIRST_HANDLER + i, name as string, argc as number] as const),
];
/** PUBLISH channel message: a handler kind with no key, which the fast path runs without a shard lock. */
export const FAST_PUBLISH = FAST_FIRST_HANDLER + 10;
/** Each FAST_* kind's command name, as the command table spells it. */
export const FAST_NAMES: readonly string[] = ['', 'get', 'set', 'incr', 'decr', 'incrby', 'decrby', 'set', 'set', 'setex', 'psetex', ...NAMED_KINDS.map(([, name]) => name)];
/** One past the largest FAST_* kind. */
export const FAST_KINDS = FAST_NAMES.length;
/** Each named kind's argument count, the name included (0 for the others, which need none here). */
export const FAST_ARGC: readonly number[] = FAST_NAMES.map((_, kind) => NAMED_KINDS.find(([k]) => k === kind)?.[2] ?? 0);
/** Whether a kind reads its key's value (the prefetch then brings the value's lines in too). */
export const FAST_READS_VALUE: readonly boolean[] = FAST_NAMES.map((name) => ['get', 'incr', 'decr', 'incrby', 'decrby', 'getdel', 'append', 'getset'].includes(name));

/**
 * A lower-case name of up to 7 letters and an argument count as one number (5 bits a letter);
 * -1 for a name with any other byte.
 */
function packName(b: Uint8Array, at: number, len: number, argc: number): number {
  if (len > 7) return -1;
  let code = 0;
  let mul = 1;
  for (let i = 0; i < len; i++) {
    const x = b[at + i]! | 0x20;
    if (x < 0x61 || x > 0x7a) return -1;
    code += (x - 0x60) * mul;
    mul *= 32;
  }
  return code + argc * 2 ** 35;
}
const NAMED_CODES = new Map<number, number>(NAMED_KINDS.map(([kind, name, argc]) => [packName(Buffer.from(name, 'latin1'), 0, name.length, argc), kind]));
/**
 * Bit (first letter - 'a') of NAMED_FIRST[len] is set when a named kind of that length starts
 * with that letter: most other commands are ruled out by it before a name is packed and looked up.
 */
const NAMED_FIRST = new Int32Array(8);
for (const [, name] of NAMED_KINDS) NAMED_FIRST[name.length]! |= 1 << (name.charCodeAt(0) - 0x61);

/** ASCII letters of a name, lower-cased by OR-ing 0x20 (no other byte becomes one of them). */
const lc = (b: Uint8Array, i: number) => b[i]! | 0x20;

/**
 * The FAST_* kind of command name b[at, at + len) with `argc` arguments, or FAST_NONE. SET with
 * five arguments is FAST_SET_EX here; nextFast tells EX from PX (or neither) by the fourth.
 */
function fastKind(b: Uint8Array, at: number, len: number, argc: number): number {
  const kind = ownPathKind(b, at, len, argc);
  if (kind !== FAST_NONE || argc > 3 || len > 7 || (NAMED_FIRST[len]! & (1 << ((lc(b, at) - 0x61) & 31))) === 0) return kind;
  return NAMED_CODES.get(packName(b, at, len, argc)) ?? FAST_NONE;
}

/** The kinds with a path of their own (GET … PSETEX), checked letter by letter: the hottest. */
function ownPathKind(b: Uint8Array, at: number, len: number, argc: number): number {
  const c0 = lc(b, at);
  if (len === 3) {
    if (lc(b, at + 1) !== 0x65 || lc(b, at + 2) !== 0x74) return FAST_NONE; // "?et"
    if (c0 === 0x67 && argc === 2) return FAST_GET;
    if (c0 === 0x73 && argc === 3) return FAST_SET;
    if (c0 === 0x73 && argc === 5) return FAST_SET_EX;
    return FAST_NONE;
  }
  if (len === 5 || (len === 6 && c0 === 0x70)) {
    // "setex", "psetex"
    const s = len === 6 ? at + 1 : at;
    if (argc !== 4 || lc(b, s) !== 0x73 || lc(b, s + 1) !== 0x65 || lc(b, s + 2) !== 0x74 || lc(b, s + 3) !== 0x65 || lc(b, s + 4) !== 0x78) return FAST_NONE;
    return len === 6 ? FAST_PSETEX : FAST_SETEX;
  }
  if (len !== 4 && len !== 6) return FAST_NONE;
  // "incr" / "decr", then "by" for the six-letter forms.
  if ((c0 !== 0x69 && c0 !== 0x64) || lc(b, at + 1) !== (c0 === 0x69 ? 0x6e : 0x65) || lc(b, at + 2) !== 0x63 || lc(b, at + 3) !== 0x72) return FAST_NONE;
  if (len === 4) return argc === 2 ? (c0 === 0x69 ? FAST_INCR : FAST_DECR) : FAST_NONE;
  if (lc(b, at + 4) !== 0x62 || lc(b, at + 5) !== 0x79 || argc !== 3) return FAST_NONE;
  return c0 === 0x69 ? FAST_INCRBY : FAST_DECRBY;
}

export class ProtocolError {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

const S = {
  START: 0,
  MB_COUNT: 1,
  BULK_HEADER: 2,
  BULK_DATA: 3,
} as const;
type State = (typeof S)[keyof typeof S];

const CR = 13;
const LF = 10;
const STAR = 42;
const DOLLAR = 36;
const MINUS = 45;

/** What an unauthenticated connection may send in one request (see RespParser.unauthenticated). */
const UNAUTH_MAX_ARGS = 10;
const UNAUTH_MAX_BULK = 16384;

export interface ParserLimits {
  maxBulkLen: number;
  maxMultibulkLen: number;
  maxInline: number;
}

/** A query buffer's first size, and the size shrink() gives one back. */
const QUERY_BUFFER_INITIAL = 16 * 1024;

export class RespParser {
  /** Unconsumed bytes are buf[pos, end); the request being parsed starts at reqStart. */
  private buf: Buffer = Buffer.allocUnsafe(QUERY_BUFFER_INITIAL);
  private pos = 0;
  private end = 0;
  private reqStart = 0;
  private state: State = S.START;
  private argc = 0;
  private bulkLen = 0;
  /**
   * Start and length of each argument of the request in progress, as offsets (views are made at
   * completion): the first nOffs entries. A count rather than truncation, since setting an
   * array's length is a call into V8's runtime; a request of many arguments leaves a new array.
   */
  private offs: number[] = [];
  private nOffs = 0;
  /** Where the CRLF search resumes, so a long line arriving in pieces is scanned once. */
  private scanFrom = 0;
  private readonly limits: ParserLimits;
  /**
   * The connection has yet to authenticate (requirepass is set): requests are held to 10
   * arguments of 16 KiB at most, as Redis holds them (networking.c processMultibulkBuffer), so a
   * peer without the password cannot make the server buffer large requests.
   */
  unauthenticated = false;

  constructor(limits: Partial<ParserLimits> = {}) {
    this.limits = {
      maxBulkLen: limits.maxBulkLen ?? PROTO_MAX_BULK_LEN,
      maxMultibulkLen: limits.maxMultibulkLen ?? PROTO_MAX_MULTIBULK_LEN,
      maxInline: limits.maxInline ?? PROTO_INLINE_MAX_SIZE,
    };
  }

  /** proto-max-bulk-len changed at run time: it applies from the next bulk header on. */
  setMaxBulkLen(n: number): void {
    this.limits.maxBulkLen = n;
  }

  /** Bytes held for requests not yet complete (the query buffer). */
  get pending(): number {
    return this.end - (this.state === S.START ? this.pos : this.reqStart);
  }

  /** Room left in the query buffer after what it holds (CLIENT LIST qbuf-free). */
  get free(): number {
    return this.buf.length - this.end;
  }

  /** The query buffer's size (part of CLIENT LIST tot-mem). */
  get capacity(): number {
    return this.buf.length;
  }

  /** The most bytes the query buffer held since the last shrink() (Redis's querybuf_peak). */
  peak = 0;

  /**
   * Gives a query buffer grown for large requests back for one of the first size, when it holds
   * nothing and `always` or it held under half its size since the last call (as Redis's
   * clientsCronResizeQueryBuffer); returns whether it did. The peak starts again either way.
   * Argument views from next() must be out of use, as for push().
   */
  shrink(always: boolean): boolean {
    const peak = this.peak;
    this.peak = 0;
    if (this.buf.length <= QUERY_BUFFER_INITIAL || this.pending !== 0 || this.state !== S.START) return false;
    if (!always && peak >= this.buf.length / 2) return false;
    this.buf = Buffer.allocUnsafe(QUERY_BUFFER_INITIAL);
    this.pos = this.end = this.reqStart = this.scanFrom = 0;
    return true;
  }

  /**
   * Appends received bytes. Argument views returned by next() stay valid until push is called
   * again: only here are bytes moved.
   */
  push(chunk: Uint8Array, off = 0, len = chunk.length - off): void {
    const base = this.state === S.START ? this.pos : this.reqStart;
    if (this.end + len > this.buf.length) this.rebase(base, this.end - base + len);
    else if (base === this.end) this.rebase(base, len);
    copyInto(this.buf, this.end, chunk, off, len);
    this.end += len;
    if (this.end > this.peak) this.peak = this.end;
  }

  /** Moves buf[base, end) to the front of a buffer that can hold `need` bytes. */
  private rebase(base: number, need: number): void {
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const nb = Buffer.allocUnsafe(size);
      this.buf.copy(nb, 0, base, this.end);
      this.buf = nb;
    } else if (base > 0) {
      this.buf.copy(this.buf, 0, base, this.end);
    }
    this.end -= base;
    this.pos -= base;
    this.reqStart -= base;
    this.scanFrom = Math.max(0, this.scanFrom - base);
    for (let i = 0; i < this.nOffs; i += 2) this.offs[i]! -= base;
  }

  /**
   * Set by nextFast(): where the request's arguments after the command name lie in `input`
   * (offsets and lengths, so recognising a request allocates nothing): its key, its value (SET,
   * SETEX) and its number (INCRBY's increment, the expiry of SET … EX and SETEX).
   */
  fastKeyAt = 0;
  fastKeyLen = 0;
  fastValueAt = 0;
  fastValueLen = 0;
  fastNumberAt = 0;
  fastNumberLen = 0;

  /** The buffer nextFast's offsets point into; valid until push() is called again. */
  get input(): Buffer {
    return this.buf;
  }

  /**
   * The fast path for the commands pipelines are mostly made of: when the next request is
   * complete and is exactly one of `GET key`, `SET key value`, `SET key value EX|PX n`,
   * `SETEX|PSETEX key n value`, `INCR|DECR key`, `INCRBY|DECRBY key n`, or a command of
   * NAMED_KINDS with its argument count (names and the option in either letter case), consumes
   * it and returns its FAST_* kind with the fast* offsets set (a PUBLISH's channel as its key);
   * otherwise returns FAST_NONE and leaves the input to next(), which handles everything else
   * (errors included).
   */
  nextFast(): number {
    if (this.state !== S.START) return FAST_NONE;
    const b = this.buf;
    const p = this.pos;
    const end = this.end;
    // "*<argc>\r\n$<n>\r\n<name>\r\n": 13 bytes at least.
    if (end - p < 13 || b[p] !== STAR || b[p + 2] !== CR || b[p + 3] !== LF || b[p + 4] !== DOLLAR || b[p + 6] !== CR || b[p + 7] !== LF) return FAST_NONE;
    const argc = b[p + 1]! - 48;
    const nameLen = b[p + 5]! - 48;
    const afterName = p + 8 + nameLen;
    if (afterName + 2 > end || b[afterName] !== CR || b[afterName + 1] !== LF) return FAST_NONE;
    let kind = fastKind(b, p + 8, nameLen, argc);
    if (kind === FAST_NONE) return FAST_NONE;
    // The key, then arguments 2 .. argc - 1 in turn (start and length of each into fastArgs).
    let q = this.fastBulk(afterName + 2);
    if (q < 0) return FAST_NONE;
    this.fastKeyAt = this.fastStart;
    this.fastKeyLen = q - 2 - this.fastStart;
    if (argc > 2) {
      const a = this.fastArgs;
      for (let i = 0; i < argc - 2; i++) {
        q = this.fastBulk(q);
        if (q < 0) return FAST_NONE;
        a[2 * i] = this.fastStart;
        a[2 * i + 1] = q - 2 - this.fastStart;
      }
      if (kind === FAST_SET_EX) {
        // SET key value <option> n: the option must be EX or PX alone.
        const o = a[2]!;
        if (a[3] !== 2 || lc(b, o + 1) !== 0x78) return FAST_NONE;
        const c = lc(b, o);
        if (c === 0x70) kind = FAST_SET_PX;
        else if (c !== 0x65) return FAST_NONE;
        this.fastValueAt = a[0]!;
        this.fastValueLen = a[1]!;
        this.fastNumberAt = a[4]!;
        this.fastNumberLen = a[5]!;
      } else if (kind === FAST_SETEX || kind === FAST_PSETEX) {
        this.fastNumberAt = a[0]!;
        this.fastNumberLen = a[1]!;
        this.fastValueAt = a[2]!;
        this.fastValueLen = a[3]!;
      } else {
        // SET key value; INCRBY/DECRBY key n; a handler kind's third argument.
        this.fastValueAt = this.fastNumberAt = a[0]!;
        this.fastValueLen = this.fastNumberLen = a[1]!;
      }
    }
    this.pos = q;
    this.scanFrom = q;
    return kind;
  }
  /** nextFast's scratch: start and length of each argument after the key. */
  private readonly fastArgs = new Int32Array(6);
  private fastStart = 0;

  /** A complete "$<len>\r\n<bytes>\r\n" at q: returns the offset after it (start in fastStart), or -1. */
  private fastBulk(q: number): number {
    const b = this.buf;
    const end = this.end;
    if (q >= end || b[q] !== DOLLAR) return -1;
    let n = 0;
    let i = q + 1;
    const limit = Math.min(end, i + 10);
    for (; i < limit; i++) {
      const d = b[i]! - 48;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
    }
    if (i === q + 1 || i + 1 >= end || b[i] !== CR || b[i + 1] !== LF || (b[q + 1] === 48 && i > q + 2)) return -1;
    if (n > this.limits.maxBulkLen) return -1;
    const start = i + 2;
    if (start + n + 2 > end) return -1;
    this.fastStart = start;
    return start + n + 2;
  }

  next(): Buffer[] | NeedMore | ProtocolError {
    for (;;) {
      switch (this.state) {
        case S.START: {
          if (this.pos >= this.end) return NEED_MORE;
          this.reqStart = this.pos;
          this.scanFrom = this.pos;
          if (this.buf[this.pos] === STAR) {
            this.state = S.MB_COUNT;
            continue;
          }
          const r = this.inline();
          if (r === SKIP) continue;
          return r;
        }
        case S.MB_COUNT: {
          const cr = this.lineEnd(CR, 'Protocol error: too big mbulk count string');
          if (typeof cr !== 'number') return cr;
          if (cr < 0) return NEED_MORE;
          const n = this.parseNumber(this.pos + 1, cr);
          if (n === null || n > this.limits.maxMultibulkLen) return new ProtocolError('Protocol error: invalid multibulk length');
          if (n > UNAUTH_MAX_ARGS && this.unauthenticated) return new ProtocolError('Protocol error: unauthenticated multibulk length');
          this.pos = cr + 2;
          if (n <= 0) {
            // "*0" and "*-1" are empty requests, skipped as Redis does.
            this.state = S.START;
            continue;
          }
          this.argc = n;
          this.nOffs = 0;
          this.state = S.BULK_HEADER;
          this.scanFrom = this.pos;
          continue;
        }
        case S.BULK_HEADER: {
          if (this.pos >= this.end) return NEED_MORE;
          if (this.buf[this.pos] !== DOLLAR) {
            // Redis formats the byte with %c, so it goes out as itself (the reply writer turns CR
            // and LF into spaces, as Redis's addReplyErrorFormat does).
            return new ProtocolError(`Protocol error: expected '$', got '${String.fromCharCode(this.buf[this.pos]!)}'`);
          }
          const cr = this.lineEnd(CR, 'Protocol error: too big bulk count string');
          if (typeof cr !== 'number') return cr;
          if (cr < 0) return NEED_MORE;
          const n = this.parseNumber(this.pos + 1, cr);
          if (n === null || n < 0 || n > this.limits.maxBulkLen) return new ProtocolError('Protocol error: invalid bulk length');
          if (n > UNAUTH_MAX_BULK && this.unauthenticated) return new ProtocolError('Protocol error: unauthenticated bulk length');
          this.bulkLen = n;
          this.pos = cr + 2;
          this.state = S.BULK_DATA;
          continue;
        }
        case S.BULK_DATA: {
          const n = this.bulkLen;
          if (this.end - this.pos < n + 2) return NEED_MORE;
          const o = this.offs;
          o[this.nOffs++] = this.pos;
          o[this.nOffs++] = n;
          // Redis skips the two bytes after the payload without checking them.
          this.pos += n + 2;
          this.scanFrom = this.pos;
          if (this.nOffs === this.argc * 2) {
            this.state = S.START;
            const argv: Buffer[] = new Array(this.argc);
            for (let i = 0; i < this.argc; i++) argv[i] = this.buf.subarray(o[2 * i]!, o[2 * i]! + o[2 * i + 1]!);
            if (this.nOffs > OFFS_KEPT) this.offs = [];
            this.nOffs = 0;
            return argv;
          }
          this.state = S.BULK_HEADER;
          continue;
        }
      }
    }
  }

  /**
   * The terminator ending the line at pos: CR for multibulk lines, which Redis takes as CRLF and
   * steps over two bytes without looking at the second; LF for inline requests. -1 when it has
   * not arrived (for CR, also when the byte after it has not); the error when more than the
   * inline limit is buffered without it. As in Redis (networking.c), a longer line whose
   * terminator is already buffered is not an error: the limit bounds what waits for one.
   */
  private lineEnd(term: number, tooBig: string): number | ProtocolError {
    // Header lines are a few bytes: a JS scan is cheaper than a call into Buffer#indexOf.
    const b = this.buf;
    const end = this.end;
    let t = this.scanFrom;
    while (t < end && b[t] !== term) t++;
    if (t >= end) {
      if (this.end - this.pos > this.limits.maxInline) return new ProtocolError(tooBig);
      this.scanFrom = this.end;
      return -1;
    }
    if (term === CR && t + 2 > this.end) {
      this.scanFrom = t;
      return -1;
    }
    return t;
  }

  /** string2ll over [from, to): optional '-', no '+', no leading zeros; null if not an integer. */
  private parseNumber(from: number, to: number): number | null {
    const b = this.buf;
    let i = from;
    let neg = false;
    if (i < to && b[i] === MINUS) {
      neg = true;
      i++;
    }
    if (i >= to || to - i > 18) return null;
    if (b[i] === 48) return to - i === 1 && !neg ? 0 : null;
    let v = 0;
    for (; i < to; i++) {
      const c = b[i]! - 48;
      if (c < 0 || c > 9) return null;
      v = v * 10 + c;
    }
    return neg ? -v : v;
  }

  private inline(): Buffer[] | NeedMore | ProtocolError | typeof SKIP {
    const lf = this.lineEnd(LF, 'Protocol error: too big inline request');
    if (typeof lf !== 'number') return lf;
    if (lf < 0) return NEED_MORE;
    let to = lf;
    if (to > this.pos && this.buf[to - 1] === CR) to--;
    const args = splitInline(this.buf, this.pos, to);
    this.pos = lf + 1;
    if (args === null) return new ProtocolError('Protocol error: unbalanced quotes in request');
    return args.length === 0 ? SKIP : args;
  }
}

const SKIP = 1;
/** Offsets the parser keeps room for after a request: 512 arguments. */
const OFFS_KEPT = 1024;

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 11 || c === 12 || c === 13;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** sdssplitargs: words, "double quotes" with \n \r \t \b \a \\ \" \xHH escapes, 'single quotes'. */
export function splitInline(b: Buffer, from: number, to: number): Buffer[] | null {
  const out: Buffer[] = [];
  let i = from;
  for (;;) {
    while (i < to && isSpace(b[i]!)) i++;
    if (i >= to) return out;
    const bytes: number[] = [];
    const start = i;
    let quoted = 0;
    let plain = true;
    for (;;) {
      if (quoted === 2) {
        if (i >= to) return null;
        const c = b[i]!;
        if (c === 92 && i + 3 < to && b[i + 1] === 120 && hexVal(b[i + 2]!) >= 0 && hexVal(b[i + 3]!) >= 0) {
          bytes.push(hexVal(b[i + 2]!) * 16 + hexVal(b[i + 3]!));
          i += 4;
        } else if (c === 92 && i + 1 < to) {
          const e = b[i + 1]!;
          bytes.push(e === 110 ? 10 : e === 114 ? 13 : e === 116 ? 9 : e === 98 ? 8 : e === 97 ? 7 : e);
          i += 2;
        } else if (c === 34) {
          i++;
          // A closing quote must be followed by a space or the end.
          if (i < to && !isSpace(b[i]!)) return null;
          break;
        } else {
          bytes.push(c);
          i++;
        }
      } else if (quoted === 1) {
        if (i >= to) return null;
        const c = b[i]!;
        if (c === 92 && i + 1 < to && b[i + 1] === 39) {
          bytes.push(39);
          i += 2;
        } else if (c === 39) {
          i++;
          if (i < to && !isSpace(b[i]!)) return null;
          break;
        } else {
          bytes.push(c);
          i++;
        }
      } else {
        if (i >= to || isSpace(b[i]!)) break;
        const c = b[i]!;
        if (c === 34 || c === 39) {
          plain = false;
          quoted = c === 34 ? 2 : 1;
          i++;
          continue;
        }
        bytes.push(c);
        i++;
      }
    }
    out.push(plain ? b.subarray(start, i) : Buffer.from(bytes));
  }
}
