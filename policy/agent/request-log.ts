/**
 * Request logs in the regorus-kata `inputs.txt` format: one `["ep":"<Request>",<input JSON>],` per line
 * (blank lines ignored). Also accepts the agent's `/tmp/policy.jsonl` lines `{"kind": "<Request>", "request": ...}`.
 */
export interface LoggedRequest {
  name: string;
  input: unknown;
  line: number;
}

const EP_LINE = /^\s*\[\s*"ep"\s*:\s*"([A-Za-z0-9_]+)"\s*,(.*)\]\s*,?\s*$/;

export function parseRequestLog(text: string, file = 'requests'): LoggedRequest[] {
  const out: LoggedRequest[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] as string).trim();
    if (!raw) continue;
    const m = EP_LINE.exec(raw);
    try {
      if (m) {
        out.push({ name: m[1] as string, input: JSON.parse(m[2] as string), line: i + 1 });
        continue;
      }
      const j = JSON.parse(raw) as { kind?: unknown; request?: unknown };
      if (typeof j.kind === 'string' && j.request !== undefined) {
        out.push({ name: j.kind, input: j.request, line: i + 1 });
        continue;
      }
    } catch (e) {
      throw new Error(`${file}:${i + 1}: invalid request JSON: ${(e as Error).message}`);
    }
    throw new Error(`${file}:${i + 1}: expected ["ep":"<Request>",<input JSON>], or {"kind": ..., "request": ...}`);
  }
  return out;
}
