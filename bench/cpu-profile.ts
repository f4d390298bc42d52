import { writeFile } from 'node:fs/promises';
import WebSocket from 'ws';
import { cpuByThread } from './cpu.js';

/** A V8 CPU profile as the inspector's Profiler.stop answers it. */
interface Profile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  samples?: number[];
  startTime: number;
  endTime: number;
}

/** Where a process opens its inspector on SIGUSR1 unless started with `--inspect-port` (Node's default). */
export const DEFAULT_INSPECTOR_PORT = 9229;

/**
 * Profiles a running Node process over a window the caller chooses, through the inspector it opens on SIGUSR1, on
 * loopback (two processes profiled at once each need their own `--inspect-port`): `stop()` writes the main thread's `.cpuprofile` (for Chrome's DevTools or speedscope) and answers where
 * the time went, by thread and, on the main thread, by package and function.
 */
export async function startCpuProfile(
  pid: number,
  inspectorPort = DEFAULT_INSPECTOR_PORT,
): Promise<{ stop: (path: string) => Promise<ProcessProfile> }> {
  const inspector = `http://127.0.0.1:${inspectorPort}`;
  process.kill(pid, 'SIGUSR1');
  let target: { webSocketDebuggerUrl: string } | undefined;
  for (let attempt = 0; !target && attempt < 50; attempt += 1) {
    target = await fetch(`${inspector}/json/list`)
      .then(async (response) => ((await response.json()) as { webSocketDebuggerUrl: string }[])[0])
      .catch(() => undefined);
    if (!target) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (!target) throw new Error(`process ${pid} opened no inspector on ${inspector}`);
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let nextId = 1;
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = nextId++;
      const onMessage = (data: Buffer) => {
        const message = JSON.parse(data.toString()) as {
          id?: number;
          result?: Record<string, unknown>;
          error?: unknown;
        };
        if (message.id !== id) return;
        socket.off('message', onMessage);
        if (message.error) reject(new Error(JSON.stringify(message.error)));
        else resolve(message.result ?? {});
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id, method, params }));
    });
  await call('Profiler.enable');
  await call('Profiler.setSamplingInterval', { interval: 1000 });
  await call('Profiler.start');
  const threadsBefore = cpuByThread(pid);
  return {
    async stop(path: string) {
      const threadsAfter = cpuByThread(pid);
      const { profile } = (await call('Profiler.stop')) as { profile: Profile };
      socket.close();
      await writeFile(path, JSON.stringify(profile));
      const byThread = Object.entries(threadsAfter)
        .map(([thread, ms]) => ({ thread, cpuMs: Math.round(ms - (threadsBefore[thread] ?? 0)) }))
        .filter(({ cpuMs }) => cpuMs > 0)
        .sort((a, b) => b.cpuMs - a.cpuMs);
      return { cpuMsByThread: byThread, mainThread: summarize(profile) };
    },
  };
}

export interface ProcessProfile {
  /** The process's CPU by thread name over the window: the JavaScript profile below sees the main thread only. */
  cpuMsByThread: { thread: string; cpuMs: number }[];
  mainThread: ProfileSummary;
}

export interface ProfileSummary {
  sampledMs: number;
  /** The share of the window the main thread was not waiting for I/O. */
  busyPercent: number;
  /** Self time by where the code comes from: the share of the busy samples, largest first. */
  bySource: { source: string; percent: number }[];
  /** Self time by function, the twelve largest, as a share of the busy samples. */
  topFunctions: { fn: string; percent: number }[];
}

/** Where the busy samples fell: by package (or the project's folder) and by function, GC named as such. */
function summarize(profile: Profile): ProfileSummary {
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const hits = new Map<number, number>();
  for (const id of profile.samples ?? []) hits.set(id, (hits.get(id) ?? 0) + 1);
  const sources = new Map<string, number>();
  const functions = new Map<string, number>();
  let idle = 0;
  for (const [id, count] of hits) {
    const frame = byNode.get(id)?.callFrame;
    if (!frame) continue;
    if (frame.functionName === '(idle)') {
      idle += count;
      continue;
    }
    const source = sourceOf(frame.url, frame.functionName);
    sources.set(source, (sources.get(source) ?? 0) + count);
    const fn = `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
    functions.set(fn, (functions.get(fn) ?? 0) + count);
  }
  const busy = (profile.samples?.length ?? 0) - idle;
  const percent = (count: number) => Math.round((count / Math.max(1, busy)) * 1000) / 10;
  const ranked = <K extends string>(map: Map<string, number>, key: K) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .map(([name, count]) => ({ [key]: name, percent: percent(count) }) as Record<K, string> & { percent: number });
  return {
    sampledMs: Math.round((profile.endTime - profile.startTime) / 1000),
    busyPercent: Math.round((busy / Math.max(1, busy + idle)) * 1000) / 10,
    bySource: ranked(sources, 'source').slice(0, 15),
    topFunctions: ranked(functions, 'fn').slice(0, 12),
  };
}

function sourceOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : 'node (native)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules?.[1]) return modules[1];
  if (url.startsWith('node:')) return 'node';
  const own = /\/(activities|api|db|domain|engine|lib|webhooks|workers|workflows|config)\//.exec(url);
  return own?.[1] ? `project ${own[1]}/` : shortUrl(url);
}

function shortUrl(url: string): string {
  return url.replace(/^file:\/\/.*?\/(node_modules\/)?/, '');
}
