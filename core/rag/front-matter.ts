import { parse as parseYaml, YAMLParseError } from 'yaml';
import { HubError } from '../types/errors';
import { baseLanguage } from './language';

export interface FrontMatter {
  id?: string;
  title?: string;
  language?: string;
  tags: string[];
  tenant?: string;
  url?: string;
}

export interface ParsedFile {
  frontMatter: FrontMatter;
  body: string;
  /** 1-based line of the file on which `body` starts, for error messages. */
  bodyLine: number;
}

const FENCE = /^---\s*$/;

/** Split `---` YAML front matter from a Markdown file; a file without it gets empty front matter. */
export function splitFrontMatter(text: string, file: string): ParsedFile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (!FENCE.test(lines[0] ?? '')) return { frontMatter: { tags: [] }, body: lines.join('\n'), bodyLine: 1 };
  const close = lines.findIndex((line, i) => i > 0 && FENCE.test(line));
  if (close < 0) fail(file, 1, 'front matter opened with "---" is never closed; add a "---" line after it');
  const yamlLines = lines.slice(1, close);
  let data: unknown;
  try {
    data = parseYaml(yamlLines.join('\n'));
  } catch (cause) {
    // The YAML starts on line 2 of the file.
    const line = cause instanceof YAMLParseError ? (cause.linePos?.[0].line ?? 1) + 1 : 2;
    fail(file, line, `front matter is not valid YAML: ${(cause as Error).message.split('\n')[0]}`, cause);
  }
  return {
    frontMatter: validate(data ?? {}, file, yamlLines),
    body: lines.slice(close + 1).join('\n'),
    bodyLine: close + 2,
  };
}

function validate(data: unknown, file: string, yamlLines: string[]): FrontMatter {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    fail(file, 2, 'front matter must be a YAML mapping such as "title: Shipping"');
  }
  const record = data as Record<string, unknown>;
  const lineOf = (key: string) =>
    2 +
    Math.max(
      0,
      yamlLines.findIndex((l) => l.startsWith(`${key}:`)),
    );
  const text = (key: string): string | undefined => {
    const value = record[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' && typeof value !== 'number')
      fail(file, lineOf(key), `"${key}" must be text`);
    return String(value).trim() || undefined;
  };
  const language = text('language');
  if (language !== undefined && !/^[a-z]{2}([-_][a-z0-9]+)*$/i.test(language)) {
    fail(
      file,
      lineOf('language'),
      `"language" must be an ISO 639-1 code such as zh or en, not "${language}"`,
    );
  }
  const id = text('id');
  if (id !== undefined && !/^[\p{L}\p{N}][\p{L}\p{N}._/-]*$/u.test(id)) {
    fail(file, lineOf('id'), `"id" may hold letters, digits, ".", "_", "/" and "-" only, not "${id}"`);
  }
  return {
    id,
    title: text('title'),
    language: language === undefined ? undefined : baseLanguage(language),
    tags: tags(record.tags, file, lineOf('tags')),
    tenant: text('tenant'),
    url: text('url'),
  };
}

function tags(value: unknown, file: string, line: number): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string')
    return value
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
  if (Array.isArray(value) && value.every((t) => typeof t === 'string')) return value.map((t) => t.trim());
  fail(file, line, '"tags" must be a list such as [shipping, delivery]');
}

function fail(file: string, line: number, message: string, cause?: unknown): never {
  throw new HubError('knowledge.front_matter', `${file}:${line}: ${message}`, { cause });
}
