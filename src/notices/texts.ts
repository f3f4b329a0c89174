/**
 * The words of each notice level, in four parts: the shipped defaults and placeholders (texts/defaults.ts),
 * composing a text for one notice (texts/compose.ts), the texts as data the office admin edits
 * (texts/store.ts), and the admin's preview (texts/preview.ts). Importers use this one name.
 */
export { DEFAULT_TEXTS, PLACEHOLDERS, type NoticeText } from "./texts/defaults.ts";
export { chineseDate, compose, daysPhrase, placeholderValues, type ComposeContext, type Composed, type NoticeSubject } from "./texts/compose.ts";
export { checkText, loadTexts, rewordTexts, seedTexts, textSchema, updateText } from "./texts/store.ts";
export { preview, previewSubjects } from "./texts/preview.ts";
