// How `npm run import -- --wait` shows an import: one live line (a bar of outcomes so far and the
// rate) and a final summary. Pure formatting: no I/O here.
import type { ImportProgress } from '../../workflows/import.ts';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const fmt = (n: number) => n.toLocaleString('en-US');

/** Friends the import has finished with, whatever the outcome. */
export const handled = (p: ImportProgress) => p.created + p.updated + p.unchanged + p.skipped + p.failed;

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * A bar of `width` cells: the share of friends handled out of those listed so far, split by
 * outcome (█ created, ▓ updated, ▒ unchanged, ░ skipped, ✗ failed; · listed, not handled yet).
 * LINE does not say how many followers there are, so the bar fills per page as IDs are listed.
 */
export function outcomeBar(p: ImportProgress, width = 24): string {
  const total = Math.max(p.friendsSeen, handled(p));
  if (total === 0) return '·'.repeat(width);
  const parts: Array<[number, string]> = [
    [p.created, '█'],
    [p.updated, '▓'],
    [p.unchanged, '▒'],
    [p.skipped, '░'],
    [p.failed, '✗'],
  ];
  let bar = '';
  let used = 0;
  let cumulative = 0;
  for (const [n, ch] of parts) {
    cumulative += n;
    const upTo = Math.round((cumulative / total) * width);
    bar += ch.repeat(Math.max(0, upTo - used));
    used = Math.max(used, upTo);
  }
  bar += '·'.repeat(Math.max(0, width - used));
  // A failure is never rounded away: it takes a cell from the pending part (or the last one).
  if (p.failed > 0 && !bar.includes('✗')) {
    const cells = [...bar];
    cells[Math.min(used, width - 1)] = '✗';
    bar = cells.join('');
  }
  return bar;
}

/** One line: spinner, bar, counters, rate and elapsed time. */
export function progressLine(p: ImportProgress, now: number, tick = 0): string {
  const elapsed = now - Date.parse(p.startedAt);
  const rate = elapsed > 0 ? handled(p) / (elapsed / 1000) : 0;
  const spin = p.state === 'running' ? SPINNER[tick % SPINNER.length] : p.state === 'completed' ? '✓' : '✗';
  return (
    `${spin} [${outcomeBar(p)}] page ${p.page} · ${fmt(handled(p))}/${fmt(p.friendsSeen)} friends · ` +
    `${fmt(p.created)} created · ${fmt(p.updated)} updated · ${fmt(p.unchanged)} unchanged · ${fmt(p.skipped)} skipped · ${fmt(p.failed)} failed · ` +
    `${rate.toFixed(rate < 10 ? 1 : 0)}/s · ${duration(elapsed)}`
  );
}

/** The closing report. */
export function summary(p: ImportProgress & { workflowId?: string }, now: number): string {
  const end = p.finishedAt ? Date.parse(p.finishedAt) : now;
  const elapsed = end - Date.parse(p.startedAt);
  const lines = [
    `import ${p.importId} ${p.state}${p.message ? `: ${p.message}` : ''}`,
    `  pages          ${fmt(p.pages)}`,
    `  friends seen   ${fmt(p.friendsSeen)}`,
    `  created        ${fmt(p.created)}`,
    `  updated        ${fmt(p.updated)}`,
    `  unchanged      ${fmt(p.unchanged)}`,
    `  skipped        ${fmt(p.skipped)}  (no longer friends when their profile was read)`,
    `  failed         ${fmt(p.failed)}`,
    `  time           ${duration(elapsed)}${elapsed > 0 ? ` (${(handled(p) / (elapsed / 1000)).toFixed(1)} friends/s)` : ''}`,
  ];
  for (const f of p.failures.slice(0, 10)) lines.push(`  ✗ ${f.userId}: ${f.reason}`);
  if (p.failed > Math.min(10, p.failures.length)) lines.push(`  … ${fmt(p.failed - Math.min(10, p.failures.length))} more failures (see the workflow in the Temporal UI)`);
  return lines.join('\n');
}
