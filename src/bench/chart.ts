/**
 * The results as an SVG chart, drawn by hand: for each net test, grouped bars of ops/s by value
 * size and pipeline depth for shardcache and redis-server; then the scaling curve (ops/s by server
 * threads, with the ideal linear line and the single redis-server process as a baseline).
 * svgToPng converts it with rsvg-convert (librsvg2-bin) or headless Chromium, when installed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { hasBinary } from './net.ts';
import type { NetRow } from './net.ts';
import type { ScaleResult } from './scale.ts';
import type { SuiteResults } from './suite.ts';

const W = 960;
const OURS = '#2563eb';
const REDIS = '#dc2626';
const GRID = '#e5e7eb';
const INK = '#111827';
const MUTED = '#6b7280';
const FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function short(n: number): string {
  if (!Number.isFinite(n)) return '-';
  const trim = (s: string) => (s.includes('.') ? s.replace(/\.?0+$/, '') : s);
  if (n >= 1e6) return `${trim((n / 1e6).toFixed(n >= 1e7 ? 1 : 2))}M`;
  if (n >= 1e3) return `${trim((n / 1e3).toFixed(n >= 1e5 ? 0 : 1))}k`;
  return n.toFixed(0);
}

/** Round tick values from 0 to at least max. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(v);
  if (ticks[ticks.length - 1]! < max) ticks.push(ticks[ticks.length - 1]! + step);
  return ticks;
}

function text(x: number, y: number, s: string, o: { size?: number; anchor?: 'start' | 'middle' | 'end'; fill?: string; weight?: string; rotate?: number } = {}): string {
  const rot = o.rotate ? ` transform="rotate(${o.rotate} ${x} ${y})"` : '';
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${FONT} font-size="${o.size ?? 12}" text-anchor="${o.anchor ?? 'start'}" fill="${o.fill ?? INK}"${o.weight ? ` font-weight="${o.weight}"` : ''}${rot}>${esc(s)}</text>`;
}

function yAxis(x0: number, x1: number, top: number, bottom: number, ticks: number[], label: string): string[] {
  const max = ticks[ticks.length - 1]!;
  const out: string[] = [];
  for (const t of ticks) {
    const y = bottom - (t / max) * (bottom - top);
    out.push(`<line x1="${x0}" x2="${x1}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="${GRID}"/>`);
    out.push(text(x0 - 6, y + 4, short(t), { anchor: 'end', size: 11, fill: MUTED }));
  }
  out.push(text(x0 - 48, (top + bottom) / 2, label, { anchor: 'middle', size: 12, fill: MUTED, rotate: -90 }));
  out.push(`<line x1="${x0}" x2="${x0}" y1="${top}" y2="${bottom}" stroke="${MUTED}"/>`);
  out.push(`<line x1="${x0}" x2="${x1}" y1="${bottom}" y2="${bottom}" stroke="${MUTED}"/>`);
  return out;
}

function legend(x: number, y: number, items: { color: string; label: string; dash?: string }[]): string[] {
  const out: string[] = [];
  for (const it of items) {
    out.push(it.dash ? `<line x1="${x}" x2="${x + 18}" y1="${y - 4}" y2="${y - 4}" stroke="${it.color}" stroke-width="2" stroke-dasharray="${it.dash}"/>` : `<rect x="${x}" y="${y - 10}" width="14" height="12" fill="${it.color}"/>`);
    out.push(text(x + 22, y, it.label, { size: 12 }));
    x += 36 + it.label.length * 7.5;
  }
  return out;
}

/** One panel of grouped bars for one test; returns its SVG and height. */
function netPanel(rows: NetRow[], test: string, top: number, tool: string): { svg: string[]; height: number } {
  const H = 300;
  const x0 = 80;
  const x1 = W - 30;
  const ptop = top + 40;
  const bottom = top + H - 50;
  const hasRedis = rows.some((r) => r.redis !== null);
  const max = Math.max(...rows.flatMap((r) => [r.ours.opsPerSec, r.redis?.opsPerSec ?? 0]));
  // Headroom above the tallest bar for its label and whisker.
  const ticks = niceTicks(max * 1.08);
  const tmax = ticks[ticks.length - 1]!;
  const svg: string[] = [];
  svg.push(text(x0, top + 18, `${test.toUpperCase()}: ops/s by value size and pipeline depth (${tool})`, { size: 15, weight: 'bold' }));
  svg.push(...legend(x1 - 250, top + 18, [{ color: OURS, label: 'shardcache' }, ...(hasRedis ? [{ color: REDIS, label: 'redis-server' }] : [])]));
  svg.push(...yAxis(x0, x1, ptop, bottom, ticks, 'operations per second'));
  const sizes = [...new Set(rows.map((r) => r.size))];
  const pipes = [...new Set(rows.map((r) => r.pipeline))].sort((a, b) => a - b);
  const gap = 28;
  const groupW = (x1 - x0 - gap * (sizes.length + 1)) / sizes.length;
  const clusterW = groupW / pipes.length;
  const bars = hasRedis ? 2 : 1;
  const barW = Math.min(60, (clusterW * 0.7) / bars);
  sizes.forEach((size, si) => {
    const gx = x0 + gap + si * (groupW + gap);
    svg.push(text(gx + groupW / 2, bottom + 36, `${size} B values`, { anchor: 'middle', size: 12, weight: 'bold' }));
    if (si > 0) svg.push(`<line x1="${gx - gap / 2}" x2="${gx - gap / 2}" y1="${ptop}" y2="${bottom + 40}" stroke="${GRID}" stroke-dasharray="3 3"/>`);
    pipes.forEach((p, pi) => {
      const r = rows.find((x) => x.size === size && x.pipeline === p);
      const cx = gx + pi * clusterW + clusterW / 2;
      svg.push(text(cx, bottom + 17, `P=${p}`, { anchor: 'middle', size: 11, fill: MUTED }));
      if (!r) return;
      const vals: [number, string, number][] = [[r.ours.opsPerSec, OURS, r.ours.spread], ...(hasRedis ? [[r.redis?.opsPerSec ?? 0, REDIS, r.redis?.spread ?? 0] as [number, string, number]] : [])];
      vals.forEach(([v, color, spread], bi) => {
        const bx = cx - (bars * barW) / 2 + bi * barW;
        const h = (v / tmax) * (bottom - ptop);
        svg.push(`<rect x="${bx.toFixed(1)}" y="${(bottom - h).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${color}"><title>${esc(`${test} P=${p} ${size} B: ${Math.round(v)} ops/s`)}</title></rect>`);
        // Whisker: ± half the spread of the runs.
        const e = ((spread / 2) / tmax) * (bottom - ptop);
        if (spread > 0) {
          const ex = bx + (barW - 2) / 2;
          svg.push(`<line x1="${ex.toFixed(1)}" x2="${ex.toFixed(1)}" y1="${(bottom - h - e).toFixed(1)}" y2="${(bottom - h + e).toFixed(1)}" stroke="${INK}" stroke-width="1"/>`);
          svg.push(`<line x1="${(ex - 3).toFixed(1)}" x2="${(ex + 3).toFixed(1)}" y1="${(bottom - h - e).toFixed(1)}" y2="${(bottom - h - e).toFixed(1)}" stroke="${INK}" stroke-width="1"/>`);
        }
        svg.push(text(bx + (barW - 2) / 2, bottom - h - e - 5, short(v), { anchor: 'middle', size: 10 }));
      });
      if (r.ratio !== null) svg.push(text(cx, ptop - 6, `${r.ratio.toFixed(2)}× redis`, { anchor: 'middle', size: 11, fill: MUTED }));
    });
  });
  return { svg, height: H };
}

