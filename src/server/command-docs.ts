/**
 * COMMAND's replies, built from the command table: COMMAND / COMMAND INFO entries (name, arity,
 * flags, key positions, ACL categories, tips, key specs, subcommands), COMMAND DOCS (summary,
 * since, group, complexity and the argument tree parsed from each row's syntax line), COMMAND
 * LIST with its filters, and COMMAND GETKEYS.
 *
 * The table imports the command families, and this module is used by one of them, so it reads
 * the table through live bindings only inside functions, never while modules are evaluating.
 */
import { globMatch } from '../protocol/glob.ts';
import type { ReplyWriter } from '../protocol/resp-writer.ts';
import { word } from './commands/args.ts';
import { COMMANDS, lookupCommand, subcommandOf } from './commands/table.ts';
import { keysOf } from './commands/types.ts';
import type { CommandSpec, Flag } from './commands/types.ts';

// ---- flags and ACL categories --------------------------------------------------------------

/** Flags in the order Redis prints them; may_replicate is hidden, as Redis hides it. */
const FLAG_ORDER: readonly Flag[] = ['write', 'readonly', 'denyoom', 'admin', 'pubsub', 'noscript', 'blocking', 'loading', 'stale', 'skip_monitor', 'skip_slowlog', 'fast', 'no_auth', 'no_async_loading', 'no_multi', 'allow_busy'];

export function shownFlags(spec: CommandSpec): Flag[] {
  return FLAG_ORDER.filter((f) => spec.flags.includes(f));
}

/** ACL categories in the order Redis lists them. */
export const ACL_CATEGORIES = ['keyspace', 'read', 'write', 'set', 'sortedset', 'list', 'hash', 'string', 'bitmap', 'hyperloglog', 'geo', 'stream', 'pubsub', 'admin', 'fast', 'slow', 'blocking', 'dangerous', 'connection', 'transaction', 'scripting'] as const;

/** The category a command's documentation group implies. */
const GROUP_CATEGORY: Record<string, string> = {
  generic: 'keyspace',
  string: 'string',
  connection: 'connection',
  pubsub: 'pubsub',
  transactions: 'transaction',
  scripting: 'scripting',
  hash: 'hash',
  list: 'list',
  set: 'set',
  sorted_set: 'sortedset',
  bitmap: 'bitmap',
  hyperloglog: 'hyperloglog',
  geo: 'geo',
  stream: 'stream',
};

/** Categories Redis's command files add by hand, beyond what flags and group imply. */
const EXTRA_CATEGORIES: Record<string, readonly string[]> = {
  info: ['dangerous'],
  lastsave: ['admin', 'dangerous'],
  keys: ['dangerous'],
  flushdb: ['keyspace', 'dangerous'],
  flushall: ['keyspace', 'dangerous'],
  swapdb: ['keyspace', 'dangerous'],
  sort: ['set', 'sortedset', 'list', 'dangerous'],
  sort_ro: ['set', 'sortedset', 'list', 'dangerous'],
  migrate: ['keyspace', 'dangerous'],
  restore: ['keyspace', 'dangerous'],
  'restore-asking': ['keyspace', 'dangerous'],
  role: ['admin', 'dangerous'],
  command: ['connection'],
  'command|*': ['connection'],
  dbsize: ['keyspace'],
  randomkey: ['keyspace'],
  scan: ['keyspace'],
  wait: ['connection'],
  readonly: ['connection'],
  readwrite: ['connection'],
};

/** Rows whose Redis definition leaves out their group's category. */
const NO_GROUP_CATEGORY = new Set(['pubsub|help', 'wait']);

/** ACL categories as Redis derives them: from the flags, the group, and per-command additions. */
export function aclCategories(spec: CommandSpec): string[] {
  const cats = new Set<string>();
  const f = spec.flags;
  if (f.includes('write')) cats.add('write');
  if (f.includes('readonly') && spec.group !== 'scripting') cats.add('read');
  if (f.includes('admin')) {
    cats.add('admin');
    cats.add('dangerous');
  }
  if (f.includes('pubsub')) cats.add('pubsub');
  if (f.includes('fast')) cats.add('fast');
  if (f.includes('blocking')) cats.add('blocking');
  if (!cats.has('fast')) cats.add('slow');
  const base = spec.name.split('|')[0]!;
  const isContainer = spec.subcommands !== undefined && spec.handler === undefined;
  const g = GROUP_CATEGORY[spec.group];
  if (g !== undefined && !isContainer && !NO_GROUP_CATEGORY.has(spec.name)) cats.add(g);
  for (const x of EXTRA_CATEGORIES[spec.name] ?? EXTRA_CATEGORIES[`${base}|*`] ?? []) cats.add(x);
  return ACL_CATEGORIES.filter((c) => cats.has(c));
}

