/**
 * Errors the CLI turns into one line on stderr. A UsageError (how the program was called) exits 2;
 * any other error exits 1. Library code throws these so callers can tell the two apart.
 */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure the user can act on (bad file, bad checkpoint, failed download): the message is the whole story. */
export class SrError extends Error {
  override name = 'SrError';
}

/** An error's message (or what it prints as), first line only: for one-line reasons and notes. */
export function firstLine(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message;
  const text = typeof message === 'string' ? message : String(err);
  return text.split('\n')[0].trim();
}