function scalePanel(s: ScaleResult, top: number): { svg: string[]; height: number } {
  const H = 320;
  const x0 = 80;
  const x1 = W - 200;
  const ptop = top + 40;
  const bottom = top + H - 45;
  const pts = s.points;
  const base = pts.find((p) => p.threads === 1) ?? pts[0]!;
  const maxT = Math.max(...pts.map((p) => p.threads));
  const ideal = (t: number) => base.opsPerSec * (t / base.threads);
  const max = Math.max(...pts.map((p) => p.opsPerSec), s.redis?.opsPerSec ?? 0, ideal(maxT) * 0.0);
  const ticks = niceTicks(max * 1.1);
  const tmax = ticks[ticks.length - 1]!;
  const X = (t: number) => (maxT === 1 ? (x0 + x1) / 2 : x0 + 60 + ((t - 1) / (maxT - 1)) * (x1 - x0 - 120));
  const Y = (v: number) => bottom - (Math.min(v, tmax) / tmax) * (bottom - ptop);
  const svg: string[] = [];
  const f = s.fixed;
  svg.push(text(x0, top + 18, `Scaling: ops/s by shardcache --threads (${f.test.toUpperCase()}, ${f.clients} clients, P=${f.pipeline}, ${f.size} B)`, { size: 15, weight: 'bold' }));
  svg.push(...yAxis(x0, x1, ptop, bottom, ticks, 'operations per second'));
  for (const p of pts) svg.push(text(X(p.threads), bottom + 17, String(p.threads), { anchor: 'middle', size: 11, fill: MUTED }));
  svg.push(text((x0 + x1) / 2, bottom + 36, 'server threads', { anchor: 'middle', size: 12, fill: MUTED }));
  // Ideal linear scaling from the 1-thread point, clipped to the plot.
  const tEnd = Math.min(maxT, (tmax / base.opsPerSec) * base.threads);
  svg.push(`<line x1="${X(base.threads).toFixed(1)}" y1="${Y(base.opsPerSec).toFixed(1)}" x2="${X(tEnd).toFixed(1)}" y2="${Y(ideal(tEnd)).toFixed(1)}" stroke="${MUTED}" stroke-width="1.5" stroke-dasharray="2 4"/>`);
  if (s.redis) {
    const y = Y(s.redis.opsPerSec);
    svg.push(`<line x1="${x0}" x2="${x1}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="${REDIS}" stroke-width="2" stroke-dasharray="6 4"/>`);
    svg.push(text(x1 + 6, y + 4, `redis-server ${short(s.redis.opsPerSec)}`, { size: 11, fill: REDIS }));
  }
  svg.push(`<polyline fill="none" stroke="${OURS}" stroke-width="2.5" points="${pts.map((p) => `${X(p.threads).toFixed(1)},${Y(p.opsPerSec).toFixed(1)}`).join(' ')}"/>`);
  for (const p of pts) {
    svg.push(`<circle cx="${X(p.threads).toFixed(1)}" cy="${Y(p.opsPerSec).toFixed(1)}" r="4.5" fill="${OURS}"><title>${p.threads} threads: ${Math.round(p.opsPerSec)} ops/s</title></circle>`);
    svg.push(text(X(p.threads), Y(p.opsPerSec) - 10, `${short(p.opsPerSec)} (${p.speedup.toFixed(2)}x)`, { anchor: 'middle', size: 10 }));
  }
  svg.push(...legend(x1 + 10, ptop + 4, [{ color: OURS, label: 'shardcache' }]));
  svg.push(...legend(x1 + 10, ptop + 24, [{ color: MUTED, label: 'ideal linear', dash: '2 4' }]));
  if (s.redis) svg.push(...legend(x1 + 10, ptop + 44, [{ color: REDIS, label: 'redis (1 process)', dash: '6 4' }]));
  return { svg, height: H };
}