// ---- key specs -------------------------------------------------------------------------------

export interface KeySpec {
  /** Redis's `notes`, where it gives one. */
  notes?: string;
  flags: readonly string[];
  index: number;
  lastkey: number;
  keystep: number;
  limit: number;
}

const RO = ['RO'];
const RO_ACCESS = ['RO', 'access'];
const OW_UPDATE = ['OW', 'update'];
const OW_INSERT = ['OW', 'insert'];
const RM = ['RM', 'delete'];
/** Key-spec flags Redis gives where the read/write flag alone would say otherwise. */
const KEY_SPEC_FLAGS: Record<string, readonly string[]> = {
  set: ['RW', 'access', 'update', 'variable_flags'],
  bitfield: ['RW', 'access', 'update', 'variable_flags'],
  setnx: OW_INSERT,
  msetnx: OW_INSERT,
  setex: OW_UPDATE,
  psetex: OW_UPDATE,
  mset: OW_UPDATE,
  getdel: ['RW', 'access', 'delete'],
  append: ['RW', 'insert'],
  setrange: ['RW', 'update'],
  del: RM,
  unlink: RM,
  strlen: RO,
  exists: RO,
  dump: RO_ACCESS,
  restore: OW_UPDATE,
  touch: RO,
  type: RO,
  ttl: RO_ACCESS,
  pttl: RO_ACCESS,
  expiretime: RO_ACCESS,
  pexpiretime: RO_ACCESS,
  expire: ['RW', 'update'],
  pexpire: ['RW', 'update'],
  expireat: ['RW', 'update'],
  pexpireat: ['RW', 'update'],
  persist: ['RW', 'update'],
  'memory|usage': RO,
  'object|encoding': RO,
  'object|freq': RO,
  'object|idletime': RO,
  'object|refcount': RO,
};

/** Redis's notes on a key spec. */
const KEY_SPEC_NOTES: Record<string, string> = {
  set: 'RW and ACCESS due to the optional `GET` argument',
  bitfield: 'This command allows both access and modification of the key',
  getex: 'RW and UPDATE because it changes the TTL',
};

/** A spec for the one key at argument `index`. */
const oneKey = (index: number, flags: readonly string[]): KeySpec => ({ flags, index, lastkey: 0, keystep: 1, limit: 0 });

/** Commands whose keys play different roles, one spec each, in argument order (as Redis's). */
const SPLIT_KEY_SPECS: Record<string, KeySpec[]> = {
  rename: [oneKey(1, ['RW', 'access', 'delete']), oneKey(2, OW_UPDATE)],
  renamenx: [oneKey(1, ['RW', 'access', 'delete']), oneKey(2, OW_INSERT)],
  copy: [oneKey(1, RO_ACCESS), oneKey(2, OW_UPDATE)],
  bitop: [oneKey(2, OW_UPDATE), { flags: RO_ACCESS, index: 3, lastkey: -1, keystep: 1, limit: 0 }],
};

/**
 * Shard channel arguments as (first, last, step), which Redis 7.0 shows as key positions and key
 * specs flagged not_key (so a cluster client routes them by slot) and which are no keys here:
 * COMMAND INFO shows them as Redis does, and COMMAND GETKEYS, like Redis's, finds no key in them.
 */
const CHANNEL_ARGS: Record<string, readonly [number, number, number]> = {
  spublish: [1, 1, 1],
  ssubscribe: [1, -1, 1],
  sunsubscribe: [1, -1, 1],
};

/** The key positions COMMAND INFO shows (first, last, step), and whether they are shard channels. */
function shownKeys(spec: CommandSpec): { first: number; last: number; step: number; channels: boolean } {
  const ch = CHANNEL_ARGS[spec.name];
  if (ch !== undefined) return { first: ch[0], last: ch[1], step: ch[2], channels: true };
  return { first: spec.firstKey, last: spec.lastKey, step: spec.step, channels: false };
}

