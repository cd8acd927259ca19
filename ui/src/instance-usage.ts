// What the workload detail shows of a running instance: its CPU/memory series as chart points,
// and its log lines as text a person can read. Pure, for the view-logic tests.
import type { StatsSample } from '../../schemas/types.gen.ts';

/** The widest window the charts show: the agent keeps ~15 minutes. */
export const CHART_WINDOW_MS = 15 * 60_000;

export interface Chart {
  /** SVG polyline points, "x,y x,y …", in a width × height box (y down). */
  points: string;
  /** The y of each reference line (request, limit) inside the box, or undefined off the scale. */
  lines: number[];
  /** The top of the scale, in the series' unit. */
  max: number;
}

/**
 * Points for one measure of the series, newest at the right edge; the scale's top fits both the
 * readings and the reference lines (a request drawn above a quiet process), with 10% headroom.
 */
export function chartOf(series: readonly StatsSample[], measure: (s: StatsSample) => number, size: { width: number; height: number }, references: readonly number[], nowMs: number): Chart {
  // The window until 15 minutes of readings are there: from the first (at least a minute), so a
  // new instance's few points spread out rather than huddle at the right edge.
  const first = series.length ? Date.parse(series[0]!.at) : nowMs;
  const span = Math.min(CHART_WINDOW_MS, Math.max(60_000, nowMs - first));
  const values = series.map(measure);
  const max = Math.max(...values, ...references, Number.MIN_VALUE) * 1.1;
  const y = (value: number) => Number((size.height - (value / max) * size.height).toFixed(1));
  const x = (at: string) => Number((size.width - ((nowMs - Date.parse(at)) / span) * size.width).toFixed(1));
  const points = series.filter((s) => nowMs - Date.parse(s.at) <= CHART_WINDOW_MS).map((s) => `${Math.max(0, x(s.at))},${y(measure(s))}`);
  return { points: points.join(' '), lines: references.map(y), max };
}

// CSI sequences (colours, cursor moves) and OSC titles: shown raw they are noise.
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g;

export function stripAnsi(line: string): string {
  return line.replace(ANSI, '');
}

/** Appends text (which may end mid-line) to lines, keeping at most max; returns the unfinished rest. */
export function appendLogText(lines: string[], pending: string, text: string, max: number): string {
  const parts = (pending + text).split('\n');
  const rest = parts.pop()!;
  for (const part of parts) lines.push(stripAnsi(part));
  if (lines.length > max) lines.splice(0, lines.length - max);
  return rest;
}
