/**
 * Reading one TOML configuration file: a clear ConfigError for a missing file or malformed TOML, naming the file,
 * the line and the column.
 */
import { readFileSync } from 'node:fs';
import { parse, TomlError, type TomlTable } from 'smol-toml';
import { ConfigError, errorMessage } from '../errors/index.js';

/** Parses TOML text; `file` is only used in the error message. */
export function parseTomlText(text: string, file: string): TomlTable {
  try {
    return parse(text);
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split('\n')[0] ?? e.message;
      throw new ConfigError(`${file}:${e.line}:${e.column}: malformed TOML: ${first}`, { file }, e);
    }
    throw new ConfigError(`${file}: malformed TOML: ${errorMessage(e)}`, { file }, e);
  }
}

export function readTomlFile(file: string): TomlTable {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : errorMessage(e);
    throw new ConfigError(`cannot read configuration file ${file}: ${why}`, { file }, e);
  }
  return parseTomlText(text, file);
}
