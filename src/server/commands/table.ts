/**
 * The command table: every family's rows in one list, looked up by name in any letter case.
 */
import { word } from './args.ts';
import type { CommandSpec } from './types.ts';
import { CONNECTION_COMMANDS } from './connection.ts';
import { STRING_COMMANDS } from './strings.ts';
import { KEY_COMMANDS } from './keys.ts';
import { TRANSACTION_COMMANDS } from './transactions.ts';
import { SERVER_COMMANDS } from './server.ts';
import { DIAGNOSTIC_COMMANDS } from './diagnostics.ts';
import { PUBSUB_COMMANDS } from './pubsub.ts';
import { CLIENT_COMMANDS } from './client.ts';

export const COMMANDS: readonly CommandSpec[] = [
  ...CONNECTION_COMMANDS,
  ...STRING_COMMANDS,
  ...KEY_COMMANDS,
  ...TRANSACTION_COMMANDS,
  ...SERVER_COMMANDS,
  ...DIAGNOSTIC_COMMANDS,
  ...PUBSUB_COMMANDS,
  ...CLIENT_COMMANDS,
];

const byName = new Map<string, CommandSpec>();
for (const c of COMMANDS) {
  if (byName.has(c.name)) throw new Error(`command ${c.name} is defined twice`);
  byName.set(c.name, c);
}
/** Names as clients spelled them (GET, get, Get) → spec; filled on first sight. */
const bySpelling = new Map<string, CommandSpec | undefined>();

/** The last name looked up and its spec: pipelines repeat one command, so this usually hits. */
let lastName = '';
let lastSpec: CommandSpec | undefined;

export function lookupCommand(name: Buffer): CommandSpec | undefined {
  const n = name.length;
  if (n === lastName.length && lastSpec !== undefined) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (name[i] !== lastName.charCodeAt(i)) {
        same = false;
        break;
      }
    }
    if (same) return lastSpec;
  }
  if (n > 32) return undefined;
  // The spelling as sent (GET, get, Get): looked up once, then found in bySpelling.
  const spelled = name.toString('latin1');
  let spec = bySpelling.get(spelled);
  if (spec === undefined && !bySpelling.has(spelled)) {
    spec = byName.get(word(name));
    if (bySpelling.size < 4096) bySpelling.set(spelled, spec);
  }
  if (spec !== undefined) {
    lastName = spelled;
    lastSpec = spec;
  }
  return spec;
}
