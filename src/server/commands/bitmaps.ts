/**
 * Bitmap commands (Redis's bitops.c) on string values: GETBIT, SETBIT, BITCOUNT, BITPOS, BITOP,
 * BITFIELD and BITFIELD_RO.
 * The bit arithmetic is the store's (store/bits.ts); here are the arguments, in Redis 7.0's order
 * of checks, and the replies. BITCOUNT and BITPOS look the key up before they read their range,
 * as 7.0 does, so a missing key answers even to a malformed range.
 */
import type { Buffer } from 'node:buffer';
import { bitAt, bitRange, countBits, findBit, readField, writeField } from '../../store/bits.ts';
import type { BitOp } from '../../store/bits.ts';
import { parseInt64 } from '../../store/numbers.ts';
import type { Client } from '../client.ts';
import type { WorkerContext } from '../context.ts';
import { notify } from '../notify.ts';
import { clampToSafe, eitherWord, int64Arg, intArg, replyError, syntaxError, word } from './args.ts';
import { cmd, KEY1 } from './types.ts';
import type { CommandSpec } from './types.ts';

const OFFSET_ERROR = 'ERR bit offset is not an integer or out of range';

/**
 * A bit offset (getBitOffsetFromArgument): an integer from 0 to below proto-max-bulk-len bytes'
 * worth of bits. With `fieldBits` (BITFIELD), #n is the n-th field of that width, the product
 * wrapping at 64 bits as Redis's does.
 */
function bitOffsetArg(ctx: WorkerContext, b: Buffer, fieldBits = 0): number {
  const hash = fieldBits > 0 && b[0] === 0x23;
  const v = parseInt64(b, hash ? 1 : 0, b.length - (hash ? 1 : 0));
  if (v === null) throw replyError(OFFSET_ERROR);
  const at = hash ? BigInt.asIntN(64, BigInt(v) * BigInt(fieldBits)) : BigInt(v);
  if (at < 0n || at / 8n >= BigInt(ctx.maxBulk)) throw replyError(OFFSET_ERROR);
  return Number(at);
}

/** A range bound: a 64-bit integer, clamped to ±2^53 (clampToSafe), and the exact value. */
function boundArg(b: Buffer): { n: number; exact: number | bigint } {
  const exact = int64Arg(b);
  return { n: clampToSafe(exact), exact };
}

/** BYTE or BIT, the unit of a BITCOUNT / BITPOS range: true for bits. */
function unitArg(b: Buffer): boolean {
  return eitherWord(b, 'bit', 'byte');
}

// GETBIT key offset
function getbit(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const bit = bitOffsetArg(ctx, argv[2]!);
  c.out.int(c.store.readString(argv[1]!, 0, (a, off, len) => bitAt(a, off, len, bit)));
}

// SETBIT key offset value
function setbit(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const bit = bitOffsetArg(ctx, argv[2]!);
  const v = parseInt64(argv[3]!, 0, argv[3]!.length);
  if (v !== 0 && v !== 1) throw replyError('ERR bit is not an integer or out of range');
  const { old, written } = c.store.setBit(argv[1]!, bit, v);
  if (written) notify(ctx, c, '$', 'setbit', argv[1]!);
  c.out.int(old);
}

// BITCOUNT key [start end [BYTE|BIT]]
function bitcount(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const n = c.store.readString(argv[1]!, 0, (a, off, len) => {
    if (argv.length === 2) return countBits(a, off, 0, len * 8 - 1);
    if (argv.length !== 4 && argv.length !== 5) throw syntaxError();
    const start = boundArg(argv[2]!);
    const end = boundArg(argv[3]!);
    // Both from the end, the start past the end: empty, before any clamping, and before the
    // unit is read.
    if (start.exact < 0 && end.exact < 0 && start.exact > end.exact) return 0;
    const bits = argv.length === 5 && unitArg(argv[4]!);
    const { first, last } = bitRange(len, start.n, end.n, bits);
    return countBits(a, off, first, last);
  });
  c.out.int(n);
}

// BITPOS key bit [start [end [BYTE|BIT]]]
function bitpos(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const bit = intArg(argv[2]!);
  if (bit !== 0 && bit !== 1) throw replyError('ERR The bit argument must be 1 or 0.');
  // A missing key is an endless run of zeros.
  const pos = c.store.readString(argv[1]!, bit === 1 ? -1 : 0, (a, off, len) => {
    if (argv.length > 6) throw syntaxError();
    let start = 0;
    let end = len - 1;
    let bits = false;
    const endGiven = argv.length >= 5;
    if (argv.length >= 4) {
      start = boundArg(argv[3]!).n;
      if (argv.length === 6) bits = unitArg(argv[5]!);
      if (endGiven) end = boundArg(argv[4]!).n;
    }
    const { first, last } = bitRange(len, start, end, bits);
    if (first > last) return -1;
    const found = findBit(a, off, bit, first, last);
    if (found >= 0 || bit === 1) return found;
    // No clear bit in range: past the string's end there are only clear bits, unless the
    // range was closed by an explicit end.
    return endGiven ? -1 : last + 1;
  });
  c.out.int(pos);
}

