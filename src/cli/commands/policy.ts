/**
 * `ccgpu policy <subcommand>`:
 *   eval    --policy FILE --requests FILE [--repeat N] [--fresh]   decisions as a JSON array; timings on stderr
 *   explain --policy FILE --requests FILE [--index N]              print lines and the failed rule of a denial
 *   generate [genpolicy flags]                                     policy for pod YAML (see policy-generate.ts)
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  evaluateRequests,
  explainDenial,
  parseRequestLog,
  summariseTimings,
  type LoggedRequest,
} from '../../../policy/index.js';

const USAGE = `usage: ccgpu policy <subcommand> [options]

subcommands:
  eval     --policy FILE --requests FILE [--repeat N] [--fresh]
           evaluate every request as the agent would; prints a JSON array of decisions
           (true/false or the error text) on stdout and per-request-type timing on stderr
  explain  --policy FILE --requests FILE [--index N]
           explain one denied request (default: the first denied one): print lines and the failed rule
  generate [options]
           generate agent policies for pod YAML (genpolicy-compatible; ccgpu policy generate --help)
`;

async function readInputs(values: {
  policy?: string;
  requests?: string;
}): Promise<{ policy: string; requests: LoggedRequest[] }> {
  if (!values.policy) throw new Error('--policy FILE is required');
  if (!values.requests) throw new Error('--requests FILE is required');
  const [policy, requestsText] = await Promise.all([
    readFile(values.policy, 'utf8'),
    readFile(values.requests, 'utf8'),
  ]);
  return { policy, requests: parseRequestLog(requestsText, values.requests) };
}

function nonNegativeInt(v: string | undefined, flag: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`${flag} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

async function runEval(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      policy: { type: 'string' },
      requests: { type: 'string' },
      repeat: { type: 'string' },
      fresh: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const { policy, requests } = await readInputs(values);
  const repeat = Math.max(1, nonNegativeInt(values.repeat, '--repeat', 1));
  const result = evaluateRequests(policy, requests, { fresh: !!values.fresh, repeat, moduleName: values.policy });
  process.stdout.write(JSON.stringify(result.decisions, null, 2) + '\n');
  for (const t of summariseTimings(result.timings)) {
    process.stderr.write(
      `${t.request.padEnd(40)} n=${String(t.count).padStart(6)}  p50=${t.p50.toFixed(3)} ms  p99=${t.p99.toFixed(3)} ms\n`,
    );
  }
  return 0;
}

async function runExplain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      policy: { type: 'string' },
      requests: { type: 'string' },
      index: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const { policy, requests } = await readInputs(values);
  const index = values.index === undefined ? undefined : nonNegativeInt(values.index, '--index', 0);
  const ex = explainDenial(policy, requests, index, { moduleName: values.policy });
  const out: string[] = [];
  out.push(`request: ${ex.request} (line ${ex.line})`);
  out.push(`decision: ${ex.allowed ? 'allowed' : 'denied'}; result: ${JSON.stringify(ex.result)}`);
  if (ex.failedRule)
    out.push(`failed in ${ex.failedRule.rule} at ${ex.failedRule.file}:${ex.failedRule.line}: ${ex.failedRule.text}`);
  if (ex.innermost)
    out.push(
      `innermost failure in ${ex.innermost.rule} at ${ex.innermost.file}:${ex.innermost.line}: ${ex.innermost.text}`,
    );
  out.push(`print output (${ex.prints.length} lines):`);
  for (const p of ex.prints) out.push(`  ${p}`);
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'eval':
        return await runEval(rest);
      case 'explain':
        return await runExplain(rest);
      case 'generate':
        return await (await import('./policy-generate.js')).runGenerate(rest);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(USAGE);
        return sub ? 0 : 2;
      default:
        process.stderr.write(`ccgpu policy: unknown subcommand ${JSON.stringify(sub)}\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    process.stderr.write(`ccgpu policy ${sub}: ${(e as Error).message}\n`);
    return 1;
  }
}