/** The command's key specs: Redis's own where they split, else one range from (first, last, step). */
function keySpecs(spec: CommandSpec): KeySpec[] {
  const { first, last, step, channels } = shownKeys(spec);
  if (first <= 0) return [];
  const split = SPLIT_KEY_SPECS[spec.name];
  if (split !== undefined) return split;
  const flags: readonly string[] = channels ? ['not_key'] : (KEY_SPEC_FLAGS[spec.name] ?? (spec.flags.includes('write') ? ['RW', 'access', 'update'] : spec.flags.includes('readonly') ? ['RO', 'access'] : ['RO']));
  const notes = KEY_SPEC_NOTES[spec.name];
  return [{ ...(notes !== undefined ? { notes } : {}), flags, index: first, lastkey: last < 0 ? last : last - first, keystep: step, limit: 0 }];
}

/**
 * The flags of key argument `i` of `call` (the command's name first): those of the spec that
 * covers it, or for a spec marked variable_flags, those this call earns (SET writes without
 * reading unless it has GET).
 */
export function keyFlagsAt(spec: CommandSpec, call: readonly Uint8Array[], i: number): readonly string[] {
  const specs = keySpecs(spec);
  for (const k of specs) {
    const last = k.lastkey < 0 ? call.length + k.lastkey : k.index + k.lastkey;
    if (i < k.index || i > last || (i - k.index) % k.keystep !== 0) continue;
    if (k.flags.includes('variable_flags')) return variableKeyFlags(spec, call);
    return k.flags;
  }
  return specs[0]?.flags ?? [];
}

/**
 * The key flags a call of a variable_flags command earns: SET writes without reading unless it
 * has GET; BITFIELD only reads while its operations are GETs (and OVERFLOWs), as Redis's
 * bitfieldGetKeys walks them, taking anything else for a write.
 */
function variableKeyFlags(spec: CommandSpec, call: readonly Uint8Array[]): readonly string[] {
  if (spec.name === 'set') return call.slice(3).some((a) => word(a) === 'get') ? ['RW', 'access', 'update'] : OW_UPDATE;
  for (let i = 2; i < call.length; i++) {
    const left = call.length - i - 1;
    const w = word(call[i]!);
    if (w === 'get' && left >= 2) i += 2;
    else if (w === 'overflow' && left >= 1) i += 1;
    else return ['RW', 'access', 'update'];
  }
  return RO_ACCESS;
}

// ---- COMMAND / COMMAND INFO --------------------------------------------------------------------

const NONDET = ['nondeterministic_output'];
const NONDET_ORDER = ['nondeterministic_output_order'];
const ALL_NODES_OK = ['request_policy:all_nodes', 'response_policy:all_succeeded'];
const ALL_SHARDS_OK = ['request_policy:all_shards', 'response_policy:all_succeeded'];
const MULTI_SHARD_SUM = ['request_policy:multi_shard', 'response_policy:agg_sum'];
const NONDET_ALL_SHARDS_SPECIAL = ['nondeterministic_output', 'request_policy:all_shards', 'response_policy:special'];
const NONDET_ALL_NODES_SPECIAL = ['nondeterministic_output', 'request_policy:all_nodes', 'response_policy:special'];
/** Redis 7's command tips: hints for cluster clients and proxies on routing and merging replies. */
const TIPS: Record<string, readonly string[]> = {
  'client|info': NONDET,
  'client|list': NONDET,
  command: NONDET_ORDER,
  'command|docs': NONDET_ORDER,
  'command|info': NONDET_ORDER,
  'command|list': NONDET_ORDER,
  'config|set': ALL_NODES_OK,
  dbsize: ['request_policy:all_shards', 'response_policy:agg_sum'],
  dump: NONDET,
  del: MULTI_SHARD_SUM,
  exists: MULTI_SHARD_SUM,
  flushall: ALL_SHARDS_OK,
  flushdb: ALL_SHARDS_OK,
  'function|flush': ALL_SHARDS_OK,
  'function|list': NONDET_ORDER,
  'module|list': NONDET_ORDER,
  info: NONDET_ALL_SHARDS_SPECIAL,
  keys: ['request_policy:all_shards', 'nondeterministic_output_order'],
  lastsave: NONDET,
  'latency|doctor': NONDET_ALL_NODES_SPECIAL,
  'latency|graph': NONDET_ALL_NODES_SPECIAL,
  'latency|histogram': NONDET_ALL_NODES_SPECIAL,
  'latency|history': NONDET_ALL_NODES_SPECIAL,
  'latency|latest': NONDET_ALL_NODES_SPECIAL,
  'latency|reset': ALL_NODES_OK,
  'memory|doctor': NONDET_ALL_SHARDS_SPECIAL,
  'memory|malloc-stats': NONDET_ALL_SHARDS_SPECIAL,
  'memory|purge': ALL_SHARDS_OK,
  'memory|stats': NONDET_ALL_SHARDS_SPECIAL,
  mget: ['request_policy:multi_shard'],
  mset: ['request_policy:multi_shard', 'response_policy:all_succeeded'],
  msetnx: ['request_policy:multi_shard', 'response_policy:agg_min'],
  'object|encoding': NONDET,
  'object|freq': NONDET,
  'object|idletime': NONDET,
  'object|refcount': NONDET,
  ping: ALL_SHARDS_OK,
  pttl: NONDET,
  randomkey: ['request_policy:all_shards', 'nondeterministic_output'],
  scan: ['nondeterministic_output', 'request_policy:special'],
  'slowlog|get': ['request_policy:all_nodes', 'nondeterministic_output'],
  'slowlog|len': ['request_policy:all_nodes', 'response_policy:agg_sum', 'nondeterministic_output'],
  'slowlog|reset': ALL_NODES_OK,
  time: NONDET,
  touch: MULTI_SHARD_SUM,
  ttl: NONDET,
  unlink: MULTI_SHARD_SUM,
  wait: ['request_policy:all_shards', 'response_policy:agg_min'],
};

