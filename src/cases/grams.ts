/**
 * The 台账 search's index: the distinct character bigrams of a case's title, ledger number and
 * description, stored on the case as `grams` (a multikey field). Chinese has no spaces to split words
 * at, so a search for a phrase asks for the cases holding all of its bigrams (through the index), and
 * the phrase itself is then checked on those few candidates as before (queries.ts).
 *
 * Both sides are normalised alike, one character at a time: full-width ASCII forms become half-width,
 * letters lower case, and whitespace, punctuation, symbols and control characters split the text into
 * runs; no bigram spans a separator. A text that matches the search case-insensitively contains, after
 * this normalisation, every bigram of the search, so the candidates always include every match.
 */

/** At most this many bigrams are stored per case (about 16 KB), taken from the title, then the ledger number, then the description. */
export const MAX_GRAMS = 1000;
/**
 * Stored in place of the bigrams left out past MAX_GRAMS: a search always checks such a case's text
 * itself, so nothing is missed. One character, so never a bigram.
 */
export const TRUNCATED = "…";
/** A search uses at most this many of its bigrams in the index (any subset still finds every match). */
const MAX_QUERY_GRAMS = 12;

const SEPARATOR = /[\p{White_Space}\p{P}\p{S}\p{C}]/u;

/** A character as search compares it: full-width ASCII as half-width (the ideographic space as a space), lower case. */
function fold(ch: string): string {
  const code = ch.codePointAt(0)!;
  const half = code >= 0xff01 && code <= 0xff5e ? String.fromCodePoint(code - 0xfee0) : code === 0x3000 ? " " : ch;
  // Through upper case first, as case-insensitive matching folds (ſ and s, K and the Kelvin sign); the
  // few letters that change length that way (ß, İ) fold to lower case or stay, one character each side.
  for (const folded of [half.toUpperCase().toLowerCase(), half.toLowerCase()]) if ([...folded].length === 1) return folded;
  return half;
}

/** The distinct bigrams of a text, in order of first appearance, added to `into`. */
function addGrams(text: string, into: Set<string>): void {
  let prev: string | null = null;
  for (const raw of text) {
    const ch = fold(raw);
    if (SEPARATOR.test(ch)) {
      prev = null;
      continue;
    }
    if (prev !== null) into.add(prev + ch);
    prev = ch;
  }
}

/** The bigrams of a text, normalised, distinct, in order of first appearance. */
export function bigrams(text: string): string[] {
  const out = new Set<string>();
  addGrams(text, out);
  return [...out];
}

/** What a case stores in `grams`: at most MAX_GRAMS bigrams, and TRUNCATED when some were left out. */
export function gramsOf(c: { title?: string | null; ledgerNumber?: string | null; description?: string | null }): string[] {
  const all = new Set<string>();
  for (const text of [c.title, c.ledgerNumber, c.description]) if (text) addGrams(text, all);
  if (all.size <= MAX_GRAMS) return [...all];
  return [...[...all].slice(0, MAX_GRAMS), TRUNCATED];
}

/**
 * The bigrams a search asks the index for, or null when the search has none (one character, or only
 * one-character runs such as “a b”): such a search is the plain regex over the texts.
 */
export function searchGrams(q: string): string[] | null {
  const grams = bigrams(q.trim());
  return grams.length ? grams.slice(0, MAX_QUERY_GRAMS) : null;
}
