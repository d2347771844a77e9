/** Symbol of a function's implementation in patch number `seq`: unique across patches, which share one namespace (RTLD_GLOBAL). */
export const implSymbol = (uname: string, seq: number) => `__graft_v${seq}_${uname}`;
