/** How far one weight tensor has drifted from another: the engine and device comparisons' measure. */

/** ||a - b|| / ||a||: the drift of `b` from the reference `a`. */
export function relRms(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += a[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}
