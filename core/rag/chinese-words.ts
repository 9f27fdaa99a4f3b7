import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Jieba } from '@node-rs/jieba';

/**
 * Chinese word segmentation with jieba (`@node-rs/jieba`, its dictionary ships inside the package:
 * nothing is downloaded). Search mode also yields the shorter words inside a long one
 * (增值税专用发票 → 增值 增值税 专用 发票 专用发票), so a customer's short word meets a long one in the
 * text. Loaded on first use (about 100 ms for the dictionary).
 *
 * The dictionary is read here and let go once jieba has built its own tables from it: the
 * package's `@node-rs/jieba/dict` module would keep dict.txt and idf.txt (11 MB, idf unused here)
 * in memory for the life of the process.
 */
let jieba: Jieba | undefined;

export function jiebaWords(text: string): string[] {
  jieba ??= Jieba.withDict(readFileSync(createRequire(import.meta.url).resolve('@node-rs/jieba/dict.txt')));
  return jieba.cutForSearch(text, true);
}
