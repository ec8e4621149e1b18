// Parsers of the agent's settings as they come from flags and environment variables (strings).
// Written by hand rather than with zod: the agent runs on every node and a schema library is
// about 3 MiB resident it would keep for a dozen strings (docs/benchmarks.md, "Footprint").
// Each parser returns the value, or an `Invalid` whose message is what the operator reads.

export interface HostPort {
  host: string;
  port: number;
}

/** A setting that does not parse; `message` says what was expected. */
export class Invalid {
  readonly message: string;

  constructor(message: string) {
    this.message = message;
  }
}

// The port follows the last colon, so an unbracketed IPv6 node IP ($(NODE_IP):9180) works too.
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s[\]]+):(\d{1,5})$/;
const NODE_NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
const DNS_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9.])?$/;
const SECONDS = /^\d+(\.\d+)?$/;

/** `host:port`, `[v6]:port` or `v6:port`; the port at most 65535. */
export function hostPort(text: string): HostPort | Invalid {
  if (!HOST_PORT.test(text)) return new Invalid('expected host:port, e.g. 10.0.0.5:9180');
  const split = text.lastIndexOf(':');
  const port = Number(text.slice(split + 1));
  if (port > 65535) return new Invalid('port above 65535');
  return { host: text.slice(0, split).replace(/^\[|\]$/g, ''), port };
}

export const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);

/** The health port: `off`, or a loopback `host:port` (it answers without authentication). */
export function healthListen(text: string): HostPort | 'off' | Invalid {
  if (text === 'off') return 'off';
  const parsed = hostPort(text);
  if (parsed instanceof Invalid || isLoopback(parsed.host)) return parsed;
  return new Invalid(
    'the unauthenticated health endpoint listens on loopback only (127.0.0.1:PORT), or "off"',
  );
}

/** A non-empty string; `required` is the message when it is empty. */
export function required(text: string, requiredMessage: string): string | Invalid {
  return text.length > 0 ? text : new Invalid(requiredMessage);
}

export function nodeName(text: string): string | Invalid {
  if (text.length === 0)
    return new Invalid("required: this node's name (the Downward API spec.nodeName)");
  return NODE_NAME.test(text) ? text : new Invalid('expected a Kubernetes node name');
}

export function dnsName(text: string): string | Invalid {
  return DNS_NAME.test(text) ? text : new Invalid('expected a DNS name');
}

export function trueOrFalse(text: string): boolean | Invalid {
  if (text === 'true' || text === 'false') return text === 'true';
  return new Invalid('expected true or false');
}

/** Seconds as a plain decimal (`60`, `0.5`): no unit, no sign, no exponent. */
export function seconds(text: string): number | Invalid {
  return SECONDS.test(text) ? Number(text) : new Invalid('expected seconds, e.g. 60 or 0.5');
}

/** A comma list of `host:port` (blanks ignored); the first bad entry is the error. */
export function hostPortList(text: string): HostPort[] | Invalid {
  const list: HostPort[] = [];
  for (const entry of text.split(',').map((p) => p.trim())) {
    if (entry === '') continue;
    const parsed = hostPort(entry);
    if (parsed instanceof Invalid) return parsed;
    list.push(parsed);
  }
  return list;
}
