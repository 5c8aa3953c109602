/**
 * The vocabulary native-layout/ is written in. A struct is an ordered list of fields; each
 * field's offset is chained from the one before it (rounded up to the field's alignment), so
 * inserting a field moves every later one and a stale hand-written number cannot survive.
 * Bit fields inside a word are declared by width; shifts and masks are derived from the order.
 */

export type FieldType = 'u8' | 'u16' | 'u32' | 'i32' | 'f64';

const WIDTH: Record<FieldType, number> = { u8: 1, u16: 2, u32: 4, i32: 4, f64: 8 };

export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
  /** Elements in the field (an inline array); 1 when omitted. */
  readonly count?: number;
  /** Byte alignment; the element width when omitted. 64 starts a new cache line. */
  readonly align?: number;
  /** Which lock or atomic protects the field: the contract every accessor relies on. */
  readonly guard: string;
  readonly doc: string;
}

export interface Field {
  readonly name: string;
  readonly type: FieldType;
  readonly count: number;
  readonly offset: number;
  readonly width: number;
  readonly align: number;
  readonly guard: string;
  readonly doc: string;
  /** offset / width: the index of the first element in a typed array of this field's type. */
  readonly index: number;
}

export interface Struct<N extends string> {
  readonly name: string;
  readonly size: number;
  readonly align: number;
  readonly fields: { readonly [K in N]: Field };
  readonly order: readonly Field[];
}

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

export function struct<const S extends readonly FieldSpec[]>(
  name: string,
  specs: S,
  opts: { align?: number } = {},
): Struct<S[number]['name']> {
  let offset = 0;
  let maxAlign = 1;
  const order: Field[] = [];
  const fields: Record<string, Field> = {};
  for (const s of specs) {
    const width = WIDTH[s.type];
    const align = s.align ?? width;
    if (align % width !== 0) throw new Error(`${name}.${s.name}: alignment ${align} is not a multiple of ${width}`);
    offset = alignUp(offset, align);
    const count = s.count ?? 1;
    const f: Field = { name: s.name, type: s.type, count, offset, width, align, guard: s.guard, doc: s.doc, index: offset / width };
    order.push(f);
    fields[s.name] = f;
    offset += width * count;
    maxAlign = Math.max(maxAlign, align);
  }
  const a = Math.max(maxAlign, opts.align ?? 1);
  return { name, size: alignUp(offset, a), align: a, fields: fields as Struct<S[number]['name']>['fields'], order };
}

export interface BitSpec {
  readonly name: string;
  readonly bits: number;
  readonly doc: string;
}

export interface BitField {
  readonly name: string;
  readonly shift: number;
  readonly bits: number;
  /** Mask of the field after shifting down: (word >>> shift) & mask. */
  readonly mask: number;
  readonly doc: string;
}

/** Bit fields of one 32-bit word, low bits first. */
export function bits<const S extends readonly BitSpec[]>(name: string, specs: S): { readonly [K in S[number]['name']]: BitField } {
  let shift = 0;
  const out: Record<string, BitField> = {};
  for (const s of specs) {
    if (shift + s.bits > 32) throw new Error(`${name}: bit fields exceed 32 bits`);
    out[s.name] = { name: s.name, shift, bits: s.bits, mask: s.bits === 32 ? 0xffffffff : (1 << s.bits) - 1, doc: s.doc };
    shift += s.bits;
  }
  return out as { readonly [K in S[number]['name']]: BitField };
}
