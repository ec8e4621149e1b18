// Plain-text views of heal records for `nodeheal status`: a table of heals, and one node's heals
// with their transitions. Pure: records and `now` in, text out.
import type { HealRecord } from '../heal/index.ts';
import type { PauseState } from '../store/index.ts';
import { stepViews, viewStatus } from './heal-views.ts';
import { relativeTime, shortIso } from './time-format.ts';

/**
 * Makes a stored string safe to print on a terminal: control characters (escape sequences,
 * newlines, tabs) become `?`, so a record cannot move the cursor or forge lines.
 */
export function terminalSafe(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const all = [header, ...rows].map((row) => row.map(terminalSafe));
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function stepText(record: HealRecord): string {
  const action = record.ladder[record.stepIndex]?.action ?? '?';
  const position = `${record.stepIndex + 1}/${record.ladder.length}`;
  if (record.status !== 'running') return `${action} (${position})`;
  return record.gate === null
    ? `${action} (${position}, ${record.stepState})`
    : `${action} (${position}, held by gate ${record.gate})`;
}

function updatedText(record: HealRecord, now: Date): string {
  return `${shortIso(record.updatedAt)} (${relativeTime(record.updatedAt, now)})`;
}

export function pauseLine(paused: PauseState | null | undefined): string | undefined {
  if (!paused) return undefined;
  const reason = paused.reason ? `: ${paused.reason}` : '';
  return terminalSafe(`healing is PAUSED by ${paused.by} since ${shortIso(paused.at)}${reason}`);
}

/** `nodeheal status`: one line per heal, newest first. */
export function renderHealsText(
  records: readonly HealRecord[],
  paused: PauseState | null | undefined,
  now: Date,
): string {
  const lines: string[] = [];
  const pause = pauseLine(paused);
  if (pause) lines.push(pause, '');
  if (records.length === 0) {
    lines.push('no heals recorded');
  } else {
    lines.push(
      formatTable(
        ['ID', 'NODE', 'FAULT', 'STATUS', 'STEP', 'UPDATED'],
        records.map((r) => [
          r.id,
          r.node,
          r.fault,
          r.dryRun ? `${viewStatus(r)} (dry run)` : viewStatus(r),
          stepText(r),
          updatedText(r, now),
        ]),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** `nodeheal status NODE`: each heal of the node with its ladder and transitions. */
export function renderNodeText(
  node: string,
  records: readonly HealRecord[],
  paused: PauseState | null | undefined,
  now: Date,
): string {
  const lines: string[] = [];
  const pause = pauseLine(paused);
  if (pause) lines.push(pause, '');
  if (records.length === 0) {
    lines.push(terminalSafe(`no heals recorded for node ${node}`));
    return `${lines.join('\n')}\n`;
  }
  const running = records.filter((r) => r.status === 'running').length;
  lines.push(
    terminalSafe(
      `node ${node}: ${records.length} heal${records.length === 1 ? '' : 's'}, ${running} running`,
    ),
  );
  for (const record of records) {
    lines.push('');
    lines.push(
      terminalSafe(
        `${record.id}  ${record.fault}  ${viewStatus(record)}${record.dryRun ? ' (dry run)' : ''}  ` +
          `step ${stepText(record)}  updated ${updatedText(record, now)}`,
      ),
    );
    lines.push(
      terminalSafe(
        `  ladder: ${stepViews(record)
          .map((s) => `${s.action} [${s.state}${s.result ? `, ${s.result}` : ''}]`)
          .join(' → ')}`,
      ),
    );
    if (record.joined.length > 0)
      lines.push(
        terminalSafe(
          `  also due (recorded on this heal): ${record.joined.map((j) => `${j.fault} (${j.alertname})`).join(', ')}`,
        ),
      );
    if (record.outcomeReason) lines.push(terminalSafe(`  outcome: ${record.outcomeReason}`));
    if (record.status !== 'running' && record.gate !== null)
      lines.push(terminalSafe(`  safety gate: ${record.gate}`));
    if (record.transitions.length === 0) {
      lines.push('  (no transitions yet)');
    } else {
      const table = formatTable(
        ['TIME', 'TRANSITION', 'STEP', 'STATE', 'DETAIL'],
        record.transitions.map((t) => [
          shortIso(t.at),
          t.kind,
          `${t.step + 1}. ${t.action}`,
          `${t.from} → ${t.to}`,
          t.detail,
        ]),
      );
      lines.push(...table.split('\n').map((line) => `  ${line}`));
    }
  }
  return `${lines.join('\n')}\n`;
}
