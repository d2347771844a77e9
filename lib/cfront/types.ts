/**
 * Types by meaning, not by spelling. clang prints a type as written: through
 * typedefs (`count_t`), with anonymous members named by their place in the file
 * (`union (unnamed union at sysutil.c:82:3)`), `T x[0]` apart from `T x[]`. A
 * canonical key resolves typedefs, names anonymous records and enums by their
 * structure (an enum by its constants' values too), and spells zero-length
 * trailing arrays as flexible ones, so that two spellings of one layout get one
 * key and a typedef or enum that changes changes every key that uses it.
 *
 * Named structs and unions stay by name (`struct conn`): whether one changed
 * is that type's own comparison, and a pointer to it does not change when it
 * does. A typedef of an anonymous struct is the program's name for it, so it
 * stays too.
 */
import type { AstNode } from "./clang-ast.js";
import { beginOf } from "./clang-ast.js";
import type { LineMap } from "./line-map.js";

export interface CanonOptions {
  /** Field names of anonymous records are part of the key (false: layout only, as two files that rename fields by macro see it). */
  names: boolean;
}

interface EnumInfo { constants: { name: string; value: bigint }[] }

const ANON = /\((?:unnamed|anonymous)(?: (struct|union|enum))? at ([^)]*)\)/g;
const KEYWORDS = new Set(["const", "volatile", "restrict", "__restrict", "signed", "unsigned", "short", "long", "int", "char", "float", "double", "void", "_Bool", "__int128", "_Complex"]);
const QUALIFIER = /\b(const|volatile|restrict|__restrict)\b/g;

export class TypeCanon {
  private readonly typedefs = new Map<string, string>();
  /** Typedefs naming an anonymous record: the program calls the record by this name. */
  private readonly recordTypedefs = new Set<string>();
  private readonly enums = new Map<string, EnumInfo>();
  private readonly anonByPlace = new Map<string, AstNode>();
  /** Value of each enumerator, by declaration id. */
  readonly enumValues = new Map<string, bigint>();
  private readonly memo = new Map<string, string>();

  constructor(root: AstNode, private readonly lines: LineMap, private readonly text: Buffer) {
    const anonEnums = new Map<string, EnumInfo>();
    const visit = (n: AstNode) => {
      if (n.kind === "TypedefDecl" && n.name && n.type?.qualType) {
        this.typedefs.set(n.name, n.type.qualType);
        const owned = n.inner?.[0]?.ownedTagDecl;
        if (owned && !owned.name && owned.kind === "RecordDecl") this.recordTypedefs.add(n.name);
        // clang spells a typedef'd anonymous enum `enum NAME`: it is known by the typedef's name.
        if (owned && !owned.name && owned.kind === "EnumDecl" && anonEnums.has(owned.id)) this.enums.set(n.name, anonEnums.get(owned.id)!);
      }
      if ((n.kind === "RecordDecl" || n.kind === "EnumDecl") && !n.name) this.anonByPlace.set(this.placeOf(n), n);
      if (n.kind === "EnumDecl") {
        const info = this.readEnum(n);
        if (n.name) this.enums.set(n.name, info);
        else anonEnums.set(n.id, info);
      }
      for (const c of n.inner ?? []) if (c && c.kind) visit(c);
    };
    visit(root);
  }

  /** The canonical key of a type as clang spells it. */
  canonical(spelling: string, opts: CanonOptions = { names: true }): string {
    const memoKey = `${opts.names ? 1 : 0}\0${spelling}`;
    const hit = this.memo.get(memoKey);
    if (hit !== undefined) return hit;
    this.memo.set(memoKey, spelling); // a self-referencing anonymous record ends here
    const out = this.expand(spelling, opts, 0);
    this.memo.set(memoKey, out);
    return out;
  }

  /**
   * The key of a function's type: parameters' top-level qualifiers dropped, as
   * C11 6.7.6.3p15 says they are no part of it. clang spells a definition's
   * type with an earlier prototype's parameter types (memcached's header says
   * `const unsigned int delta`, the definition `unsigned int delta`), so the
   * parameter list is found in the spelling by meaning, not by text.
   */
  signature(fnType: string, params: string[], variadic: boolean): string {
    const canonParams = params.map((p) => dropTopQualifiers(this.canonical(p)));
    const want = [...canonParams, ...(variadic ? ["..."] : [])];
    for (const [a, b] of parenGroups(fnType).reverse()) {
      const parts = splitTopLevel(fnType.slice(a + 1, b));
      const items = parts.length === 1 && parts[0].trim() === "void" && !params.length && !variadic ? [] : parts;
      if (items.length !== want.length) continue;
      if (!items.every((t, i) => (want[i] === "..." ? t.trim() === "..." : dropTopQualifiers(this.canonical(t.trim())) === want[i]))) continue;
      const ret = this.canonical(fnType.slice(0, a) + "(#)" + fnType.slice(b + 1));
      return ret.replace("(#)", `(${want.join(",") || "void"})`);
    }
    return this.canonical(fnType);
  }

  /** `name=key` of each typedef and `enum E{...}` that a type spelling reaches by name: what a function's meaning depends on beyond its text. */
  dependencies(spelling: string): string[] {
    const out: string[] = [];
    for (const m of spelling.matchAll(/\b(enum\s+)?([A-Za-z_]\w*)\b/g)) {
      if (m[1] && this.enums.has(m[2])) out.push(`enum ${m[2]}=${this.canonical(`enum ${m[2]}`)}`);
      else if (!m[1] && this.typedefs.has(m[2])) out.push(`${m[2]}=${this.canonical(m[2])}`);
    }
    return out;
  }

