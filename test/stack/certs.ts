// The stack's PKI, generated per run with openssl: a CA, the apiserver's serving certificate,
// client certificates per component identity, and the service-account signing key pair.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ClientCert {
  cert: string;
  key: string;
}

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  saKey: string;
  saPub: string;
  clients: Record<ClientIdentity, ClientCert>;
}

/** Client identities: CN is the user, O the group (system:masters bypasses RBAC). */
const identities = {
  admin: { cn: 'kubernetes-admin', o: 'system:masters' },
  'kube-controller-manager': { cn: 'system:kube-controller-manager', o: '' },
  'kube-scheduler': { cn: 'system:kube-scheduler', o: '' },
  // Test infrastructure that stands in for kubelets and a metrics exporter; not nodeheal.
  kwok: { cn: 'kwok-controller', o: 'system:masters' },
  'kube-state-metrics': { cn: 'kube-state-metrics', o: 'system:masters' },
} as const;

export type ClientIdentity = keyof typeof identities;

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function generatePki(dir: string): Pki {
  mkdirSync(dir, { recursive: true });
  const ecKey = (name: string) =>
    openssl(
      ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name],
      dir,
    );
  ecKey('ca.key');
  openssl(
    ['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=nodeheal-test-ca', '-days', '30']
      .concat(['-addext', 'basicConstraints=critical,CA:TRUE'])
      .concat(['-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', 'ca.crt']),
    dir,
  );
  const sign = (name: string, subject: string, extensions: string[]) => {
    ecKey(`${name}.key`);
    openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], dir);
    writeFileSync(join(dir, `${name}.ext`), extensions.join('\n') + '\n');
    openssl(
      ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key'].concat([
        '-CAcreateserial',
        '-days',
        '30',
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.crt`,
      ]),
      dir,
    );
  };
  sign('apiserver', '/CN=kube-apiserver', [
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,' +
      'DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
  ]);
  const clients = {} as Record<ClientIdentity, ClientCert>;
  for (const [name, id] of Object.entries(identities) as [
    ClientIdentity,
    { cn: string; o: string },
  ][]) {
    sign(name, id.o ? `/O=${id.o}/CN=${id.cn}` : `/CN=${id.cn}`, [
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=clientAuth',
    ]);
    clients[name] = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  }
  openssl(
    ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key'],
    dir,
  );
  openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'apiserver.crt'),
    serverKey: join(dir, 'apiserver.key'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
    clients,
  };
}

/** A kubeconfig file for one identity, with paths to the files (not inlined). */
export function writeKubeconfig(path: string, server: string, pki: Pki, who: ClientIdentity): void {
  const client = pki.clients[who];
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: nodeheal-local',
      '  cluster:',
      `    server: ${server}`,
      `    certificate-authority: ${pki.caCert}`,
      'users:',
      `- name: ${who}`,
      '  user:',
      `    client-certificate: ${client.cert}`,
      `    client-key: ${client.key}`,
      'contexts:',
      '- name: nodeheal-local',
      '  context:',
      '    cluster: nodeheal-local',
      `    user: ${who}`,
      'current-context: nodeheal-local',
      '',
    ].join('\n'),
  );
}
