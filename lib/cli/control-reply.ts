/**
 * Parsing the runtime's reply lines (docs/control-protocol.md) into values,
 * so commands decide exit codes from data, not from string prefixes.
 */
export type ControlReply =
  | { kind: "applied"; fields: Record<string, string> }
  | { kind: "refused"; code: string; reason: string }
  | { kind: "ok"; fields: Record<string, string> }
  | { kind: "unexpected"; line: string };

export function parseControlReply(line: string): ControlReply {
  const [word, ...rest] = line.split(" ");
  if (word === "refused" && rest.length >= 1 && rest[0] !== "") {
    return { kind: "refused", code: rest[0], reason: rest.slice(1).join(" ") };
  }
  if (word === "applied" || word === "ok") {
    const fields: Record<string, string> = {};
    for (const pair of rest) {
      const eq = pair.indexOf("=");
      if (eq <= 0) return { kind: "unexpected", line };
      fields[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    return { kind: word, fields };
  }
  return { kind: "unexpected", line };
}
