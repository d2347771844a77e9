/**
 * Generated, non-editable C around the transformers: the step the runtime
 * calls for one value (find the old data, make room for the new, call the
 * transformer), and the state transformers of globals whose type changed.
 */
import { enumConversion } from "./enum-map.js";
import { dataStruct, xformName } from "./transformers.js";

export interface StepLayout {
  key: string;
  spelling: string;
  from: number;
  to: number;
  oldOutOfLine: boolean;
  newOutOfLine: boolean;
}

export const stepSymbol = (key: string, from: number) => `__graft_step_${key}_${from}`;

export function stepFunction(s: StepLayout): string {
  const src = s.oldOutOfLine ? "p->__graft_u.__graft_ool" : "(void *)&p->__graft_u";
  return `
int ${stepSymbol(s.key, s.from)}(void *w);
int ${stepSymbol(s.key, s.from)}(void *w)
{
    ${s.spelling} *p = w;
    ${dataStruct(s.key, s.from)} old;
    void *src = ${src};
    if (src) __builtin_memcpy(&old, src, sizeof old); else __builtin_memset(&old, 0, sizeof old);
    ${dataStruct(s.key, s.to)} *nw;
${s.newOutOfLine
    ? `    nw = calloc(1, sizeof *nw);
    if (!nw) return -12; /* ENOMEM: the value stays at version ${s.from} */`
    : `    __builtin_memset(&p->__graft_u, 0, sizeof p->__graft_u);
    nw = (void *)&p->__graft_u;`}
    ${xformName(s.key, s.from, s.to)}(&old, nw);
${s.newOutOfLine ? `${s.oldOutOfLine ? "    free(src);\n" : ""}    p->__graft_u.__graft_ool = nw;\n` : s.oldOutOfLine ? "    free(src);\n" : ""}    return 0;
}
`;
}

export interface StateTransfer {
  name: string;
  oldSymbol: string;
  oldType: string;
  newSymbol: string;
  newType: string;
  /** Canonical keys (types.ts), when the version data has them: an enum renumbered is converted by name. */
  oldCanon?: string;
  newCanon?: string;
}

/** Declares `sym` with a clang type spelling ("int[16]", "unsigned long"); undefined for spellings we cannot rebuild. */
export function declareAs(type: string, sym: string): string | undefined {
  if (type.includes("(")) return undefined;
  const m = /^(.*?)\s*((?:\[\d*\])*)$/.exec(type)!;
  return `${m[1]} ${sym}${m[2]}`;
}

export const stateSymbol = (sym: string) => `__graft_state_${sym}`;

/** A read-only global (a const table, a string) takes its new initialiser: there is no state to carry over. */
export function isReadOnly(type: string): boolean {
  const t = type.replace(/\s*(\[\d*\])+$/, "");
  return t.includes("*") ? /\*\s*const\s*$/.test(t) : /\bconst\b/.test(t);
}

/** A state transformer: copies the old global into its new storage, converting. Returns undefined when no automatic conversion exists. */
export function stateTransformer(t: StateTransfer): string | undefined {
  const decl = declareAs(t.oldType, t.oldSymbol);
  if (!decl) return undefined;
  const oldArr = /\[(\d+)\]$/.exec(t.oldType), newArr = /\[(\d+)\]$/.exec(t.newType);
  // A pointer to another type would make the old pointee be read as the new one; qualifiers alone change nothing stored.
  const unqualified = (type: string) => type.replace(/\b(const|volatile|restrict)\b/g, "").replace(/\s+/g, "");
  if ((t.oldType + t.newType).includes("*") && unqualified(t.oldType) !== unqualified(t.newType)) return undefined;
  let body: string;
  if (oldArr && newArr) {
    body = `    for (unsigned long i = 0; i < ${oldArr[1]} && i < ${newArr[1]}; i++) ${t.newSymbol}[i] = ${t.oldSymbol}[i];`;
  } else if (!oldArr && !newArr && !/\b(struct|union)\b/.test(t.oldType + t.newType)) {
    const renumbered = enumConversion(t.oldCanon, t.newCanon, t.oldSymbol);
    body = renumbered ? `    ${t.newSymbol} = ${renumbered.expr}; /* renumbered: carried by name */` : `    ${t.newSymbol} = ${t.oldSymbol};`;
  } else {
    return undefined;
  }
  return `
extern ${decl};
int ${stateSymbol(t.newSymbol)}(void);
int ${stateSymbol(t.newSymbol)}(void)
{
    /* ${t.name}: ${t.oldType} -> ${t.newType} */
${body}
    return 0;
}
`;
}
