// The self-fence watchdog with its edges replaced (probe, DNS, clock, reboot) and fake timers:
// what it probes, when it reboots, that it logs the decision once, and that stop() stops it.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type HostPort,
  type SelfFenceConfig,
  type SelfFenceWatchdog,
} from '../../../src/agent/index.ts';
// The file itself: the agent's index exports only its types (startAgent loads it when needed).
import { startSelfFenceWatchdog } from '../../../src/agent/self-fence-watchdog.ts';
import { selfFenceSettingsSchema } from '../../../src/safety/index.ts';

const SELF: HostPort = { host: '10.0.0.1', port: 9180 };
const API: HostPort = { host: '10.96.0.1', port: 443 };
const key = (t: HostPort) => `${t.host}:${t.port}`;

interface Harness {
  reachable: Set<string>;
  probed: string[][];
  reboots: string[];
  lines: Record<string, unknown>[];
  dns: string[];
  rebootExit: number;
  watchdog: SelfFenceWatchdog;
}

let h: Harness;

function start(config: Partial<SelfFenceConfig> = {}, settings: Record<string, number> = {}) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const harness = {
    reachable: new Set<string>(),
    probed: [] as string[][],
    reboots: [] as string[],
    lines,
    dns: [] as string[],
    rebootExit: 0,
  } as Harness;
  let check: string[] = [];
  harness.watchdog = startSelfFenceWatchdog({
    config: {
      settings: selfFenceSettingsSchema.parse({
        unreachableSeconds: 60,
        checkIntervalSeconds: 5,
        probeTimeoutSeconds: 2,
        ...settings,
      }),
      apiserver: API,
      peers: [],
      peersDns: undefined,
      ...config,
    },
    node: 'worker-1',
    self: SELF,
    logger: pino({ level: 'debug' }, sink),
    now: () => Date.now(),
    probe: (target) => {
      if (key(target) === key(API)) {
        check = [];
        harness.probed.push(check);
      }
      check.push(key(target));
      return Promise.resolve(harness.reachable.has(key(target)));
    },
    resolve: () => Promise.resolve(harness.dns),
    reboot: (id) => {
      harness.reboots.push(id);
      return Promise.resolve({ exitCode: harness.rebootExit, output: 'ok', durationMs: 5 });
    },
  });
  return harness;
}

const messages = () => h.lines.map((l) => l.msg as string);
const advance = (seconds: number) => vi.advanceTimersByTimeAsync(seconds * 1000);

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});

afterEach(async () => {
  await h?.watchdog.stop();
  vi.useRealTimers();
});

describe('startSelfFenceWatchdog', () => {
  it('probes the apiserver every check, and peers only when the apiserver is not reached', async () => {
    h = start({
      peers: [
        { host: '10.0.0.2', port: 9180 },
        { host: '10.0.0.1', port: 9180 }, // itself: never probed
      ],
      peersDns: 'peers.example.',
    });
    h.dns = ['10.0.0.3', '10.0.0.1', '10.0.0.2', 'not-an-ip'];
    h.reachable.add(key(API));
    await advance(12);
    expect(h.probed).toEqual([[key(API)], [key(API)], [key(API)]]);
    h.reachable.clear();
    await advance(5);
    expect(h.probed.at(-1)?.[0]).toBe(key(API));
    expect(h.probed.at(-1)?.slice(1).sort()).toEqual(['10.0.0.2:9180', '10.0.0.3:9180']);
  });

  it('probes at most maxPeersPerCheck peers, chosen at random', async () => {
    h = start({ peersDns: 'peers.example.' });
    h.dns = Array.from({ length: 50 }, (_, i) => `10.1.0.${i + 1}`);
    await advance(10);
    for (const check of h.probed) expect(check).toHaveLength(1 + 8);
    expect(new Set(h.probed.flatMap((c) => c.slice(1))).size).toBeGreaterThan(8);
  });

  it('reboots once when nothing answered for unreachableSeconds after a contact, logging why at error level', async () => {
    h = start({ peers: [{ host: '10.0.0.2', port: 9180 }] });
    h.reachable.add(key(API));
    await advance(20);
    h.reachable.clear(); // last contact: the check at 20 s
    await advance(59);
    expect(h.reboots).toEqual([]);
    await advance(1);
    expect(h.reboots).toHaveLength(1);
    expect(h.reboots[0]).toMatch(/^self-fence-\d+$/);
    await advance(300);
    expect(h.reboots).toHaveLength(1);
    const line = h.lines.find((l) => l.level === 50);
    expect(line).toMatchObject({
      node: 'worker-1',
      reason: 'unreachable',
      unreachableForMs: 60_000,
      apiserverReached: false,
      peersProbed: 1,
      peersReachable: 0,
      unreachableSeconds: 60,
      checkIntervalSeconds: 5,
      probeTimeoutSeconds: 2,
      rebootSeconds: 60,
      safeTimeSeconds: 129,
      rebootId: h.reboots[0],
    });
    expect(h.lines.filter((l) => l.level === 50)).toHaveLength(1);
    // One line per change of situation: started, armed, lost contact, reboot.
    expect(messages()).toEqual([
      'self-fence watchdog started',
      'self-fence: first contact; armed',
      'self-fence: lost contact with the apiserver and every peer',
      expect.stringContaining('rebooting this node'),
    ]);
  });

  it('a peer alone keeps it from rebooting; contact back re-arms for the next outage', async () => {
    h = start({ peers: [{ host: '10.0.0.2', port: 9180 }] });
    h.reachable.add(key(API));
    await advance(5);
    h.reachable.clear();
    h.reachable.add('10.0.0.2:9180');
    await advance(300);
    expect(h.reboots).toEqual([]);
    h.reachable.clear();
    await advance(60);
    expect(h.reboots).toHaveLength(1);
    h.reachable.add('10.0.0.2:9180');
    await advance(5);
    expect(messages()).toContain('self-fence: contact back after this outage fenced; re-armed');
    h.reachable.clear();
    await advance(59);
    expect(h.reboots).toHaveLength(1);
    await advance(6);
    expect(h.reboots).toHaveLength(2);
  });

  it('never reboots when it reached nothing since it started', async () => {
    h = start();
    await advance(3600);
    expect(h.reboots).toEqual([]);
    expect(messages()).toEqual([
      'self-fence watchdog started',
      'self-fence: nothing reached since the agent started; not armed (never fences before a first contact)',
    ]);
  });

  it('a failed reboot is logged and retried one unreachableSeconds later', async () => {
    h = start();
    h.reachable.add(key(API));
    await advance(1);
    h.reachable.clear();
    h.rebootExit = 1;
    await advance(60);
    expect(h.reboots).toHaveLength(1);
    expect(messages()).toContainEqual(expect.stringContaining('the reboot command failed'));
    h.rebootExit = 0;
    await advance(55);
    expect(h.reboots).toHaveLength(1);
    await advance(5);
    expect(h.reboots).toHaveLength(2);
    await advance(600);
    expect(h.reboots).toHaveLength(2);
  });

  it('stop() ends the checks', async () => {
    h = start();
    await advance(10);
    const checks = h.probed.length;
    await h.watchdog.stop();
    await advance(60);
    expect(h.probed.length).toBe(checks);
  });
});
