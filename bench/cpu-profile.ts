/**
 * Summarize a V8 .cpuprofile (node --cpu-prof) over chosen time windows: self time by function and by
 * area (a package under node_modules, a folder of this repository, Node internals, GC), and inclusive
 * time of this repository's own functions.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Ranked {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  /** Sampled ms inside the windows; busy excludes (idle). */
  totalMs: number;
  busyMs: number;
  /** False when no sample fell inside the windows and the whole profile is summarized instead. */
  windowed: boolean;
  byArea: Ranked[];
  selfByFunction: Ranked[];
  /** Self time of Node internals and native code, charged to the nearest frame of a package or of this repository. */
  selfByCaller: Ranked[];
  /** The same, by the area (package or repository folder) of that frame. */
  byCallerArea: Ranked[];
  inclusiveOwn: Ranked[];
}

function pathOf(url: string): string {
  try {
    return url.startsWith('file:') ? fileURLToPath(url) : url;
  } catch {
    return url;
  }
}

function areaOf(frame: ProfileNode['callFrame'], root: string): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName.startsWith('(')) return functionName; // (garbage collector), (program), (idle)
    return '(native)';
  }
  if (url.startsWith('node:')) return 'node internals';
  const path = pathOf(url);
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = path.slice(modules + '/node_modules/'.length).split('/');
    return `npm:${parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]}`;
  }
  const inside = relative(root, path);
  if (!inside.startsWith('..')) {
    const parts = inside.split('/');
    return parts.length > 2 ? `${parts[0]}/${parts[1]}` : (parts[0] ?? inside);
  }
  return path;
}

/** A frame of a package or of this repository (not Node's own JavaScript, not native code). */
function isUserland(frame: ProfileNode['callFrame']): boolean {
  return frame.url.startsWith('file:') || frame.url.startsWith('/');
}

function labelOf(frame: ProfileNode['callFrame'], root: string): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const path = pathOf(frame.url);
  const modules = path.lastIndexOf('/node_modules/');
  const short = modules >= 0 ? path.slice(modules + '/node_modules/'.length) : relative(root, path);
  // tsx-compiled sources and bundled packages report line 1 for everything: no line is better than a wrong one.
  const line = frame.lineNumber > 0 ? `:${frame.lineNumber + 1}` : '';
  return `${name} ${short.startsWith('..') ? path : short}${line}`;
}

function rank(totals: Map<string, number>, totalMs: number, limit: number): Ranked[] {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, ms]) => ({ name, ms, share: totalMs > 0 ? ms / totalMs : 0 }));
}

/**
 * `windows` are [start, end] in process.hrtime.bigint() nanoseconds: V8 stamps samples with the same
 * monotonic clock on Linux, so windows taken in another process line up.
 */
export function summarizeProfile(
  file: string,
  root: string,
  windows: Array<[bigint, bigint]>,
  limit = 15,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const micros = windows.map(([from, to]) => [Number(from / 1000n), Number(to / 1000n)] as const);
  const inWindow = (t: number) => micros.some(([from, to]) => t >= from && t <= to);
  let at = profile.startTime;
  const picked: Array<[number, number]> = [];
  const all: Array<[number, number]> = [];
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    const sample: [number, number] = [profile.samples[i] ?? 0, delta / 1000];
    all.push(sample);
    if (inWindow(at)) picked.push(sample);
  }
  const windowed = picked.length > 0;
  const samples = windowed ? picked : all;

  const area = new Map<string, number>();
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const caller = new Map<string, number>();
  const callerArea = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  for (const [id, ms] of samples) {
    const node = byId.get(id);
    if (!node) continue;
    totalMs += ms;
    if (node.callFrame.functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    const areaName = areaOf(node.callFrame, root);
    area.set(areaName, (area.get(areaName) ?? 0) + ms);
    const label = labelOf(node.callFrame, root);
    self.set(label, (self.get(label) ?? 0) + ms);
    let charged = false;
    // Nothing of ours or of a package on the stack: Node's own work (timers, socket reads, GC).
    const unowned = () => (node.callFrame.url ? 'node internals' : areaOf(node.callFrame, root));
    const seen = new Set<string>();
    for (let cursor: number | undefined = id; cursor !== undefined; cursor = parent.get(cursor)) {
      const frame = byId.get(cursor)?.callFrame;
      if (!frame || !isUserland(frame)) continue;
      if (!charged) {
        charged = true;
        const by = labelOf(frame, root);
        caller.set(by, (caller.get(by) ?? 0) + ms);
        const owner = areaOf(frame, root);
        callerArea.set(owner, (callerArea.get(owner) ?? 0) + ms);
      }
      const path = pathOf(frame.url);
      if (path.includes('/node_modules/') || relative(root, path).startsWith('..')) continue;
      const own = labelOf(frame, root);
      if (seen.has(own)) continue;
      seen.add(own);
      inclusive.set(own, (inclusive.get(own) ?? 0) + ms);
    }
    if (!charged) callerArea.set(unowned(), (callerArea.get(unowned()) ?? 0) + ms);
  }
  const busyMs = totalMs - idleMs;
  return {
    totalMs,
    busyMs,
    windowed,
    byArea: rank(area, busyMs, limit),
    selfByFunction: rank(self, busyMs, limit),
    selfByCaller: rank(caller, busyMs, limit),
    byCallerArea: rank(callerArea, busyMs, limit),
    inclusiveOwn: rank(inclusive, busyMs, limit),
  };
}
