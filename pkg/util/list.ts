/**
 * The entries of a list given on one line by commas or one a line (a file), `#` starting
 * a comment, as the token and key lists are written.
 */
export function listEntries(text: string): string[] {
  return text
    .split('\n')
    .flatMap((line) => line.replace(/(^|\s)#.*$/, '').split(','))
    .map((e) => e.trim())
    .filter(Boolean);
}