  /** The layout key of a record definition: its fields' canonical types, widths and attributes. */
  recordKey(r: AstNode, opts: CanonOptions): string {
    const parts: string[] = [];
    for (const f of r.inner ?? []) {
      if (f.kind === "FieldDecl") {
        const width = f.isBitfield ? `:${constantOf(f.inner?.[0]) ?? "?"}` : "";
        parts.push(`${this.canonical(f.type?.qualType ?? "", opts)}${opts.names && f.name ? ` ${f.name}` : ""}${width}`);
      } else if (/Attr$/.test(f.kind)) {
        parts.push(`@${f.kind}${this.attrText(f)}`);
      }
    }
    return `${r.tagUsed === "union" ? "union" : "struct"}{${parts.join(";")}}`;
  }

  private expand(spelling: string, opts: CanonOptions, depth: number): string {
    if (depth > 16) return spelling;
    // Substitutions go through placeholders, so that no pass reads another's output as C (a field named like a typedef).
    const held: string[] = [];
    const hold = (t: string) => `\uE000${held.push(t) - 1}\uE000`;
    let s = spelling.replace(ANON, (whole, tag: string | undefined, place: string) => {
      const node = this.anonByPlace.get(place.trim());
      if (!node) return hold(whole);
      if (node.kind === "EnumDecl" || tag === "enum") return hold(this.enumKey(node));
      return hold(`‹${this.recordKey(node, opts)}›`);
    });
    // clang's desugared form `union ctr::<anon>`: the tag and scope before a structural key say nothing more.
    s = s.replace(/\b(?:struct|union|enum)\s+(?:\w+::)?(?=\uE000)/g, "");
    s = s.replace(/\b(?:(struct|union|enum)\s+)?([A-Za-z_]\w*)\b/g, (whole, tag: string | undefined, name: string) => {
      if (tag === "enum") return this.enums.has(name) ? hold(`enum ${name}${this.enumBody(this.enums.get(name)!)}`) : whole;
      if (tag) return whole;
      if (KEYWORDS.has(name)) return whole;
      if (this.recordTypedefs.has(name)) return hold(`struct ${name}`);
      const under = this.typedefs.get(name);
      if (under === undefined) return whole;
      const c = this.expand(under, opts, depth + 1);
      // A simple type reads the same written out; a declarator (pointer, array, function) is kept whole.
      return hold(/[([]/.test(c) ? `‹${c}›` : c);
    });
    s = s.replace(/\uE000(\d+)\uE000/g, (_, i: string) => held[Number(i)]);
    // Zero-length trailing arrays are flexible array members (GNU C's spelling of C99's `T x[]`).
    s = s.replace(/\[0\]$/, "[]");
    return s.replace(/\s+/g, " ").replace(/\s*([*,()[\]])\s*/g, "$1").trim();
  }

  private enumKey(n: AstNode): string {
    return `enum${this.enumBody(this.readEnum(n))}`;
  }

  private enumBody(e: EnumInfo): string {
    return `{${e.constants.map((c) => `${c.name}=${c.value}`).join(",")}}`;
  }

  private readEnum(n: AstNode): EnumInfo {
    const constants: { name: string; value: bigint }[] = [];
    let next = 0n;
    for (const c of n.inner ?? []) {
      if (c.kind !== "EnumConstantDecl") continue;
      const v = constantOf(c.inner?.[0]);
      const value = v !== undefined ? v : next;
      constants.push({ name: c.name ?? "", value });
      this.enumValues.set(c.id, value);
      next = value + 1n;
    }
    return { constants };
  }

  /** `file:line:col` as clang prints a place: presumed file and line, byte column. */
  private placeOf(n: AstNode): string {
    const at = n.loc?.offset ?? n.loc?.spellingLoc?.offset ?? n.loc?.expansionLoc?.offset ?? beginOf(n) ?? 0;
    const p = this.lines.position(at);
    const lineStart = this.text.lastIndexOf(10, at - 1) + 1;
    return `${p.file}:${p.line}:${at - lineStart + 1}`;
  }

  private attrText(a: AstNode): string {
    const b = beginOf(a);
    const e = a.range?.end?.offset;
    return b !== undefined && e !== undefined ? `(${this.text.subarray(b, e + 1).toString("utf8").replace(/\s+/g, "")})` : "";
  }
}

/** The value of a constant expression clang folded (`ConstantExpr.value`), if any. */
function constantOf(n: AstNode | undefined): bigint | undefined {
  const v = (n as { value?: string } | undefined)?.value;
  if (v === undefined) return undefined;
  try { return BigInt(v); } catch { return undefined; }
}

/** `const int` -> `int`, `char *const` -> `char *`: qualifiers of the parameter object itself. */
/** [open, close] offsets of every balanced parenthesis group, in order of their opening. */
function parenGroups(s: string): [number, number][] {
  const out: [number, number][] = [];
  const open: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "(") open.push(i);
    else if (s[i] === ")" && open.length) out.push([open.pop()!, i]);
  }
  return out.sort((x, y) => x[0] - y[0]);
}

/** Splits at commas outside parentheses and brackets. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0, from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "(" || c === "[" || c === "‹") depth++;
    else if (c === ")" || c === "]" || c === "›") depth--;
    else if (c === "," && depth === 0) { out.push(s.slice(from, i)); from = i + 1; }
  }
  out.push(s.slice(from));
  return out;
}

export function dropTopQualifiers(t: string): string {
  const trailing = /^(.*[*)\]›])\s*(?:(?:const|volatile|restrict|__restrict)\s*)+$/.exec(t);
  if (trailing) return trailing[1];
  if (/[*[(‹]/.test(t)) return t;
  return t.replace(QUALIFIER, "").replace(/\s+/g, " ").trim();
}
