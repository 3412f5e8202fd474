/** Human and JSON renderings of a host check report. */
import type { HostCheckReport } from './run-checks.js';
import type { CheckStatus } from './types.js';

const LABEL: Record<CheckStatus, string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

/** One line per check (`ok   kvm: /dev/kvm opens ...`, `FAIL snp: ... fix: ...`), a header and a tally per flavour. */
export function formatHostCheckReport(report: HostCheckReport): string {
  const blocks = report.flavours.map((f) => {
    const head = `${f.flavour} (${f.config ?? 'no configuration'}; flavour from ${f.flavourSource})`;
    const lines = f.results.map(
      (r) =>
        `${LABEL[r.status].padEnd(5)}${r.check}: ${r.detail}${r.fix && (r.status === 'fail' || r.status === 'warn') ? ` fix: ${r.fix}` : ''}`,
    );
    const count = (s: CheckStatus): number => f.results.filter((r) => r.status === s).length;
    const tally = `${f.flavour}: ${f.ok ? 'ready' : 'NOT READY'} (${count('ok')} ok, ${count('warn')} warn, ${count('fail')} fail, ${count('skip')} skip)`;
    return [head, ...lines, tally].join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}

/** The report as stable JSON (`{root, ok, flavours: [{flavour, flavourSource, needs, config, ok, results}]}`). */
export function hostCheckReportJson(report: HostCheckReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
