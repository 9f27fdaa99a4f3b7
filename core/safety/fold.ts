/**
 * The one text form the safety lexicons are matched in, built so that the usual evasions fold to
 * the word they hide:
 *
 * - full-width and compatibility forms to their plain form (NFKC: "ＧＡＭＢＬＥ" → "gamble");
 * - case (lower case);
 * - look-alike letters of other scripts (Cyrillic "саsinо", Greek "ο") to their Latin twin;
 * - leetspeak inside a word ("g4mbl3", "c@sino", "k1ll": 0→o, 1/l/!/| → i, 3→e, 4/@→a, 5/$→s,
 *   7→t, 8→b, 9→g; "l" and "1" fold to the same letter as "i", in the lexicon too, so either
 *   spelling matches);
 * - spaces and punctuation between characters ("赌 博", "g.a.m.b.l.e", "d-u-b-o"): only letters,
 *   digits and Han characters are kept.
 *
 * Words stay apart by boundaries: `starts[i]` / `ends[i]` say whether folded character i began /
 * ended a run of letters and digits in the original (each Han character is a run of its own). A
 * Latin lexicon word only counts when it starts and ends on boundaries, so "kill" is found in
 * "k i l l" and "kill!" but not in "skill", and "ass" not in "class".
 */
export interface Folded {
  text: string;
  starts: boolean[];
  ends: boolean[];
  /** Index in the original text of each folded character. */
  origin: number[];
}

/** Cyrillic and Greek letters that look like Latin ones, to their Latin twin. */
export const LOOK_ALIKE_FOLD: Record<string, string> = {
  // Cyrillic
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  і: 'i',
  ї: 'i',
  ј: 'j',
  ѕ: 's',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  // Greek
  α: 'a',
  β: 'b',
  ε: 'e',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
};

/** Leetspeak, applied only next to letters: a price "100" stays digits. */
const LEET: Record<string, string> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '8': 'b',
  '9': 'g',
  '@': 'a',
  $: 's',
  '!': 'i',
  '|': 'i',
};

/** Letters folded to one class everywhere (lexicon and text), since "1" may stand for either. */
const CLASSES: Record<string, string> = { l: 'i' };

const HAN = /\p{Script=Han}/u;
const LETTER = /\p{L}/u;
const WORD = /[\p{L}\p{N}]/u;

/** One character's folded form, or '' when it is a separator. */
function foldChar(ch: string): string {
  const lower = ch.normalize('NFKC').toLowerCase();
  let out = '';
  for (const c of lower) {
    const mapped = LOOK_ALIKE_FOLD[c] ?? c;
    const plain = mapped.normalize('NFD').replace(/\p{M}/gu, '');
    if (WORD.test(plain) || plain in LEET) out += CLASSES[plain] ?? plain;
  }
  return out;
}

export function fold(input: string): Folded {
  const chars = Array.from(input);
  const offsets: number[] = [];
  let at = 0;
  for (const ch of chars) {
    offsets.push(at);
    at += ch.length;
  }
  const forms = chars.map(foldChar);
  const isLetter = forms.map((f) => f !== '' && LETTER.test(f) && !HAN.test(f));
  // A leet symbol or digit counts as a letter only inside a word that has letters next to it.
  const resolved = forms.map((form, i) => {
    if (!form || !(form in LEET)) return form;
    const nearLetter = isLetter[i - 1] || isLetter[i + 1];
    if (!nearLetter) return /\d/.test(form) ? form : '';
    return CLASSES[LEET[form] as string] ?? (LEET[form] as string);
  });
  const text: string[] = [];
  const starts: boolean[] = [];
  const ends: boolean[] = [];
  const origin: number[] = [];
  let previousWasWord = false;
  resolved.forEach((form, i) => {
    if (!form) {
      if (previousWasWord) ends[ends.length - 1] = true;
      previousWasWord = false;
      return;
    }
    const han = HAN.test(form);
    for (const [j, c] of Array.from(form).entries()) {
      const startsRun = han || (!previousWasWord && j === 0);
      if (startsRun && ends.length) ends[ends.length - 1] = true;
      text.push(c);
      starts.push(startsRun);
      ends.push(han);
      origin.push(offsets[i] as number);
      previousWasWord = !han;
    }
  });
  if (ends.length) ends[ends.length - 1] = true;
  return { text: text.join(''), starts, ends, origin };
}

/** A lexicon word in the folded form (no boundaries needed: it is matched whole). */
export function foldWord(word: string): string {
  return fold(word).text;
}
