/**
 * Argument parsers for commander: each turns a word into a value or throws
 * InvalidArgumentError with what was expected.
 */
import { InvalidArgumentError } from "commander";

export function parseNonNegativeInteger(word: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(word) || !Number.isSafeInteger(Number(word))) {
    throw new InvalidArgumentError(`expected a non-negative integer, got "${word}"`);
  }
  return Number(word);
}

export function parsePid(word: string): number {
  const n = /^[1-9][0-9]*$/.test(word) ? Number(word) : NaN;
  if (!Number.isSafeInteger(n) || n > 0x7fffffff) throw new InvalidArgumentError(`expected a process id, got "${word}"`);
  return n;
}

/** For repeatable options: --trust A --trust B. */
export function collect(word: string, previous: string[] = []): string[] {
  return [...previous, word];
}

/** Room is reserved in every value of the type: more than this is a typo, not a plan. */
export const MAX_ROOM_BYTES = 1 << 20;

/** --room TYPE=BYTES, repeatable; the last = splits, so a type name may hold one. */
export function collectRoom(word: string, previous: Record<string, number> = {}): Record<string, number> {
  const eq = word.lastIndexOf("=");
  const type = eq > 0 ? word.slice(0, eq) : "";
  const bytes = eq > 0 ? word.slice(eq + 1) : "";
  if (!type || !/^(0|[1-9][0-9]*)$/.test(bytes)) {
    throw new InvalidArgumentError(`expected TYPE=BYTES (e.g. "struct conn=64"), got "${word}"`);
  }
  if (Number(bytes) > MAX_ROOM_BYTES) {
    throw new InvalidArgumentError(`${bytes} bytes of room for ${type}: at most ${MAX_ROOM_BYTES} (1 MiB) per value`);
  }
  return { ...previous, [type]: Number(bytes) };
}
