import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict';

/**
 * Chinese word segmentation with jieba (`@node-rs/jieba`, its dictionary ships inside the package:
 * nothing is downloaded). Search mode also yields the shorter words inside a long one
 * (增值税专用发票 → 增值 增值税 专用 发票 专用发票), so a customer's short word meets a long one in the
 * text. Loaded on first use (about 100 ms for the dictionary).
 */
let jieba: Jieba | undefined;

export function jiebaWords(text: string): string[] {
  jieba ??= Jieba.withDict(dict);
  return jieba.cutForSearch(text, true);
}
