// Counts a body's elements and nesting before a parser builds it. Parsing a 3 MiB body of
// a million tiny elements costs hundreds of MB (YAML: over a GB and seconds of CPU) before
// checkInput could count them; these scans cost a pass over the text. They count what
// checkInput counts on the parsed value (an entry of an object or array): exactly for
// JSON; for YAML one too many per explicit `? key` or trailing flow comma, both rare. So
// a body they refuse is one checkInput would refuse too, with the same answer.
import { Lexer } from 'yaml';
import { MAX_DEPTH, MAX_ELEMENTS, tooDeep, tooManyElements } from './input.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const isOpen = (b: number): boolean => b === 0x5b || b === 0x7b; // [ {
const isClose = (b: number): boolean => b === 0x5d || b === 0x7d; // ] }
const isSpace = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/** JSON: entries are the commas plus one per container that is not empty. */
export function prescanJson(body: Buffer): void {
  let depth = 0;
  let elements = 0;
  let prev = 0; // the last byte that is neither white space nor inside a string
  for (let i = 0; i < body.length; i++) {
    const b = body[i]!;
    if (isSpace(b)) continue;
    if (isOpen(prev) && !isClose(b)) elements++;
    if (b === COMMA) elements++;
    else if (isOpen(b) && ++depth > MAX_DEPTH) throw tooDeep();
    else if (isClose(b)) depth--;
    else if (b === QUOTE) i = stringEnd(body, i);
    if (elements > MAX_ELEMENTS) throw tooManyElements();
    prev = b;
  }
}

/** The index of the quote that closes the string opened at `start` (or the end). */
function stringEnd(body: Buffer, start: number): number {
  for (let i = start + 1; i < body.length; i++) {
    if (body[i] === BACKSLASH) i++;
    else if (body[i] === QUOTE) return i;
  }
  return body.length;
}

/** Characters that can start an entry in YAML: with fewer of them than the cap, no lexing. */
const YAML_INDICATORS = new Set([...',[{-:?'].map((c) => c.charCodeAt(0)));
/** The lexer's mark before a plain or block scalar's text (which could be a lone indicator). */
const SCALAR = '\x1f';

/**
 * YAML: entries are block `-`, `?` and `:` indicators, flow commas, one per flow
 * collection that is not empty, and in a flow sequence `:` (a one-pair map), counted on
 * the lexer's tokens, which build no tree.
 */
export function prescanYaml(text: string): void {
  let candidates = 0;
  for (let i = 0; i < text.length; i++) if (YAML_INDICATORS.has(text.charCodeAt(i))) candidates++;
  if (candidates <= MAX_ELEMENTS) return;
  const flow: string[] = []; // the open flow collections, innermost last
  let elements = 0;
  let opened = false; // a flow collection has just opened: its first token is its first entry
  let skip = false;
  for (const tok of new Lexer().lex(text)) {
    if (skip || ' \t\r\n#'.includes(tok[0] ?? ' ')) {
      skip = false;
      continue;
    }
    if (opened && tok !== ']' && tok !== '}') elements++;
    opened = tok === '[' || tok === '{';
    if (opened) flow.push(tok);
    else if (tok === ']' || tok === '}') flow.pop();
    else if (startsEntry(tok, flow.at(-1))) elements++;
    skip = tok === SCALAR;
    if (flow.length > MAX_DEPTH) throw tooDeep();
    if (elements > MAX_ELEMENTS) throw tooManyElements();
  }
}

/** Whether a token (outside any scalar) adds an entry to the collection it is in. */
function startsEntry(tok: string, flow: string | undefined): boolean {
  if (tok === ',') return true;
  if (flow === undefined) return tok === '-' || tok === '?' || tok === ':';
  return tok === ':' && flow === '[';
}
