// A TCP forwarder put between nodeheal and Redis, able to cut the network the way a lost route or
// a dead switch does: bytes stop in both directions while every socket stays open (a black hole),
// until the path comes back (the held bytes flow on) or the connections are closed.
//
// What it cannot copy: nodeheal's kernel still talks to this forwarder's kernel, which
// acknowledges every segment and answers keepalive probes, so a cut seen through it is only ever
// noticed by a timeout of nodeheal's own (ioredis commandTimeout, a PING with a deadline, BullMQ's
// lock renewal); a real black hole would also end, much later, in the kernel's retransmission
// timeout (net.ipv4.tcp_retries2, about 15 minutes on Linux) or its keepalive (2 hours idle).
import { createConnection, createServer, type Socket } from 'node:net';

interface Pair {
  client: Socket;
  upstream: Socket | undefined;
}

export interface TcpForwarder {
  /** redis://127.0.0.1:<port> of the forwarder. */
  url: string;
  /** Where new connections go (connections made before it is set wait for it). */
  setTarget(port: number): void;
  /** Stops every byte, both ways, on every connection; new connections are held too. */
  blackHole(): void;
  /** Passes bytes again: what was held flows on, held connections go through. */
  restore(): void;
  /** Closes every connection (both sides), then passes bytes again for new ones. */
  closeAll(): void;
  /** Connections open now (client side). */
  open(): number;
  stop(): Promise<void>;
}

/** Copies `from` to `to` with backpressure; while the path is cut nothing is read. */
function forward(from: Socket, to: Socket, cut: () => boolean) {
  from.on('data', (chunk: Buffer) => {
    if (to.write(chunk)) return;
    from.pause();
    to.once('drain', () => {
      if (!cut()) from.resume();
    });
  });
}

export async function startTcpForwarder(): Promise<TcpForwarder> {
  const pairs = new Set<Pair>();
  let target: number | undefined;
  let holed = false;
  const cut = () => holed;

  const drop = (pair: Pair) => {
    pair.client.destroy();
    pair.upstream?.destroy();
    pairs.delete(pair);
  };
  const connect = (pair: Pair) => {
    const upstream = createConnection({ host: '127.0.0.1', port: target! });
    pair.upstream = upstream;
    upstream.on('error', () => drop(pair));
    upstream.on('close', () => drop(pair));
    forward(pair.client, upstream, cut);
    forward(upstream, pair.client, cut);
    upstream.on('connect', () => {
      if (!holed) pair.client.resume();
      else upstream.pause();
    });
  };

  const server = createServer({ pauseOnConnect: true }, (client) => {
    const pair: Pair = { client, upstream: undefined };
    pairs.add(pair);
    client.on('error', () => drop(pair));
    client.on('close', () => drop(pair));
    if (!holed && target !== undefined) connect(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;

  const restore = () => {
    holed = false;
    for (const pair of pairs) {
      if (pair.upstream === undefined) {
        if (target !== undefined) connect(pair);
        continue;
      }
      pair.client.resume();
      pair.upstream.resume();
    }
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    setTarget: (p) => {
      target = p;
      if (!holed) restore();
    },
    blackHole: () => {
      holed = true;
      for (const pair of pairs) {
        pair.client.pause();
        pair.upstream?.pause();
      }
    },
    restore,
    closeAll: () => {
      for (const pair of [...pairs]) drop(pair);
      holed = false;
    },
    open: () => pairs.size,
    stop: async () => {
      for (const pair of [...pairs]) drop(pair);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
