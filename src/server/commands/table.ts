/**
 * The command table: every family's rows in one list, looked up by name in any letter case.
 */
import { Buffer } from 'node:buffer';
import { word } from './args.ts';
import type { CommandSpec } from './types.ts';
import { CONNECTION_COMMANDS } from './connection.ts';
import { STRING_COMMANDS } from './strings.ts';
import { BITMAP_COMMANDS } from './bitmaps.ts';
import { KEY_COMMANDS } from './keys.ts';
import { TRANSACTION_COMMANDS } from './transactions.ts';
import { SERVER_COMMANDS } from './server.ts';
import { DIAGNOSTIC_COMMANDS } from './diagnostics.ts';
import { PUBSUB_COMMANDS } from './pubsub.ts';
import { CLIENT_COMMANDS } from './client.ts';
import { REPLICATION_COMMANDS } from './replication.ts';
import { ACL_COMMANDS } from './acl.ts';
import { CLUSTER_COMMANDS } from './cluster.ts';

export const COMMANDS: readonly CommandSpec[] = [
  ...CONNECTION_COMMANDS,
  ...STRING_COMMANDS,
  ...BITMAP_COMMANDS,
  ...KEY_COMMANDS,
  ...TRANSACTION_COMMANDS,
  ...SERVER_COMMANDS,
  ...DIAGNOSTIC_COMMANDS,
  ...PUBSUB_COMMANDS,
  ...CLIENT_COMMANDS,
  ...REPLICATION_COMMANDS,
  ...ACL_COMMANDS,
  ...CLUSTER_COMMANDS,
];

const names = new Set<string>();
for (const c of COMMANDS) {
  if (names.has(c.name)) throw new Error(`command ${c.name} is defined twice`);
  names.add(c.name);
}

/** A name's bytes, ASCII letters folded to lower case, hashed (FNV-1a, cut to a small integer). */
function foldedHash(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) {
    let c = b[i]!;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h & 0x3fffffff;
}

/** Whether bytes `b` spell `name` (lower case) in any letter case. */
function spells(b: Uint8Array, name: string): boolean {
  if (b.length !== name.length) return false;
  for (let i = 0; i < b.length; i++) {
    let c = b[i]!;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== name.charCodeAt(i)) return false;
  }
  return true;
}

/** Specs by foldedHash of their name; a list, since two names may share a hash. */
const byHash = new Map<number, CommandSpec[]>();
for (const c of COMMANDS) {
  const h = foldedHash(Buffer.from(c.name, 'latin1'));
  const list = byHash.get(h);
  if (list === undefined) byHash.set(h, [c]);
  else list.push(c);
}

/** The subcommand of container `spec` that argv[1] names, in any letter case; undefined if none. */
export function subcommandOf(spec: CommandSpec, argv: readonly Uint8Array[]): CommandSpec | undefined {
  if (spec.subcommands === undefined || argv.length < 2) return undefined;
  const name = `${spec.name}|${word(argv[1]!)}`;
  return spec.subcommands.find((s) => s.name === name);
}

/** The last spec found: pipelines repeat one command, so this usually hits. */
let lastSpec: CommandSpec | undefined;

/** The command a request names, in any letter case; no string is made for it. */
export function lookupCommand(name: Buffer): CommandSpec | undefined {
  if (lastSpec !== undefined && spells(name, lastSpec.name)) return lastSpec;
  if (name.length > 32) return undefined;
  const list = byHash.get(foldedHash(name));
  if (list === undefined) return undefined;
  for (const spec of list) {
    if (spells(name, spec.name)) {
      lastSpec = spec;
      return spec;
    }
  }
  return undefined;
}
