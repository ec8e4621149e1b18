// The "what it disrupts" part of a heal's page: the pods on the node as the heal found them
// before its first disruptive step, what happens to each, and the headroom of their PDBs.
import { costSummary, type HealCost, type PodCost } from '../heal/index.ts';
import { html, type SafeHtml } from './html.ts';

const KIND_TEXT: Record<PodCost['kind'], string> = {
  replicated: 'replicated',
  'single-replica': 'single replica: downtime',
  unmanaged: 'no controller: not recreated',
  other: 'other controller',
  daemonset: 'DaemonSet: left alone',
  mirror: 'mirror pod: left alone',
};

/** The heal's cost (heal-cost.ts), or a note that it was not worked out. */
export function costSection(cost: HealCost | null): SafeHtml {
  if (cost === null) {
    return html`<p class="muted">
      Not worked out (the ladder has no drain, replace or reboot, or the pods could not be read).
    </p>`;
  }
  const pods =
    cost.pods.length === 0
      ? html`<p class="muted">No pods on the node.</p>`
      : html`<div class="scroll">
          <table>
            <thead>
              <tr>
                <th>pod</th>
                <th>what happens</th>
                <th>workload</th>
                <th>replicas</th>
                <th>local data (lost)</th>
                <th>PDBs</th>
              </tr>
            </thead>
            <tbody>
              ${cost.pods.map(
                (p) =>
                  html`<tr>
                    <td class="mono">${p.pod}</td>
                    <td class="cost-${p.kind}">${KIND_TEXT[p.kind]}</td>
                    <td class="mono">${p.owner ?? ''}</td>
                    <td>${p.replicas === null ? '' : String(p.replicas)}</td>
                    <td>${p.localData.join(', ')}</td>
                    <td class="mono">${p.pdbs.join(', ')}</td>
                  </tr>`,
              )}
            </tbody>
          </table>
        </div>`;
  const pdbs =
    cost.pdbs.length === 0
      ? ''
      : html`<h3>PDB headroom</h3>
          <table>
            <thead>
              <tr>
                <th>PDB</th>
                <th>disruptions allowed</th>
                <th>its pods on the node</th>
              </tr>
            </thead>
            <tbody>
              ${cost.pdbs.map(
                (p) =>
                  html`<tr>
                    <td class="mono">${p.name}</td>
                    <td>${String(p.disruptionsAllowed)}</td>
                    <td>${String(p.pods)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`;
  return html`<p>${costSummary(cost)}</p>
    ${pods} ${pdbs}`;
}