/** One COMMAND INFO entry (10 elements, Redis 7). */
export function writeCommandInfo(out: ReplyWriter, spec: CommandSpec): void {
  out.array(10);
  out.bulkStr(spec.name);
  out.int(spec.arity);
  const flags = shownFlags(spec);
  out.set(flags.length);
  for (const f of flags) out.simple(f);
  const keys = shownKeys(spec);
  out.int(keys.first);
  out.int(keys.last);
  out.int(keys.step);
  const cats = aclCategories(spec);
  out.set(cats.length);
  for (const c of cats) out.simple(`@${c}`);
  const tips = TIPS[spec.name] ?? [];
  out.set(tips.length);
  for (const t of tips) out.bulkStr(t);
  // RESP3 types as Redis 7.0 writes them: key specs a set; subcommands an array, or an empty set.
  const ks = keySpecs(spec);
  out.set(ks.length);
  for (const k of ks) {
    out.map(k.notes !== undefined ? 4 : 3);
    if (k.notes !== undefined) {
      out.bulkStr('notes');
      out.bulkStr(k.notes);
    }
    out.bulkStr('flags');
    out.set(k.flags.length);
    for (const f of k.flags) out.simple(f);
    out.bulkStr('begin_search');
    out.map(2);
    out.bulkStr('type');
    out.bulkStr('index');
    out.bulkStr('spec');
    out.map(1);
    out.bulkStr('index');
    out.int(k.index);
    out.bulkStr('find_keys');
    out.map(2);
    out.bulkStr('type');
    out.bulkStr('range');
    out.bulkStr('spec');
    out.map(3);
    out.bulkStr('lastkey');
    out.int(k.lastkey);
    out.bulkStr('keystep');
    out.int(k.keystep);
    out.bulkStr('limit');
    out.int(k.limit);
  }
  const subs = spec.subcommands ?? [];
  if (subs.length === 0) out.set(0);
  else out.array(subs.length);
  for (const s of subs) writeCommandInfo(out, s);
}

/** A command or a "parent|sub" subcommand by name, any case. */
export function findCommand(name: string): CommandSpec | undefined {
  const n = name.toLowerCase();
  const bar = n.indexOf('|');
  if (bar < 0) return COMMANDS.find((c) => c.name === n);
  const parent = COMMANDS.find((c) => c.name === n.slice(0, bar));
  return parent?.subcommands?.find((s) => s.name === n);
}