/** The chart for a run, or null when it has neither net nor scale results. */
export function renderChart(r: SuiteResults): string | null {
  const net = r.suites.net;
  const scale = r.suites.scale;
  if ((!net || net.rows.length === 0) && (!scale || scale.points.length === 0)) return null;
  const parts: string[] = [];
  let y = 10;
  parts.push(text(20, y + 20, 'shardcache vs redis-server', { size: 18, weight: 'bold' }));
  const m = r.machine;
  parts.push(text(20, y + 40, `${m.cpuModel}, ${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB · node ${r.node} · redis ${r.redis.server ?? 'not installed'} · ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC`, { size: 12, fill: MUTED }));
  y += 56;
  if (net && net.rows.length > 0) {
    for (const test of [...new Set(net.rows.map((x) => x.test))]) {
      const p = netPanel(net.rows.filter((x) => x.test === test), test, y, net.tool === 'ours' ? 'shardcache-loadgen' : 'redis-benchmark');
      parts.push(...p.svg);
      y += p.height;
    }
  }
  if (scale && scale.points.length > 0) {
    const p = scalePanel(scale, y);
    parts.push(...p.svg);
    y += p.height;
  }
  const H = Math.ceil(y + 10);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">\n<rect width="100%" height="100%" fill="#ffffff"/>\n${parts.join('\n')}\n</svg>\n`;
}

/** Converts an SVG file to PNG with rsvg-convert or headless Chromium; false when neither is installed or it failed. */
export function svgToPng(svgPath: string, pngPath: string): boolean {
  if (hasBinary('rsvg-convert')) {
    const r = spawnSync('rsvg-convert', ['-b', 'white', '-o', pngPath, svgPath], { stdio: 'ignore', timeout: 60_000 });
    return r.status === 0 && existsSync(pngPath);
  }
  for (const bin of ['chromium', 'chromium-browser', 'google-chrome']) {
    if (!hasBinary(bin)) continue;
    const r = spawnSync(bin, ['--headless', '--no-sandbox', '--disable-gpu', `--screenshot=${pngPath}`, '--window-size=960,1400', `file://${svgPath}`], { stdio: 'ignore', timeout: 60_000 });
    return r.status === 0 && existsSync(pngPath);
  }
  return false;
}
