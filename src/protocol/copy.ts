/**
 * Copies bytes from another buffer (often the store's arena) into an output buffer: a loop for
 * a few bytes, else Buffer#copy (a memcpy with no view object); a plain Uint8Array source needs a
 * subarray view for set().
 */
export function copyInto(dst: Buffer, at: number, src: Uint8Array, off: number, n: number): void {
  if (n < 24) {
    for (let i = 0; i < n; i++) dst[at + i] = src[off + i]!;
  } else if (Buffer.isBuffer(src)) src.copy(dst, at, off, off + n);
  else dst.set(src.subarray(off, off + n), at);
}
