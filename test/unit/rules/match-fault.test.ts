import { describe, expect, it } from 'vitest';
import {
  loadCatalog,
  matchFault,
  selectorMatches,
  type Catalog,
} from '../../../src/rules/index.ts';

const CATALOG = `
version: 1
faults:
  - name: kubelet-down
    description: kubelet down
    alerts:
      - alertname: NodeKubeletUnhealthy
      - alertname: NodeKubeletDown
    ladder: [{ action: restart-kubelet, timeout: 3m }]
  - name: kubelet-restart-loop
    description: restart loop
    alerts:
      - alertname: NodeKubeletUnhealthy
        matchers: { condition: FrequentKubeletRestart }
    ladder: [{ action: reboot, timeout: 10m }]
  - name: prod-kubelet-restart-loop
    description: restart loop on production nodes
    alerts:
      - alertname: NodeKubeletUnhealthy
        matchers: { condition: FrequentKubeletRestart, env: prod }
    ladder: [{ action: replace, timeout: 20m }]
  - name: no-zone
    description: matcher on an empty value
    alerts:
      - alertname: NodeZoneless
        matchers: { zone: "" }
    ladder: [{ action: cordon, timeout: 1m }]
`;

function catalog(): Catalog {
  const result = loadCatalog(CATALOG, 'inline.yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.catalog;
}

describe('matchFault', () => {
  it.each<[string, Record<string, string>, string]>([
    ['NodeKubeletDown', {}, 'kubelet-down'],
    ['NodeKubeletUnhealthy', {}, 'kubelet-down'],
    ['NodeKubeletUnhealthy', { condition: 'KubeletUnhealthy' }, 'kubelet-down'],
    ['NodeKubeletUnhealthy', { condition: 'FrequentKubeletRestart' }, 'kubelet-restart-loop'],
    [
      'NodeKubeletUnhealthy',
      { condition: 'FrequentKubeletRestart', env: 'dev' },
      'kubelet-restart-loop',
    ],
    [
      'NodeKubeletUnhealthy',
      { condition: 'FrequentKubeletRestart', env: 'prod' },
      'prod-kubelet-restart-loop',
    ],
    ['NodeKubeletUnhealthy', { condition: 'frequentkubeletrestart' }, 'kubelet-down'],
    ['nodekubeletdown', {}, 'unknown'],
    ['NodeOnFire', {}, 'unknown'],
    ['NodeZoneless', {}, 'no-zone'],
    ['NodeZoneless', { zone: '' }, 'no-zone'],
    ['NodeZoneless', { zone: 'eu-1a' }, 'unknown'],
  ])('%s %j → %s', (alertname, labels, expected) => {
    expect(matchFault(catalog(), { alertname, labels }).name).toBe(expected);
  });

  it('returns the catalog generic fault for unknown alerts', () => {
    const c = catalog();
    expect(matchFault(c, { alertname: 'Whatever', labels: {} })).toBe(c.generic);
  });

  it('does not match inherited properties as labels', () => {
    expect(
      selectorMatches(
        { alertname: 'A', matchers: { toString: 'x' } },
        { alertname: 'A', labels: {} },
      ),
    ).toBe(false);
  });
});
