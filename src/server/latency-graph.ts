/**
 * LATENCY GRAPH's drawing of one latency event's samples, in plain text (Redis draws a sparkline
 * of the same information; the exact picture is its own and not mirrored here).
 */

/** One latency event's record (LATENCY HISTORY, GRAPH, DOCTOR). */
export interface LatencyEvent {
  /** [Unix seconds, the largest ms of that second], oldest first. */
  samples: [number, number][];
  /** The largest ms ever recorded (since the last LATENCY RESET). */
  max: number;
}

/** Columns of LATENCY GRAPH (its newest samples) and rows of its bars. */
const GRAPH_COLUMNS = 80;
const GRAPH_ROWS = 4;

/** How long ago `t` (Unix seconds) was, in the largest unit that keeps it short: 12s, 5m, 3h, 2d. */
function ago(now: number, t: number): string {
  const d = Math.max(0, now - t);
  if (d < 60) return `${d}s`;
  if (d < 3600) return `${Math.floor(d / 60)}m`;
  if (d < 86400) return `${Math.floor(d / 3600)}h`;
  return `${Math.floor(d / 86400)}d`;
}

/**
 * The graph's text: a title with the high and low of the samples shown and the all-time high,
 * GRAPH_ROWS rows of bars (one column per sample, '_' at the bottom for the lowest, '#' up to
 * the sample's share of the range), then each column's age written downwards.
 */
export function latencyGraphText(event: string, e: LatencyEvent, now: number): string {
  const shown = e.samples.slice(-GRAPH_COLUMNS);
  const values = shown.map(([, ms]) => ms);
  const high = Math.max(...values);
  const low = Math.min(...values);
  const levels = values.map((ms) => (high === low ? GRAPH_ROWS : 1 + Math.round(((ms - low) / (high - low)) * (GRAPH_ROWS - 1))));
  const lines = [`${event} - high ${high} ms, low ${low} ms (all time high ${e.max} ms)`, '-'.repeat(GRAPH_COLUMNS)];
  for (let row = GRAPH_ROWS; row >= 1; row--) {
    lines.push(levels.map((lv, i) => (lv < row ? ' ' : row === 1 && values[i] === low && high !== low ? '_' : '#')).join('').trimEnd());
  }
  const labels = shown.map(([t]) => ago(now, t));
  const depth = Math.max(...labels.map((l) => l.length));
  for (let i = 0; i < depth; i++) lines.push(labels.map((l) => l[i] ?? ' ').join('').trimEnd());
  return lines.join('\n') + '\n';
}
