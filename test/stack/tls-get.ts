// HTTPS GET with the stack's own CA and a client certificate (fetch cannot take either).
import { request } from 'node:https';
import { readFileSync } from 'node:fs';

export interface TlsClient {
  ca?: string;
  cert?: string;
  key?: string;
  /** Loopback servers with self-signed certificates we did not issue (kube-controller-manager). */
  insecure?: boolean;
}

export async function tlsGet(
  url: string,
  client: TlsClient,
): Promise<{ status: number; body: string }> {
  return await new Promise((resolveResponse, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        ca: client.ca ? readFileSync(client.ca) : undefined,
        cert: client.cert ? readFileSync(client.cert) : undefined,
        key: client.key ? readFileSync(client.key) : undefined,
        rejectUnauthorized: !client.insecure,
        timeout: 2000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolveResponse({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
