/**
 * The shape of patch.so, judged as native/runtime/elf_check.c judges it
 * before the runtime maps the object: an x86-64 ELF shared object whose
 * program and section header tables and loadable segments all lie inside
 * the file. A truncated object would be mapped past its end and kill the
 * process with SIGBUS at the first touch. Returns the reason, or undefined.
 */
export function elfShapeProblem(b: Buffer): string | undefined {
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46) return `patch.so is not an ELF file (${b.length} bytes)`;
  if (b[4] !== 2 || b[5] !== 1 || b.readUInt16LE(18) !== 62) return "patch.so is not a 64-bit x86-64 ELF object";
  const type = b.readUInt16LE(16);
  if (type !== 3) return `patch.so is not a shared object (ELF type ${type})`;
  const inside = (off: bigint, size: bigint) => off <= BigInt(b.length) && size <= BigInt(b.length) - off;
  const phoff = b.readBigUInt64LE(32), shoff = b.readBigUInt64LE(40);
  const phentsize = b.readUInt16LE(54), phnum = b.readUInt16LE(56), shentsize = b.readUInt16LE(58), shnum = b.readUInt16LE(60);
  if (phentsize !== 56 || phnum === 0 || !inside(phoff, BigInt(phnum) * 56n)) return `patch.so is truncated: its program headers end past its ${b.length} bytes`;
  if (shoff !== 0n && (shentsize !== 64 || !inside(shoff, BigInt(shnum) * 64n))) return `patch.so is truncated: its section headers end past its ${b.length} bytes`;
  for (let i = 0; i < phnum; i++) {
    const at = Number(phoff) + i * 56;
    const ptype = b.readUInt32LE(at);
    if (ptype !== 1 && ptype !== 2) continue; // PT_LOAD, PT_DYNAMIC
    const offset = b.readBigUInt64LE(at + 8), filesz = b.readBigUInt64LE(at + 32), memsz = b.readBigUInt64LE(at + 40);
    if (ptype === 1 && filesz > memsz) return `patch.so: segment ${i} has more bytes in the file than in memory`;
    if (!inside(offset, filesz)) return `patch.so is truncated: segment ${i} ends at byte ${offset + filesz}, the file has ${b.length}`;
  }
  return undefined;
}