// COMMAND / COMMAND INFO [command-name ...]
export function commandInfo(out: ReplyWriter, names: readonly string[] | null): void {
  if (names === null || names.length === 0) {
    out.array(COMMANDS.length);
    for (const c of COMMANDS) writeCommandInfo(out, c);
    return;
  }
  out.array(names.length);
  for (const n of names) {
    const spec = findCommand(n);
    if (spec === undefined) out.nil();
    else writeCommandInfo(out, spec);
  }
}

// ---- COMMAND DOCS: the argument tree from the syntax line ------------------------------------

export interface DocArg {
  name: string;
  type: string;
  token?: string;
  flags: string[];
  keySpecIndex?: number;
  arguments?: DocArg[];
}

type Item = { kind: 'word'; text: string } | { kind: 'group'; optional: boolean; alts: Item[][] } | { kind: 'ellipsis' };

function tokenize(s: string): string[] {
  const out: string[] = [];
  const re = /\.\.\.|[[\]{}<>|]|[^\s[\]{}<>|]+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    let t = m[0];
    if (t.length > 3 && t.endsWith('...')) {
      out.push(t.slice(0, -3));
      t = '...';
    }
    out.push(t);
  }
  return out;
}

class SyntaxParser {
  private i = 0;
  private readonly t: string[];
  constructor(tokens: string[]) {
    this.t = tokens;
  }
  /** Alternatives separated by `|` until `close` (or the end). */
  parseAlts(close: string | null): Item[][] {
    const alts: Item[][] = [[]];
    while (this.i < this.t.length) {
      const tok = this.t[this.i++]!;
      if (tok === close) return alts;
      if (tok === ']' || tok === '}' || tok === '>') throw new Error(`unbalanced ${tok}`);
      if (tok === '|') alts.push([]);
      else if (tok === '[') alts[alts.length - 1]!.push({ kind: 'group', optional: true, alts: this.parseAlts(']') });
      else if (tok === '{') alts[alts.length - 1]!.push({ kind: 'group', optional: false, alts: this.parseAlts('}') });
      else if (tok === '<') alts[alts.length - 1]!.push({ kind: 'group', optional: false, alts: this.parseAlts('>') });
      else if (tok === '...') alts[alts.length - 1]!.push({ kind: 'ellipsis' });
      else alts[alts.length - 1]!.push({ kind: 'word', text: tok });
    }
    if (close !== null) throw new Error(`missing ${close}`);
    return alts;
  }
}

const isToken = (w: string) => /^[A-Z][A-Z0-9_-]*$/.test(w) && /[A-Z]/.test(w);

function argType(name: string): string {
  if (/^(key\d*|source|destination|newkey)$/.test(name)) return 'key';
  if (/^unix-time/.test(name)) return 'unix-time';
  if (/pattern$/.test(name)) return 'pattern';
  if (/^(count|seconds|milliseconds|timeout|offset|start|end|db|index|increment|decrement|numkeys|protover|min-match-len|destination-db|cursor|numreplicas|client-id|port|microseconds|samples)$/.test(name)) return 'integer';
  return 'string';
}

/** Items equal as syntax (for `x [x ...]` repetition). */
function sameItems(a: Item[], b: Item[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i]!;
    if (x.kind !== y.kind) return false;
    if (x.kind === 'word') return x.text === (y as { text: string }).text;
    if (x.kind === 'group') return JSON.stringify(x) === JSON.stringify(y);
    return true;
  });
}

/** Marks repeated runs: `a [a ...]` and `a b [a b ...]` become one multiple unit. */
function foldRepeats(items: Item[]): { items: Item[]; multiple: boolean }[] {
  const units: { items: Item[]; multiple: boolean }[] = [];
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    if (it.kind === 'ellipsis') {
      const last = units[units.length - 1];
      if (last !== undefined) last.multiple = true;
      continue;
    }
    if (it.kind === 'group' && it.optional && it.alts.length === 1) {
      const inner = it.alts[0]!;
      if (inner.length >= 2 && inner[inner.length - 1]!.kind === 'ellipsis') {
        const body = inner.slice(0, -1);
        // Compare with the units just before: the run `body` repeated.
        const prev: Item[] = [];
        let k = units.length - 1;
        let count = 0;
        while (k >= 0 && prev.length < body.length) {
          prev.unshift(...units[k]!.items);
          k--;
          count++;
        }
        if (sameItems(prev, body)) {
          units.splice(units.length - count, count, { items: body, multiple: true });
          continue;
        }
        // `[x ...]` alone: an optional repeated x.
        units.push({ items: [{ kind: 'group', optional: true, alts: [body] }], multiple: true });
        continue;
      }
    }
    units.push({ items: [it], multiple: false });
  }
  return units;
}

