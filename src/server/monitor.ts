/**
 * MONITOR: every command any client runs on any worker, as Redis prints it:
 *   +1339518083.107412 [0 127.0.0.1:60866] "keys" "*"
 *
 * Workers build lines only while the shared 'monitors' counter is non-zero (one atomic load per
 * command otherwise). A worker delivers its lines to its own monitors directly and to the other
 * workers over the bus, batched once per event-loop turn: a bus message's `line` then holds one
 * or more complete `+...\r\n` lines. Admin commands (CONFIG, DEBUG, MONITOR ...) and commands
 * flagged skip_monitor are not shown, and AUTH / HELLO AUTH credentials are redacted, as Redis.
 */
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import type { Client } from './client.ts';
import type { WorkerContext } from './context.ts';
import { onAfterCommand } from './dispatch.ts';
import { flushSoon } from './output.ts';
import { replyError } from './commands/args.ts';
import { onClientReset } from './commands/client.ts';
import type { CommandSpec } from './commands/types.ts';

/** Per worker thread (module state is per thread). */
const local = new Set<Client>();
let pending: string[] = [];
let scheduled = false;
const listening = new WeakSet<WorkerContext>();

/**
 * Registers a dispatch / client hook once the module graph has finished evaluating: dispatch.ts
 * and commands/client.ts sit in an import cycle with the command table, so their hook lists may
 * not exist yet while this module first runs.
 */
export function installWhenReady(install: () => void, tries = 0): void {
  try {
    install();
  } catch (e) {
    if (!(e instanceof ReferenceError) || tries > 20) throw e;
    if (tries < 10) queueMicrotask(() => installWhenReady(install, tries + 1));
    else setImmediate(() => installWhenReady(install, tries + 1));
  }
}

installWhenReady(() => onAfterCommand(feed));
installWhenReady(() => onClientReset(stopMonitor));

/** Redis's sdscatrepr: a double-quoted string with C escapes, bytes outside ASCII as \xhh. */
export function repr(b: Uint8Array): string {
  let s = '"';
  for (let i = 0; i < b.length; i++) {
    const ch = b[i]!;
    switch (ch) {
      case 0x5c:
        s += '\\\\';
        break;
      case 0x22:
        s += '\\"';
        break;
      case 0x0a:
        s += '\\n';
        break;
      case 0x0d:
        s += '\\r';
        break;
      case 0x09:
        s += '\\t';
        break;
      case 0x07:
        s += '\\a';
        break;
      case 0x08:
        s += '\\b';
        break;
      default:
        s += ch >= 0x20 && ch <= 0x7e ? String.fromCharCode(ch) : `\\x${ch.toString(16).padStart(2, '0')}`;
    }
  }
  return s + '"';
}

const REDACTED = Buffer.from('(redacted)');

/** The arguments as MONITOR shows them: AUTH's, and HELLO's after AUTH, are redacted. */
function shown(spec: CommandSpec, argv: Buffer[]): Buffer[] {
  if (spec.name === 'auth') return argv.map((a, i) => (i === 0 ? a : REDACTED));
  if (spec.name === 'hello') {
    const out = argv.slice();
    for (let i = 2; i < out.length; i++) {
      if (out[i]!.length === 4 && out[i]!.toString('latin1').toLowerCase() === 'auth') {
        if (i + 1 < out.length) out[i + 1] = REDACTED;
        if (i + 2 < out.length) out[i + 2] = REDACTED;
        i += 2;
      }
    }
    return out;
  }
  return argv;
}

/** One MONITOR line (with its CRLF) for a command `c` ran. */
export function monitorLine(c: Client, spec: CommandSpec, argv: Buffer[], nowMs = performance.timeOrigin + performance.now()): string {
  const us = Math.floor(nowMs * 1000);
  const sec = Math.floor(us / 1e6);
  let line = `+${sec}.${String(us - sec * 1e6).padStart(6, '0')} [${c.db} ${c.addr}]`;
  for (const a of shown(spec, argv)) line += ' ' + repr(a);
  return line + '\r\n';
}

function feed(ctx: WorkerContext, c: Client, spec: CommandSpec, argv: Buffer[]): void {
  if (ctx.shared.peek('monitors') <= 0) return;
  const f = spec.flags;
  if (f.includes('admin') || f.includes('skip_monitor')) return;
  pending.push(monitorLine(c, spec, argv));
  if (!scheduled) {
    scheduled = true;
    setImmediate(() => sendPending(ctx));
  }
}

function sendPending(ctx: WorkerContext): void {
  scheduled = false;
  if (pending.length === 0) return;
  const text = pending.join('');
  pending = [];
  deliver(ctx, text);
  if (ctx.shared.get('monitors') > local.size) ctx.broadcast({ type: 'monitor', line: text, from: ctx.index });
}

function deliver(ctx: WorkerContext, text: string): void {
  if (local.size === 0) return;
  const bytes = Buffer.from(text, 'latin1');
  for (const m of local) {
    if (m.closing || m.socket.destroyed) continue;
    m.out.raw(bytes);
    flushSoon(ctx, m);
  }
}

// MONITOR
export function monitorCommand(ctx: WorkerContext, c: Client): void {
  // A transaction's client may not turn into a monitor halfway through (Redis: DENY BLOCKING).
  if (c.inExec) throw replyError("ERR MONITOR isn't allowed for DENY BLOCKING client");
  // Redis ignores a second MONITOR silently (no reply).
  if (c.monitor) return;
  if (!listening.has(ctx)) {
    listening.add(ctx);
    ctx.onBus((m) => {
      if (m.type === 'monitor' && m.from !== ctx.index) deliver(ctx, m.line);
    });
  }
  c.monitor = true;
  local.add(c);
  ctx.countShared('monitors', 1);
  c.out.ok();
}

/** RESET or disconnect: the client stops monitoring. */
function stopMonitor(ctx: WorkerContext, c: Client): void {
  if (!c.monitor) return;
  c.monitor = false;
  local.delete(c);
  ctx.countShared('monitors', -1);
}