/** A Map, not an object: a name like `constructor` must find nothing. */
const OPS = new Map<string, BitOp>([['and', 'and'], ['or', 'or'], ['xor', 'xor'], ['not', 'not']]);

// BITOP <AND|OR|XOR|NOT> destkey key [key ...]
function bitop(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const op = OPS.get(word(argv[1]!));
  if (op === undefined) throw syntaxError();
  if (op === 'not' && argv.length !== 4) throw replyError('ERR BITOP NOT must be called with a single source key.');
  const dest = argv[2]!;
  const { len, deleted } = c.store.bitOp(op, dest, argv.slice(3));
  if (len > 0) notify(ctx, c, '$', 'set', dest);
  else if (deleted) notify(ctx, c, 'g', 'del', dest);
  c.out.int(len);
}

/** BITFIELD's OVERFLOW behaviours. */
type Overflow = 'wrap' | 'sat' | 'fail';

/** One BITFIELD operation, parsed: the field's type and bit offset, and SET's value or INCRBY's increment. */
interface FieldOp {
  op: 'get' | 'set' | 'incrby';
  signed: boolean;
  bits: number;
  at: number;
  arg: bigint;
  overflow: Overflow;
}

const TYPE_ERROR = 'ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.';

/** A field type, i1..i64 or u1..u63 (getBitfieldTypeFromArgument, which reads up to a NUL as C does). */
function fieldTypeArg(b: Buffer): { signed: boolean; bits: number } {
  const c = b[0];
  // Lower case only, as Redis 7.0 reads it.
  const signed = c === 0x69;
  if (!signed && c !== 0x75) throw replyError(TYPE_ERROR);
  const nul = b.indexOf(0);
  const digits = b.subarray(1, nul < 0 ? b.length : nul);
  const bits = parseInt64(digits, 0, digits.length);
  if (typeof bits !== 'number' || bits < 1 || bits > (signed ? 64 : 63)) throw replyError(TYPE_ERROR);
  return { signed, bits };
}

/**
 * BITFIELD's operations, all parsed before any runs (a bad one fails the whole command): each GET,
 * SET and INCRBY with the OVERFLOW behaviour in force where it stands.
 */
function fieldOps(ctx: WorkerContext, argv: Buffer[]): FieldOp[] {
  const ops: FieldOp[] = [];
  let overflow: Overflow = 'wrap';
  for (let j = 2; j < argv.length; j++) {
    const left = argv.length - j - 1;
    const w = word(argv[j]!);
    if (w === 'overflow' && left >= 1) {
      const o = word(argv[++j]!);
      if (o !== 'wrap' && o !== 'sat' && o !== 'fail') throw replyError('ERR Invalid OVERFLOW type specified');
      overflow = o;
      continue;
    }
    if (!((w === 'get' && left >= 2) || ((w === 'set' || w === 'incrby') && left >= 3))) throw syntaxError();
    const { signed, bits } = fieldTypeArg(argv[j + 1]!);
    const at = bitOffsetArg(ctx, argv[j + 2]!, bits);
    const arg = w === 'get' ? 0n : BigInt(int64Arg(argv[j + 3]!));
    ops.push({ op: w, signed, bits, at, arg, overflow });
    j += w === 'get' ? 2 : 3;
  }
  return ops;
}

/**
 * A field's new value, wrapped, saturated or refused (null, FAIL) when it leaves the type's range
 * (checkSignedBitfieldOverflow / checkUnsignedBitfieldOverflow). An unsigned SET takes its value
 * as the 64-bit unsigned integer it is in C, so a negative one overflows upward.
 */
function fitField(v: bigint, op: FieldOp): bigint | null {
  const span = 1n << BigInt(op.bits);
  const min = op.signed ? -(span >> 1n) : 0n;
  const max = op.signed ? (span >> 1n) - 1n : span - 1n;
  if (v >= min && v <= max) return v;
  if (op.overflow === 'fail') return null;
  if (op.overflow === 'sat') return v > max ? max : min;
  return op.signed ? BigInt.asIntN(op.bits, v) : BigInt.asUintN(op.bits, v);
}

/** Op's field in a[off, off + len), as its type reads it. */
function fieldValue(a: Uint8Array, off: number, len: number, op: FieldOp): bigint {
  const raw = readField(a, off, len, op.at, op.bits);
  return op.signed ? BigInt.asIntN(op.bits, raw) : raw;
}

/**
 * Runs the operations on `value` in order, appending each one's reply to `out`. Returns the bytes
 * of the fields written that make the command a write, as Redis 7.0 counts one: a SET or INCRBY
 * that changed its field, or any one FAIL did not refuse when the string is new or `grown`; null
 * for none.
 */