function nameOf(args: DocArg[]): string {
  return args.map((a) => a.name).join('_') || 'arguments';
}

/** Converts a sequence of items into arguments. */
function seqToArgs(items: Item[]): DocArg[] {
  const out: DocArg[] = [];
  const units = foldRepeats(items);
  for (let u = 0; u < units.length; u++) {
    const unit = units[u]!;
    let args: DocArg[];
    if (unit.items.length > 1) {
      const inner = seqToArgs(unit.items);
      args = [inner.length === 1 ? inner[0]! : block(inner)];
    }
    else {
      const it = unit.items[0]!;
      if (it.kind === 'word' && isToken(it.text)) {
        // A token owns the plain words (or the one group) right after it.
        const owned: Item[] = [];
        while (u + 1 < units.length && !units[u + 1]!.multiple && units[u + 1]!.items.length === 1) {
          const nx = units[u + 1]!.items[0]!;
          if (nx.kind === 'word' && !isToken(nx.text)) {
            owned.push(nx);
            u++;
          } else if (nx.kind === 'group' && !nx.optional && owned.length === 0) {
            owned.push(nx);
            u++;
            break;
          } else break;
        }
        if (owned.length === 0) args = [{ name: it.text.toLowerCase(), type: 'pure-token', token: it.text, flags: [] }];
        else {
          const inner = seqToArgs(owned);
          const a = inner.length === 1 ? inner[0]! : block(inner);
          a.token = it.text;
          args = [a];
        }
      } else if (it.kind === 'word') args = [{ name: it.text, type: argType(it.text), flags: [] }];
      else if (it.kind === 'group') args = [groupArg(it)];
      else args = [];
    }
    if (unit.multiple && args.length === 1) {
      const a = args[0]!;
      if (!a.flags.includes('multiple')) a.flags.push('multiple');
      if (a.token !== undefined && !a.flags.includes('multiple_token')) a.flags.push('multiple_token');
    }
    out.push(...args);
  }
  return out;
}

function block(args: DocArg[]): DocArg {
  return { name: nameOf(args), type: 'block', flags: [], arguments: args };
}

function groupArg(g: { optional: boolean; alts: Item[][] }): DocArg {
  let a: DocArg;
  if (g.alts.length === 1) {
    const args = seqToArgs(g.alts[0]!);
    a = args.length === 1 ? args[0]! : block(args);
  } else {
    const choices = g.alts.map((alt) => {
      const args = seqToArgs(alt);
      return args.length === 1 ? args[0]! : block(args);
    });
    a = { name: nameOf(choices), type: 'oneof', flags: [], arguments: choices };
  }
  if (g.optional && !a.flags.includes('optional')) a.flags.unshift('optional');
  return a;
}

/** The argument tree of a command from its syntax line; null when the line does not parse. */
export function docArguments(spec: CommandSpec): DocArg[] | null {
  if (spec.syntax === undefined) return null;
  const words = spec.name.split('|').length;
  const tokens = tokenize(spec.syntax);
  try {
    const alts = new SyntaxParser(tokens.slice(words)).parseAlts(null);
    const args = alts.length === 1 ? seqToArgs(alts[0]!) : [groupArg({ optional: false, alts })];
    // Key arguments take the specs in order; a command with one spec gives it to all of them.
    const specCount = keySpecs(spec).length;
    let keyIndex = 0;
    const mark = (list: DocArg[]) => {
      for (const a of list) {
        if (a.type === 'key') {
          if (spec.firstKey > 0) a.keySpecIndex = Math.min(keyIndex++, specCount - 1);
          else a.type = 'string';
        }
        if (a.arguments !== undefined) mark(a.arguments);
      }
    };
    mark(args);
    return args;
  } catch {
    return null;
  }
}

