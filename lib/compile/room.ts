/** GRT_ROOM of native/runtime/include/graft_abi.h as a C expression (preprocessed units cannot use the macro). */
export function roomExpr(size: string, spare?: number): string {
  if (spare !== undefined) return `((${size} + ${spare}ul + 7ul) & ~7ul)`;
  return `((${size} + (${size} / 4u > 16u ? ${size} / 4u : 16u) + 7ul) & ~7ul)`;
}

/** GRT_ROOM of graft_abi.h, in TypeScript: the union's size for a data size. */
export function roomFor(dataSize: number, spare?: number): number {
  if (spare !== undefined) return (dataSize + spare + 7) & ~7;
  return (dataSize + Math.max(Math.floor(dataSize / 4), 16) + 7) & ~7;
}