function runFieldOps(value: Buffer, grown: boolean, ops: readonly FieldOp[], out: (bigint | null)[]): { from: number; to: number } | null {
  let from = Infinity;
  let to = -Infinity;
  for (const op of ops) {
    const old = fieldValue(value, 0, value.length, op);
    if (op.op === 'get') {
      out.push(old);
      continue;
    }
    const want = op.op === 'incrby' ? old + op.arg : op.signed ? op.arg : BigInt.asUintN(64, op.arg);
    const next = fitField(want, op);
    if (next === null) {
      out.push(null);
      continue;
    }
    writeField(value, op.at, op.bits, next);
    if (grown || next !== old) {
      from = Math.min(from, Math.floor(op.at / 8));
      to = Math.max(to, Math.floor((op.at + op.bits - 1) / 8) + 1);
    }
    out.push(op.op === 'incrby' ? next : old);
  }
  return from < to ? { from, to } : null;
}

/** BITFIELD and BITFIELD_RO: all GETs read the key; any SET or INCRBY makes the command a write. */
function bitfieldGeneric(ctx: WorkerContext, c: Client, argv: Buffer[], readOnly: boolean): void {
  const ops = fieldOps(ctx, argv);
  let out: (bigint | null)[] = [];
  let writeEnd = -1;
  for (const op of ops) if (op.op !== 'get') writeEnd = Math.max(writeEnd, op.at + op.bits - 1);
  if (writeEnd < 0) {
    // A missing key reads as zeros.
    out = c.store.readString(argv[1]!, ops.map(() => 0n), (a, off, len) => ops.map((op) => fieldValue(a, off, len, op)));
  } else {
    if (readOnly) throw replyError('ERR BITFIELD_RO only supports the GET subcommand');
    if (c.store.editString(argv[1]!, Math.floor(writeEnd / 8) + 1, (value, grown) => runFieldOps(value, grown, ops, out))) notify(ctx, c, '$', 'setbit', argv[1]!);
  }
  c.out.array(out.length);
  for (const v of out) {
    if (v === null) c.out.nil();
    else c.out.int(v);
  }
}

// BITFIELD key [GET encoding offset | [OVERFLOW <WRAP|SAT|FAIL>] <SET encoding offset value | INCRBY encoding offset increment> ...]
function bitfield(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  bitfieldGeneric(ctx, c, argv, false);
}

// BITFIELD_RO key [GET encoding offset [GET encoding offset ...]]
function bitfieldRo(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  bitfieldGeneric(ctx, c, argv, true);
}

const W = ['write', 'denyoom'] as const;
export const BITMAP_COMMANDS: readonly CommandSpec[] = [
  cmd('getbit', 3, ['readonly', 'fast'], KEY1, 'bitmap', '2.2.0', 'Returns a bit value by offset.', getbit, { syntax: 'GETBIT key offset', complexity: 'O(1)' }),
  cmd('setbit', 4, [...W], KEY1, 'bitmap', '2.2.0', 'Sets or clears the bit at offset of the string value. Creates the key if it doesn\'t exist.', setbit, { syntax: 'SETBIT key offset value', complexity: 'O(1)' }),
  cmd('bitcount', -2, ['readonly'], KEY1, 'bitmap', '2.6.0', 'Counts the number of set bits (population counting) in a string.', bitcount, { syntax: 'BITCOUNT key [start end [BYTE|BIT]]', complexity: 'O(N)' }),
  cmd('bitpos', -3, ['readonly'], KEY1, 'bitmap', '2.8.7', 'Finds the first set (1) or clear (0) bit in a string.', bitpos, { syntax: 'BITPOS key bit [start [end [BYTE|BIT]]]', complexity: 'O(N)' }),
  cmd('bitfield', -2, [...W], KEY1, 'bitmap', '3.2.0', 'Performs arbitrary bitfield integer operations on strings.', bitfield, { syntax: 'BITFIELD key [GET encoding offset] [SET encoding offset value] [INCRBY encoding offset increment] [OVERFLOW WRAP|SAT|FAIL]', complexity: 'O(1) for each subcommand specified' }),
  cmd('bitfield_ro', -2, ['readonly', 'fast'], KEY1, 'bitmap', '6.0.0', 'Performs arbitrary read-only bitfield integer operations on strings.', bitfieldRo, { syntax: 'BITFIELD_RO key [GET encoding offset [GET encoding offset ...]]', complexity: 'O(1) for each subcommand specified' }),
  cmd('bitop', -4, [...W], [2, -1, 1], 'bitmap', '2.6.0', 'Performs bitwise operations on multiple strings, and stores the result.', bitop, { syntax: 'BITOP <AND|OR|XOR|NOT> destkey key [key ...]', complexity: 'O(N)' }),
];