function writeArg(out: ReplyWriter, a: DocArg): void {
  const n = 2 + (a.keySpecIndex !== undefined ? 1 : 0) + (a.token !== undefined ? 1 : 0) + (a.flags.length > 0 ? 1 : 0) + (a.arguments !== undefined ? 1 : 0);
  out.map(n);
  out.bulkStr('name');
  out.bulkStr(a.name);
  out.bulkStr('type');
  out.bulkStr(a.type);
  if (a.keySpecIndex !== undefined) {
    out.bulkStr('key_spec_index');
    out.int(a.keySpecIndex);
  }
  if (a.token !== undefined) {
    out.bulkStr('token');
    out.bulkStr(a.token);
  }
  if (a.flags.length > 0) {
    out.bulkStr('flags');
    out.set(a.flags.length);
    for (const f of a.flags) out.simple(f);
  }
  if (a.arguments !== undefined) {
    out.bulkStr('arguments');
    out.array(a.arguments.length);
    for (const x of a.arguments) writeArg(out, x);
  }
}

/** The COMMAND DOCS map value for one command. */
export function writeCommandDoc(out: ReplyWriter, spec: CommandSpec): void {
  const args = docArguments(spec);
  const subs = spec.subcommands ?? [];
  const complexity = spec.complexity ?? (subs.length > 0 ? 'Depends on subcommand.' : undefined);
  out.map(3 + (complexity !== undefined ? 1 : 0) + (args !== null && args.length > 0 ? 1 : 0) + (subs.length > 0 ? 1 : 0));
  out.bulkStr('summary');
  out.bulkStr(spec.summary);
  out.bulkStr('since');
  out.bulkStr(spec.since);
  out.bulkStr('group');
  out.bulkStr(spec.group);
  if (complexity !== undefined) {
    out.bulkStr('complexity');
    out.bulkStr(complexity);
  }
  if (args !== null && args.length > 0) {
    out.bulkStr('arguments');
    out.array(args.length);
    for (const a of args) writeArg(out, a);
  }
  if (subs.length > 0) {
    out.bulkStr('subcommands');
    out.map(subs.length);
    for (const s of subs) {
      out.bulkStr(s.name);
      writeCommandDoc(out, s);
    }
  }
}

// COMMAND DOCS [command-name ...]
export function commandDocs(out: ReplyWriter, names: readonly string[]): void {
  const specs = names.length === 0 ? [...COMMANDS] : names.map(findCommand).filter((s): s is CommandSpec => s !== undefined);
  out.map(specs.length);
  for (const s of specs) {
    out.bulkStr(s.name);
    writeCommandDoc(out, s);
  }
}

// ---- COMMAND LIST / COUNT / GETKEYS ------------------------------------------------------------

export function allSpecs(): CommandSpec[] {
  const out: CommandSpec[] = [];
  for (const c of COMMANDS) {
    out.push(c);
    if (c.subcommands !== undefined) out.push(...c.subcommands);
  }
  return out;
}

export type ListFilter = { kind: 'module'; value: string } | { kind: 'aclcat'; value: string } | { kind: 'pattern'; value: string } | null;

export function commandList(filter: ListFilter): string[] {
  const all = allSpecs();
  if (filter === null) return all.map((s) => s.name);
  if (filter.kind === 'module') return [];
  if (filter.kind === 'aclcat') {
    const cat = filter.value.toLowerCase();
    return all.filter((s) => aclCategories(s).includes(cat)).map((s) => s.name);
  }
  return all.filter((s) => globMatch(filter.value, s.name, true)).map((s) => s.name);
}

export function commandCount(): number {
  return COMMANDS.length;
}

/**
 * COMMAND GETKEYS: the key arguments of a full command line and the spec that places them (key
 * i is argument spec.firstKey + i * spec.step). Throws Redis's errors as plain messages (the
 * caller replies with them).
 */
export function getKeys(argv: Buffer[]): { keys: Buffer[]; spec: CommandSpec } {
  let spec = lookupCommand(argv[0]!);
  if (spec === undefined) throw new Error('ERR Invalid command specified');
  if (spec.subcommands !== undefined && argv.length >= 2) {
    const sub = subcommandOf(spec, argv);
    if (sub !== undefined) spec = sub;
    else if (spec.handler === undefined) throw new Error('ERR Invalid command specified');
  }
  if ((spec.arity > 0 && argv.length !== spec.arity) || argv.length < -spec.arity) throw new Error('ERR Invalid number of arguments specified for command');
  const keys = keysOf(spec, argv);
  if (keys.length === 0) throw new Error('ERR The command has no key arguments');
  return { keys, spec };
}
